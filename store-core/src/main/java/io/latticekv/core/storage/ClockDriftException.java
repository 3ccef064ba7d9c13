package io.latticekv.core.storage;

/**
 * A state carrying a timestamp further ahead of this node's clock than the allowed drift: a clock
 * far off, or a forgery. Accepting it would let one register beat every later write to its key.
 */
public final class ClockDriftException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public ClockDriftException(String message) {
    super(message);
  }
}
