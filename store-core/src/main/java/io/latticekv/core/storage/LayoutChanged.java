package io.latticekv.core.storage;

/**
 * Thrown by a {@link LargeSet} whose key is no longer stored one row per element (it shrank, took
 * another life, went): the caller reads the key whole instead.
 */
public final class LayoutChanged extends RuntimeException {
  private static final long serialVersionUID = 1L;

  LayoutChanged() {
    super("the set is no longer stored one row per element", null, false, false);
  }
}
