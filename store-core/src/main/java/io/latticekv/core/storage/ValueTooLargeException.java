package io.latticekv.core.storage;

/** A write whose resulting state would exceed the store's limit on the size of one value. */
public final class ValueTooLargeException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public ValueTooLargeException(String message) {
    super(message);
  }
}
