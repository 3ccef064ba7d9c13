package io.latticekv.core.storage;

/** A key longer than the store's key limit, or empty. */
public final class KeyTooLargeException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public KeyTooLargeException(String message) {
    super(message);
  }
}
