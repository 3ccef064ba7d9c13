package io.latticekv.core.crdt;

/**
 * A PN-counter operation whose result leaves the signed 64-bit range. Counters never wrap: the
 * update is refused, or the value cannot be read, and the caller is told.
 */
public final class CounterOverflowException extends ArithmeticException {

  private static final long serialVersionUID = 1L;

  public CounterOverflowException(String message) {
    super(message);
  }
}
