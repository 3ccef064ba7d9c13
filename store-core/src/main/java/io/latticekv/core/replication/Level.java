package io.latticekv.core.replication;

/** How many replicas take part in a request before the coordinator answers. */
public enum Level {
  /** The coordinator alone. */
  ONE,
  /** A majority of the replicas: {@code n / 2 + 1} of n. */
  QUORUM,
  /** Every replica. */
  ALL;

  /** Replicas beyond the coordinator this level needs, of {@code n} in all. */
  public int othersNeeded(int n) {
    return switch (this) {
      case ONE -> 0;
      case QUORUM -> n / 2;
      case ALL -> n - 1;
    };
  }

  /** {@code w=quorum}, {@code r=all}: how a person writes it. */
  public String describe(String op) {
    return op + "=" + (this == ONE ? "1" : name().toLowerCase());
  }
}
