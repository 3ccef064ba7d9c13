package io.latticekv.core.clock;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks and Consistent Snapshots in
 * Globally Distributed Databases", 2014). Timestamps stay close to physical time, are unique per
 * clock, and never go backwards: not when the physical clock steps back, and not across restarts,
 * provided the owner persists {@link #highWaterMark()} and passes it back to the constructor.
 *
 * <p>It does not take in timestamps seen from other nodes: a timestamp from outside, if it were
 * accepted, would drag every later timestamp of this node as far ahead as it is (a register from
 * a forged or skewed peer 55 s ahead made all keys' writes 55 s ahead). What LWW needs — that a
 * new write to a key beats the write it replaces — is done per key by the register assignment
 * ({@link io.latticekv.core.crdt.CrdtUpdate.RegisterAssign}).
 *
 * <p>Packed as in {@link HlcTimestamp}, the algorithm is one line: the next timestamp is {@code
 * max(physical << 16, last + 1)}. When the logical half overflows it carries into the physical
 * half, which only moves the clock a millisecond ahead; order is kept.
 *
 * <p>Thread-safe and lock-free.
 */
public final class HybridLogicalClock {

  private final Clock physical;
  private final AtomicLong last;

  /**
   * @param physical the physical time source
   * @param floor every timestamp issued will be greater than this one (the persisted high-water
   *     mark of an earlier run, or zero)
   */
  public HybridLogicalClock(Clock physical, HlcTimestamp floor) {
    this.physical = physical;
    this.last = new AtomicLong(floor.packed());
  }

  /** A new timestamp, greater than every one this clock issued before. */
  public HlcTimestamp now() {
    long wall = physicalPacked();
    return new HlcTimestamp(
        last.updateAndGet(
            previous -> {
              if (previous == -1L) {
                throw new IllegalStateException("hybrid logical clock exhausted");
              }
              return Long.compareUnsigned(wall, previous) > 0 ? wall : previous + 1;
            }));
  }

  /** The greatest timestamp issued so far. */
  public HlcTimestamp highWaterMark() {
    return new HlcTimestamp(last.get());
  }

  private long physicalPacked() {
    long millis = physical.millis();
    if (millis < 0) {
      millis = 0;
    }
    return Math.min(millis, HlcTimestamp.MAX_PHYSICAL_MILLIS) << HlcTimestamp.LOGICAL_BITS;
  }
}
