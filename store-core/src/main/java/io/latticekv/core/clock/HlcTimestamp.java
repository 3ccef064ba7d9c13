package io.latticekv.core.clock;

/**
 * A hybrid logical clock timestamp packed into 64 bits: the upper 48 bits are milliseconds since
 * the Unix epoch (enough until the year 10889), the lower 16 a logical counter that orders events
 * within one millisecond. Packed timestamps compare as unsigned longs, which is the HLC order.
 */
public record HlcTimestamp(long packed) implements Comparable<HlcTimestamp> {

  public static final int LOGICAL_BITS = 16;
  public static final long MAX_PHYSICAL_MILLIS = (1L << (64 - LOGICAL_BITS)) - 1;

  /** The timestamp {@code (physicalMillis, logical)}. */
  public static HlcTimestamp of(long physicalMillis, int logical) {
    if (physicalMillis < 0 || physicalMillis > MAX_PHYSICAL_MILLIS) {
      throw new IllegalArgumentException("physical time out of range: " + physicalMillis);
    }
    if (logical < 0 || logical >= (1 << LOGICAL_BITS)) {
      throw new IllegalArgumentException("logical counter out of range: " + logical);
    }
    return new HlcTimestamp((physicalMillis << LOGICAL_BITS) | logical);
  }

  public long physicalMillis() {
    return packed >>> LOGICAL_BITS;
  }

  public int logical() {
    return (int) (packed & ((1L << LOGICAL_BITS) - 1));
  }

  @Override
  public int compareTo(HlcTimestamp other) {
    return Long.compareUnsigned(packed, other.packed);
  }

  @Override
  public String toString() {
    return java.time.Instant.ofEpochMilli(physicalMillis()) + "+" + logical();
  }
}
