package io.latticekv.core.crdt;

import io.latticekv.proto.CounterEntry;
import io.latticekv.proto.PnCounterState;
import java.math.BigInteger;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A PN-counter (Shapiro et al., "A comprehensive study of CRDTs", 2011, section 3.1.3): two maps
 * from replica to that replica's running total of increments (P) and of decrements (N). The value
 * is {@code sum(P) - sum(N)}; merge takes the maximum per replica in each map.
 *
 * <p>Only the replica itself raises its own entries, and it only raises them, so the maximum is
 * always the newest total. Arithmetic is exact: an update whose totals or value would leave the
 * signed 64-bit range is refused with {@link CounterOverflowException}, never wrapped. Concurrent
 * updates at different replicas can still together reach a value outside the range; reading such
 * a value throws the same exception rather than return a wrong number.
 *
 * <p>Immutable; entries are never zero.
 */
public final class PnCounter implements Crdt<PnCounter> {

  private static final PnCounter EMPTY = new PnCounter(new TreeMap<>(), new TreeMap<>());

  private final SortedMap<NodeId, Long> increments;
  private final SortedMap<NodeId, Long> decrements;
  /**
   * The value once computed (null before, or when it is outside the range). A racy cache like
   * String's hash: a Long is immutable, so a thread sees either null or the whole value.
   */
  private Long value;

  private PnCounter(TreeMap<NodeId, Long> increments, TreeMap<NodeId, Long> decrements) {
    this.increments = Collections.unmodifiableSortedMap(increments);
    this.decrements = Collections.unmodifiableSortedMap(decrements);
  }

  public static PnCounter empty() {
    return EMPTY;
  }

  /**
   * A counter with the given per-replica totals.
   *
   * @throws IllegalArgumentException for a negative total
   */
  public static PnCounter of(Map<NodeId, Long> increments, Map<NodeId, Long> decrements) {
    return new PnCounter(validTotals(increments), validTotals(decrements));
  }

  private static TreeMap<NodeId, Long> validTotals(Map<NodeId, Long> totals) {
    TreeMap<NodeId, Long> copy = new TreeMap<>();
    totals.forEach(
        (replica, total) -> {
          if (total < 0) {
            throw new IllegalArgumentException("negative total " + total + " for " + replica);
          }
          if (total > 0) {
            copy.put(replica, total);
          }
        });
    return copy;
  }

  @Override
  public CrdtType type() {
    return CrdtType.PN_COUNTER;
  }

  /**
   * The counter's value.
   *
   * @throws CounterOverflowException when concurrent updates took it outside the 64-bit range
   */
  public long value() {
    Long known = value;
    if (known != null) {
      return known;
    }
    try {
      long sum = 0;
      for (long total : increments.values()) {
        sum = Math.addExact(sum, total);
      }
      for (long total : decrements.values()) {
        sum = Math.subtractExact(sum, total);
      }
      this.value = sum;
      return sum;
    } catch (ArithmeticException intermediateOverflow) {
      // The partial sums overflowed; the true value may still fit.
      BigInteger exact = exactValue();
      if (exact.bitLength() > 63) {
        throw new CounterOverflowException("counter value " + exact + " is outside the 64-bit range");
      }
      return exact.longValueExact();
    }
  }

  private BigInteger exactValue() {
    BigInteger value = BigInteger.ZERO;
    for (long total : increments.values()) {
      value = value.add(BigInteger.valueOf(total));
    }
    for (long total : decrements.values()) {
      value = value.subtract(BigInteger.valueOf(total));
    }
    return value;
  }

  /** Per-replica increment totals, sorted by replica. */
  public SortedMap<NodeId, Long> increments() {
    return increments;
  }

  /** Per-replica decrement totals, sorted by replica. */
  public SortedMap<NodeId, Long> decrements() {
    return decrements;
  }

