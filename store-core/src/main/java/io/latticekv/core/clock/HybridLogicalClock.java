package io.latticekv.core.clock;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks and Consistent Snapshots in
 * Globally Distributed Databases", 2014). Timestamps stay close to physical time, are unique per
 * clock, and never go backwards: not when the physical clock steps back, and not across restarts,
 * provided the owner persists {@link #highWaterMark()} and passes it back to the constructor.
 *
 * <p>Packed as in {@link HlcTimestamp}, the algorithm is one line: the next timestamp is {@code
 * max(physical << 16, last + 1)}. When the logical half overflows it carries into the physical
 * half, which only moves the clock a millisecond ahead; order is kept.
 *
 * <p>Thread-safe and lock-free.
 */
public final class HybridLogicalClock {

  private final Clock physical;
  private final long maxForwardMillis;
  private final AtomicLong last;

  /**
   * @param physical the physical time source
   * @param floor every timestamp issued will be greater than this one (the persisted high-water
   *     mark of an earlier run, or zero)
   * @param maxForwardMillis how far ahead of our physical time a timestamp from elsewhere may be
   *     before {@link #observe} refuses it. Too small refuses honest peers whose clocks run a
   *     little fast; too large lets one bad clock drag everybody's timestamps into the future.
   */
  public HybridLogicalClock(Clock physical, HlcTimestamp floor, long maxForwardMillis) {
    if (maxForwardMillis < 0) {
      throw new IllegalArgumentException("maxForwardMillis must be >= 0");
    }
    this.physical = physical;
    this.maxForwardMillis = maxForwardMillis;
    this.last = new AtomicLong(floor.packed());
  }

  /** A new timestamp, greater than every one this clock issued or observed before. */
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

  /**
   * Takes in a timestamp seen on a message or a stored value, so that later timestamps from this
   * clock are greater than it.
   *
   * @return false, and ignores it, when {@code seen} is more than {@code maxForwardMillis} ahead of
   *     our physical time
   */
  public boolean observe(HlcTimestamp seen) {
    long limit = Math.min(physical.millis() + maxForwardMillis, HlcTimestamp.MAX_PHYSICAL_MILLIS);
    if (seen.physicalMillis() > limit) {
      return false;
    }
    last.accumulateAndGet(
        seen.packed(), (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
    return true;
  }

  /** The greatest timestamp issued or observed so far. */
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
