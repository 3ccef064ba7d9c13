package io.latticekv.core.replication;

/** Not enough replicas answered for the requested level; the message says how many did, and why not the rest. */
public final class LevelNotMetException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LevelNotMetException(String message) {
    super(message);
  }
}
