package io.latticekv.core.crdt;

import io.latticekv.proto.CounterEntry;
import io.latticekv.proto.PnCounterState;
import java.math.BigInteger;
import java.util.Arrays;
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
 * <p>Each map is kept as two parallel arrays sorted by replica: a counter has an entry per replica
 * that ever wrote to it (a handful), and every increment merges, reads and encodes one, so sorted
 * arrays beat tree maps on the write path.
 *
 * <p>Immutable; entries are never zero.
 */
public final class PnCounter implements Crdt<PnCounter> {

  private static final NodeId[] NO_REPLICAS = new NodeId[0];
  private static final long[] NO_TOTALS = new long[0];
  private static final PnCounter EMPTY = new PnCounter(Totals.NONE, Totals.NONE);

  /** Per-replica totals: replicas sorted and unique, totals positive. */
  private record Totals(NodeId[] replicas, long[] totals) {
    static final Totals NONE = new Totals(NO_REPLICAS, NO_TOTALS);

    static Totals of(NodeId replica, long total) {
      return new Totals(new NodeId[] {replica}, new long[] {total});
    }

    static Totals of(SortedMap<NodeId, Long> totals) {
      if (totals.isEmpty()) {
        return NONE;
      }
      NodeId[] replicas = totals.keySet().toArray(NO_REPLICAS);
      long[] values = new long[replicas.length];
      for (int i = 0; i < replicas.length; i++) {
        values[i] = totals.get(replicas[i]);
      }
      return new Totals(replicas, values);
    }

    boolean isEmpty() {
      return replicas.length == 0;
    }

    long get(NodeId replica) {
      int at = Arrays.binarySearch(replicas, replica);
      return at >= 0 ? totals[at] : 0;
    }

    /** The maximum per replica of this and {@code other}; this itself when it already is. */
    Totals max(Totals other) {
      if (other.isEmpty()) {
        return this;
      }
      NodeId[] outReplicas = new NodeId[replicas.length + other.replicas.length];
      long[] outTotals = new long[outReplicas.length];
      int i = 0;
      int j = 0;
      int n = 0;
      boolean grew = false;
      while (i < replicas.length || j < other.replicas.length) {
        int order = i == replicas.length ? 1
            : j == other.replicas.length ? -1
            : replicas[i].compareTo(other.replicas[j]);
        if (order < 0) {
          outReplicas[n] = replicas[i];
          outTotals[n++] = totals[i++];
        } else if (order > 0) {
          grew = true;
          outReplicas[n] = other.replicas[j];
          outTotals[n++] = other.totals[j++];
        } else {
          grew |= other.totals[j] > totals[i];
          outReplicas[n] = replicas[i];
          outTotals[n++] = Math.max(totals[i++], other.totals[j++]);
        }
      }
      if (!grew) {
        return this;
      }
      return new Totals(Arrays.copyOf(outReplicas, n), Arrays.copyOf(outTotals, n));
    }

    Totals without(NodeId replica) {
      int at = Arrays.binarySearch(replicas, replica);
      if (at < 0) {
        return this;
      }
      if (replicas.length == 1) {
        return NONE;
      }
      NodeId[] r = new NodeId[replicas.length - 1];
      long[] t = new long[r.length];
      System.arraycopy(replicas, 0, r, 0, at);
      System.arraycopy(replicas, at + 1, r, at, r.length - at);
      System.arraycopy(totals, 0, t, 0, at);
      System.arraycopy(totals, at + 1, t, at, t.length - at);
      return new Totals(r, t);
    }

    SortedMap<NodeId, Long> asMap() {
      TreeMap<NodeId, Long> map = new TreeMap<>();
      for (int i = 0; i < replicas.length; i++) {
        map.put(replicas[i], totals[i]);
      }
      return Collections.unmodifiableSortedMap(map);
    }

    boolean sameAs(Totals other) {
      return Arrays.equals(replicas, other.replicas) && Arrays.equals(totals, other.totals);
    }

    int hash() {
      return 31 * Arrays.hashCode(replicas) + Arrays.hashCode(totals);
    }
  }

  private final Totals increments;
  private final Totals decrements;
  /**
   * The value once computed (null before, or when it is outside the range). A racy cache like
   * String's hash: a Long is immutable, so a thread sees either null or the whole value.
   */
  private Long value;