  /**
   * The delta of adding {@code amount} (negative: subtracting) at {@code replica}: that replica's
   * new total, alone.
   *
   * @throws CounterOverflowException when the value or the replica's total would leave the range
   */
  public PnCounter addDelta(NodeId replica, long amount) {
    if (amount == 0) {
      return EMPTY;
    }
    if (amount == Long.MIN_VALUE) {
      throw new CounterOverflowException("cannot subtract 2^63: totals are at most 2^63 - 1");
    }
    checkValueAfter(amount);
    boolean up = amount > 0;
    SortedMap<NodeId, Long> totals = up ? increments : decrements;
    long total;
    try {
      total = Math.addExact(totals.getOrDefault(replica, 0L), Math.abs(amount));
    } catch (ArithmeticException e) {
      throw new CounterOverflowException(
          "replica " + replica + " has " + (up ? "incremented" : "decremented")
              + " this counter by more than 2^63 - 1 in total");
    }
    TreeMap<NodeId, Long> entry = new TreeMap<>(Map.of(replica, total));
    return up ? new PnCounter(entry, new TreeMap<>()) : new PnCounter(new TreeMap<>(), entry);
  }

  private void checkValueAfter(long amount) {
    long value;
    try {
      value = value();
    } catch (CounterOverflowException alreadyOutside) {
      // Concurrent updates took the value out of range; allow updates that bring it back.
      BigInteger after = exactValue().add(BigInteger.valueOf(amount));
      if (after.bitLength() > 63) {
        throw new CounterOverflowException(
            "adding " + amount + " to " + exactValue() + " leaves the 64-bit range");
      }
      return;
    }
    long after = value + amount;
    // Overflow iff both operands have the same sign and the result's sign differs.
    if (((value ^ after) & (amount ^ after)) < 0) {
      throw new CounterOverflowException(
          "adding " + amount + " to " + value + " leaves the 64-bit range");
    }
  }

  /**
   * The full-state mutator: this counter with {@code amount} added at {@code replica}. Equal to
   * {@code merge(addDelta(replica, amount))}, computed directly.
   */
  public PnCounter add(NodeId replica, long amount) {
    PnCounter delta = addDelta(replica, amount);
    if (delta.isEmpty()) {
      return this;
    }
    TreeMap<NodeId, Long> p = new TreeMap<>(increments);
    TreeMap<NodeId, Long> n = new TreeMap<>(decrements);
    p.putAll(delta.increments);
    n.putAll(delta.decrements);
    return new PnCounter(p, n);
  }

  @Override
  public PnCounter merge(PnCounter other) {
    if (other == this || other.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    return new PnCounter(
        maxPerReplica(increments, other.increments), maxPerReplica(decrements, other.decrements));
  }

  private static TreeMap<NodeId, Long> maxPerReplica(
      SortedMap<NodeId, Long> a, SortedMap<NodeId, Long> b) {
    TreeMap<NodeId, Long> max = new TreeMap<>(a);
    b.forEach((replica, total) -> max.merge(replica, total, Math::max));
    return max;
  }

  @Override
  public boolean isEmpty() {
    return increments.isEmpty() && decrements.isEmpty();
  }

  PnCounterState toProto() {
    PnCounterState.Builder builder = PnCounterState.newBuilder();
    increments.forEach((replica, total) -> builder.addP(entry(replica, total)));
    decrements.forEach((replica, total) -> builder.addN(entry(replica, total)));
    return builder.build();
  }

  private static CounterEntry entry(NodeId replica, long total) {
    return CounterEntry.newBuilder().setReplica(replica.toBytes()).setTotal(total).build();
  }

  static PnCounter fromProto(PnCounterState state) throws CrdtDecodeException {
    return new PnCounter(
        totalsFromProto(state.getPList(), "increment"),
        totalsFromProto(state.getNList(), "decrement"));
  }

  private static TreeMap<NodeId, Long> totalsFromProto(
      java.util.List<CounterEntry> entries, String what) throws CrdtDecodeException {
    TreeMap<NodeId, Long> totals = new TreeMap<>();
    for (CounterEntry entry : entries) {
      NodeId replica = NodeId.fromBytes(entry.getReplica());
      long total = entry.getTotal();
      if (total <= 0) {
        throw new CrdtDecodeException(
            what + " total of " + replica + " out of range: " + Long.toUnsignedString(total));
      }
      if (totals.put(replica, total) != null) {
        throw new CrdtDecodeException("replica " + replica + " has two " + what + " totals");
      }
    }
    return totals;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PnCounter other
        && increments.equals(other.increments)
        && decrements.equals(other.decrements);
  }

  @Override
  public int hashCode() {
    return 31 * increments.hashCode() + decrements.hashCode();
  }

  @Override
  public String toString() {
    return "PnCounter{p=" + increments + ", n=" + decrements + "}";
  }
}
