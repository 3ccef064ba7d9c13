package io.latticekv.core.membership;

/** A member's state as SWIM sees it (Das, Gupta and Motivala, 2002). */
public enum MemberStatus {
  /** Answering probes. */
  ALIVE,
  /** Missed a probe, direct and indirect; may still refute by raising its incarnation. */
  SUSPECT,
  /** Suspected for longer than the suspicion timeout without refuting. */
  DEAD,
  /** Announced a graceful leave. */
  LEFT,
  /**
   * Removed for good ({@code lattice remove-member}, {@code lattice decommission}): no longer a
   * replica nor a party to the cluster epoch, and never back under this id. Final: no update
   * overrides it, and no node forgets it.
   */
  REMOVED;

  /** Whether rumors and probes go to a member in this state. */
  public boolean reachable() {
    return this == ALIVE || this == SUSPECT;
  }
}