  private PnCounter(Totals increments, Totals decrements) {
    this.increments = increments;
    this.decrements = decrements;
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
    return new PnCounter(Totals.of(validTotals(increments)), Totals.of(validTotals(decrements)));
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
      for (long total : increments.totals()) {
        sum = Math.addExact(sum, total);
      }
      for (long total : decrements.totals()) {
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
    for (long total : increments.totals()) {
      value = value.add(BigInteger.valueOf(total));
    }
    for (long total : decrements.totals()) {
      value = value.subtract(BigInteger.valueOf(total));
    }
    return value;
  }

  /** Per-replica increment totals, sorted by replica. */
  public SortedMap<NodeId, Long> increments() {
    return increments.asMap();
  }

  /** Per-replica decrement totals, sorted by replica. */
  public SortedMap<NodeId, Long> decrements() {
    return decrements.asMap();
  }

  /**
   * The delta of adding {@code amount} (negative: subtracting) at {@code replica}: that replica's
   * new total, alone.
   *
   * @throws CounterOverflowException when the value or the replica's total would leave the range
   */
  public PnCounter addDelta(NodeId replica, long amount) {
    if (amount != 0 && amount != Long.MIN_VALUE) {
      checkValueAfter(amount);
    }
    return totalDelta(replica, amount);
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
   * The delta of adding {@code amount} at {@code replica}, checking only that the replica's total
   * stays in range: for a counter whose visible value is not its own (a key's life with a floor,
   * see {@link Life}), whose owner checks the value.
   */
  PnCounter totalDelta(NodeId replica, long amount) {
    if (amount == 0) {
      return EMPTY;
    }
    if (amount == Long.MIN_VALUE) {
      throw new CounterOverflowException("cannot subtract 2^63: totals are at most 2^63 - 1");
    }
    boolean up = amount > 0;
    Totals totals = up ? increments : decrements;
    long total;
    try {
      total = Math.addExact(totals.get(replica), Math.abs(amount));
    } catch (ArithmeticException e) {
      throw new CounterOverflowException(
          "replica " + replica + " has " + (up ? "incremented" : "decremented")
              + " this counter by more than 2^63 - 1 in total");
    }
    Totals entry = Totals.of(replica, total);
    return up ? new PnCounter(entry, Totals.NONE) : new PnCounter(Totals.NONE, entry);
  }

  /** The increment total of {@code replica}, 0 when it has none. */
  public long incrementOf(NodeId replica) {
    return increments.get(replica);
  }

  /** The decrement total of {@code replica}, 0 when it has none. */
  public long decrementOf(NodeId replica) {
    return decrements.get(replica);
  }

  /** This counter without {@code replica}'s entries. */
  PnCounter without(NodeId replica) {
    Totals p = increments.without(replica);
    Totals n = decrements.without(replica);
    return p == increments && n == decrements ? this : new PnCounter(p, n);
  }

  /** Every replica with an entry, sorted. */
  java.util.SortedSet<NodeId> replicas() {
    java.util.TreeSet<NodeId> all = new java.util.TreeSet<>(Arrays.asList(increments.replicas()));
    all.addAll(Arrays.asList(decrements.replicas()));
    return all;
  }

  /**
   * The value above {@code floor}: per replica, what its totals exceed the floor's by (a total at
   * or below its floor adds nothing). Exact: the sum is taken in 128 bits.
   *
   * @throws CounterOverflowException when it lies outside the 64-bit range
   */
  BigInteger valueAbove(PnCounter floor) {
    BigInteger value = BigInteger.ZERO;
    for (int i = 0; i < increments.replicas().length; i++) {
      long above = increments.totals()[i] - floor.increments.get(increments.replicas()[i]);
      if (above > 0) {
        value = value.add(BigInteger.valueOf(above));
      }
    }
    for (int i = 0; i < decrements.replicas().length; i++) {
      long above = decrements.totals()[i] - floor.decrements.get(decrements.replicas()[i]);
      if (above > 0) {
        value = value.subtract(BigInteger.valueOf(above));
      }
    }
    return value;
  }

  /** Whether every total is at or below {@code floor}'s: nothing above it counts. */
  boolean coveredBy(PnCounter floor) {
    for (int i = 0; i < increments.replicas().length; i++) {
      if (increments.totals()[i] > floor.increments.get(increments.replicas()[i])) {
        return false;
      }
    }
    for (int i = 0; i < decrements.replicas().length; i++) {
      if (decrements.totals()[i] > floor.decrements.get(decrements.replicas()[i])) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code replica}'s totals are at or below {@code floor}'s. */
  boolean coveredBy(PnCounter floor, NodeId replica) {
    return increments.get(replica) <= floor.increments.get(replica)
        && decrements.get(replica) <= floor.decrements.get(replica);
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
    // The delta's total is above this replica's current one, so the maximum is a replacement.
    return new PnCounter(increments.max(delta.increments), decrements.max(delta.decrements));
  }

  @Override
  public PnCounter merge(PnCounter other) {
    if (other == this || other.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    Totals p = increments.max(other.increments);
    Totals n = decrements.max(other.decrements);
    return p == increments && n == decrements ? this : new PnCounter(p, n);
  }

  @Override
  public boolean isEmpty() {
    return increments.isEmpty() && decrements.isEmpty();
  }

  PnCounterState toProto() {
    PnCounterState.Builder builder = PnCounterState.newBuilder();
    for (int i = 0; i < increments.replicas().length; i++) {
      builder.addP(entry(increments.replicas()[i], increments.totals()[i]));
    }
    for (int i = 0; i < decrements.replicas().length; i++) {
      builder.addN(entry(decrements.replicas()[i], decrements.totals()[i]));
    }
    return builder.build();
  }

  private static CounterEntry entry(NodeId replica, long total) {
    return CounterEntry.newBuilder().setReplica(replica.toBytes()).setTotal(total).build();
  }

  static PnCounter fromProto(PnCounterState state) throws CrdtDecodeException {
    return new PnCounter(
        Totals.of(totalsFromProto(state.getPList(), "increment")),
        Totals.of(totalsFromProto(state.getNList(), "decrement")));
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
        && increments.sameAs(other.increments)
        && decrements.sameAs(other.decrements);
  }

  @Override
  public int hashCode() {
    return 31 * increments.hash() + decrements.hash();
  }

  @Override
  public String toString() {
    return "PnCounter{p=" + increments.asMap() + ", n=" + decrements.asMap() + "}";
  }
}
