package io.latticekv.core.crdt;

import java.math.BigInteger;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One life of a key (docs/lifecycle.md): a typed CRDT value from the write that created it until a
 * delete covers it and it is collected, with what deletes observed of it — its <em>floor</em> —
 * and the bookkeeping that lets the cluster collect it without clocks.
 *
 * <ul>
 *   <li><b>Floor.</b> A delete removes what it observed: a counter's per-replica totals (an
 *       increment beyond them, concurrent with the delete and unseen by it, still counts), a
 *       register's timestamp (a write stamped later still shows). The floor is a lattice of its
 *       own, joined by maximum, so deletes merge like every other update. A set needs no floor: a
 *       delete's delta is the set's context alone, which by the OR-Set merge removes every add it
 *       names — the ones held, and the ones still to arrive — and no other.
 *   <li><b>Death.</b> A life is dead when nothing above its floor remains. It is collected — dropped
 *       from the key — once it is dead and {@link #COLLECT_AFTER_EPOCHS} cluster epochs have passed
 *       since the last delete or remove that touched it ({@code tombEpoch}); docs/lifecycle.md
 *       says why that many epochs make the drop safe everywhere at once.
 *   <li><b>Retired replica ids.</b> A replica id that will never write again is marked in the
 *       life; once its entries are dead (a counter's owner moved their value into its live id and
 *       raised their floor), they are dropped {@link #COLLECT_AFTER_EPOCHS} epochs after the
 *       mark, and the mark {@link #MARKS_AFTER_EPOCHS} epochs after it.
 * </ul>
 *
 * <p>A retired entry is dropped only once the mark <em>and</em> the life's last delete or remove
 * are that old: a recent delete may be what made the entry dead, and a replica that has not seen it
 * yet could otherwise bring the entry back live.
 *
 * <p>Two lives merge only when they have the same id: the typed values merge, floors join, epochs
 * take the maximum. Immutable;
 * the typed values keep their own invariants.
 */
public final class Life {

  /** Epochs after its last delete or remove at which a dead life is collected (docs/lifecycle.md). */
  public static final long COLLECT_AFTER_EPOCHS = 3;
  /** Epochs after which a retired mark with no entries left goes: two after its entries. */
  public static final long MARKS_AFTER_EPOCHS = 5;

  private static final SortedMap<NodeId, Mark> NO_MARKS = Collections.emptySortedMap();

  /**
   * A retired replica id's mark: the epoch of the fold that marked it and, for a counter, what the
   * fold moved to the {@code adopter}'s entry — the retired id's totals from {@code saw} (its floor
   * then) to {@code top}, placed on the adopter's totals from {@code from} — per side (p:
   * increments, n: decrements). From these, a delete that floored the retired id without seeing
   * the fold still deletes the moved part it saw (see {@link #extra}). Ordered, so that two marks
   * of one id join to the later fold.
   */
  public record Mark(long epoch, NodeId adopter, long sawP, long topP, long fromP, long sawN, long topN, long fromN)
      implements Comparable<Mark> {

    /** The mark of a set's or a register's life: nothing is moved, only the time counts. */
    static Mark of(long epoch, NodeId adopter) {
      return new Mark(epoch, adopter, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public int compareTo(Mark o) {
      int c = Long.compare(epoch, o.epoch);
      c = c != 0 ? c : Long.compareUnsigned(topP, o.topP);
      c = c != 0 ? c : Long.compareUnsigned(topN, o.topN);
      c = c != 0 ? c : Long.compareUnsigned(sawP, o.sawP);
      c = c != 0 ? c : Long.compareUnsigned(sawN, o.sawN);
      c = c != 0 ? c : Long.compareUnsigned(fromP, o.fromP);
      c = c != 0 ? c : Long.compareUnsigned(fromN, o.fromN);
      return c != 0 ? c : adopter.compareTo(o.adopter);
    }
  }

  private final LifeId id;
  private final long created;
  private final CrdtType type;
  private final Crdt<?> data;
  private final PnCounter counterFloor;
  private final long registerFloor;
  private final long tombEpoch;
  private final SortedMap<NodeId, Mark> retired;

  private Life(LifeId id, long created, CrdtType type, Crdt<?> data, PnCounter counterFloor,
      long registerFloor, long tombEpoch, SortedMap<NodeId, Mark> retired) {
    this.id = id;
    this.created = created;
    this.type = type;
    this.data = data;
    this.counterFloor = counterFloor;
    this.registerFloor = registerFloor;
    this.tombEpoch = tombEpoch;
    this.retired = retired;
  }

  /** A life from its parts; the floors of other types than {@code type} must be empty. */
  static Life of(LifeId id, long created, CrdtType type, Crdt<?> data, PnCounter counterFloor,
      long registerFloor, long tombEpoch, SortedMap<NodeId, Mark> retired) {
    if (type == CrdtType.KEY || data.type() != type) {
      throw new IllegalArgumentException("a " + type.displayName() + " life cannot hold a " + data.type().displayName());
    }
    if ((type != CrdtType.PN_COUNTER && !counterFloor.isEmpty()) || (type != CrdtType.LWW_REGISTER && registerFloor != 0)) {
      throw new IllegalArgumentException("a " + type.displayName() + " life with another type's floor");
    }
    return new Life(id, created, type, data, counterFloor, registerFloor, tombEpoch,
        retired.isEmpty() ? NO_MARKS : Collections.unmodifiableSortedMap(new TreeMap<>(retired)));
  }

  /** A new, empty life of {@code type}. */
  public static Life create(LifeId id, long created, CrdtType type) {
    return of(id, created, type, Lives.emptyOf(type), PnCounter.empty(), 0, 0, NO_MARKS);
  }

  /** This life's identity and type, holding {@code data} only: the delta of an update. */
  Life with(Crdt<?> newData) {
    return of(id, created, type, newData, PnCounter.empty(), 0, 0, NO_MARKS);
  }

  /** This life with {@code newData} in place of its value, its floors, epoch and marks kept. */
  Life withData(Crdt<?> newData) {
    return of(id, created, type, newData, counterFloor, registerFloor, tombEpoch, retired);
  }

  /** The bare identity of this life, nothing in it: what deltas of floors and marks start from. */
  Life bare() {
    return create(id, created, type);
  }

  /**
   * This life's floor, epoch and marks, without its value; for a set, also what its removes
   * removed (its context, without the elements).
   */
  Life tombstone() {
    Crdt<?> removes = type == CrdtType.OR_SET ? ((OrSet) data).removeAll(((OrSet) data).elements()) : Lives.emptyOf(type);
    return of(id, created, type, removes, counterFloor, registerFloor, tombEpoch, retired);
  }

  Life withCounterFloor(PnCounter floor, long epoch) {
    return of(id, created, type, data, counterFloor.merge(floor), registerFloor, Math.max(tombEpoch, epoch), retired);
  }

  Life withRegisterFloor(long floor, long epoch) {
    return of(id, created, type, data, counterFloor, maxUnsigned(registerFloor, floor), Math.max(tombEpoch, epoch),
        retired);
  }

  Life withTombEpoch(long epoch) {
    return epoch <= tombEpoch ? this : of(id, created, type, data, counterFloor, registerFloor, epoch, retired);
  }

  Life withMark(NodeId replica, Mark mark) {
    TreeMap<NodeId, Mark> marks = new TreeMap<>(retired);
    marks.merge(replica, mark, (a, b) -> a.compareTo(b) >= 0 ? a : b);
    return of(id, created, type, data, counterFloor, registerFloor, tombEpoch, marks);
  }

  private static long maxUnsigned(long a, long b) {
    return Long.compareUnsigned(a, b) >= 0 ? a : b;
  }

  // ---------------------------------------------------------------- reading

  public LifeId id() {
    return id;
  }

  /** The HLC timestamp of the write that created the life. */
  public long created() {
    return created;
  }

  public CrdtType type() {
    return type;
  }

  /** The typed value, floors not applied for counters and registers (sets are kept settled). */
  public Crdt<?> data() {
    return data;
  }

  public PnCounter counterFloor() {
    return counterFloor;
  }

  public long registerFloor() {
    return registerFloor;
  }

  public long tombEpoch() {
    return tombEpoch;
  }

  /** Retired replica ids marked in this life, with their marks. */
  public SortedMap<NodeId, Mark> retired() {
    return retired;
  }

  /** Whether nothing above the floor remains: the life reads as nothing. */
  public boolean isDead() {
    return switch (type) {
      case PN_COUNTER -> retired.isEmpty() ? ((PnCounter) data).coveredBy(counterFloor) : alive(true).signum() == 0
          && alive(false).signum() == 0;
      case OR_SET -> ((OrSet) data).size() == 0;
      case LWW_REGISTER -> ((LwwRegister) data).isEmpty()
          || Long.compareUnsigned(((LwwRegister) data).timestamp().packed(), registerFloor) <= 0;
      case KEY -> throw new IllegalStateException("a life is never of type key");
    };
  }

  /**
   * A counter life's value: what its totals hold above the floor.
   *
   * @throws CounterOverflowException when it lies outside the 64-bit range
   */
  BigInteger counterValue() {
    if (retired.isEmpty()) {
      return ((PnCounter) data).valueAbove(counterFloor);
    }
    return alive(true).subtract(alive(false));
  }

  /**
   * What one side (increments, or decrements) of a counter life holds above its floors: each
   * entry above its floor — a retired id above its mark's top too, since the fold moved the rest —
   * less what deletes that saw a retired id but not its fold took of the moved part ({@link #extra}).
   */
  private BigInteger alive(boolean up) {
    PnCounter counter = (PnCounter) data;
    BigInteger sum = BigInteger.ZERO;
    java.util.Set<NodeId> ids = new java.util.HashSet<>(counter.replicas());
    for (NodeId r : ids) {
      long total = up ? counter.incrementOf(r) : counter.decrementOf(r);
      long floor = up ? counterFloor.incrementOf(r) : counterFloor.decrementOf(r);
      Mark mark = retired.get(r);
      if (mark != null) {
        floor = maxUnsigned(floor, up ? mark.topP() : mark.topN());
      }
      if (Long.compareUnsigned(total, floor) > 0) {
        sum = sum.add(unsigned(total - floor));
      }
    }
    for (Map.Entry<NodeId, Mark> e : retired.entrySet()) {
      sum = sum.subtract(BigInteger.valueOf(extra(e.getKey(), e.getValue(), up)));
    }
    return sum.signum() < 0 ? BigInteger.ZERO : sum;
  }

  private static BigInteger unsigned(long v) {
    return v >= 0 ? BigInteger.valueOf(v) : BigInteger.valueOf(v).add(BigInteger.ONE.shiftLeft(64));
  }

  /**
   * Of what the fold of {@code r} moved on one side, the part a delete took through {@code r}'s
   * floor and the adopter's floor does not: deleted, but counted in the adopter's entry. The moved
   * totals {@code saw..top} of r lie on the adopter's {@code from..from+moved} in the same order, so
   * either floor deletes a prefix of them, and the larger prefix is what is gone.
   */
  long extra(NodeId r, Mark mark, boolean up) {
    long saw = up ? mark.sawP() : mark.sawN();
    long top = up ? mark.topP() : mark.topN();
    long from = up ? mark.fromP() : mark.fromN();
    long moved = top - saw;
    if (moved <= 0) {
      return 0;
    }
    long floorR = up ? counterFloor.incrementOf(r) : counterFloor.decrementOf(r);
    long floorA = up ? counterFloor.incrementOf(mark.adopter()) : counterFloor.decrementOf(mark.adopter());
    long byR = clip(floorR - saw, moved);
    long byA = clip(floorA - from, moved);
    return Math.max(0, byR - byA);
  }

  private static long clip(long v, long max) {
    return v < 0 ? 0 : Math.min(v, max);
  }

  /** Whether the fold of {@code r} raced with a delete: the value is right, but r's entry must stay. */
  boolean foldRaced(NodeId r) {
    Mark mark = retired.get(r);
    return mark != null && (extra(r, mark, true) > 0 || extra(r, mark, false) > 0);
  }

  /** Whether {@code a} took in a fold that raced with a delete: its floor is part of that fold's reckoning. */
  private boolean adoptsRacedFold(NodeId a) {
    for (Map.Entry<NodeId, Mark> e : retired.entrySet()) {
      if (e.getValue().adopter().equals(a) && foldRaced(e.getKey())) {
        return true;
      }
    }
    return false;
  }

  /** Whether retired {@code r} holds totals beyond its mark's top (or floor): a later fold must move them. */
  boolean hasExcess(NodeId r) {
    PnCounter counter = (PnCounter) data;
    Mark mark = retired.get(r);
    long topP = mark == null ? 0 : mark.topP();
    long topN = mark == null ? 0 : mark.topN();
    return Long.compareUnsigned(counter.incrementOf(r), maxUnsigned(counterFloor.incrementOf(r), topP)) > 0
        || Long.compareUnsigned(counter.decrementOf(r), maxUnsigned(counterFloor.decrementOf(r), topN)) > 0;
  }

  /** A register life's write if it shows (it is above the floor), else the empty register. */
  LwwRegister visibleRegister() {
    LwwRegister register = (LwwRegister) data;
    return isDead() ? LwwRegister.empty() : register;
  }

  /** Every replica id the life's state names: counter entries and floors, set context, register writer, marks. */
  public java.util.SortedSet<NodeId> replicaIds() {
    java.util.TreeSet<NodeId> ids = new java.util.TreeSet<>();
    switch (type) {
      case PN_COUNTER -> {
        ids.addAll(((PnCounter) data).replicas());
        ids.addAll(counterFloor.replicas());
      }
      case OR_SET -> {
        OrSet set = (OrSet) data;
        ids.addAll(set.context().replicas());
        for (OrSet.Deferred d : set.deferredRemoves()) {
          ids.addAll(d.context().replicas());
        }
      }
      case LWW_REGISTER -> {
        if (!((LwwRegister) data).isEmpty()) {
          ids.add(((LwwRegister) data).writer());
        }
      }
      case KEY -> throw new IllegalStateException("a life is never of type key");
    }
    ids.addAll(retired.keySet());
    return ids;
  }

  // ---------------------------------------------------------------- merge and collection

  /**
   * The join of two states of this life (the same id). States of one id with different types
   * come only from a forged or broken peer; the greater type wins whole, which keeps the join a
   * join.
   */
  Life merge(Life other) {
    if (other == this) {
      return this;
    }
    if (type != other.type) {
      return type.ordinal() > other.type.ordinal() ? this : other;
    }
    SortedMap<NodeId, Mark> marks = retired;
    if (!other.retired.isEmpty()) {
      TreeMap<NodeId, Mark> union = new TreeMap<>(retired);
      for (Map.Entry<NodeId, Mark> e : other.retired.entrySet()) {
        union.merge(e.getKey(), e.getValue(), (a, b) -> a.compareTo(b) >= 0 ? a : b);
      }
      marks = union;
    }
    Life merged = of(id, maxUnsigned(created, other.created), type, Crdt.join(data, other.data),
        counterFloor.merge(other.counterFloor), maxUnsigned(registerFloor, other.registerFloor),
        Math.max(tombEpoch, other.tombEpoch), marks);
    return merged.equals(this) ? this : merged.equals(other) ? other : merged;
  }

  /** Whether the life is dead and its last delete or remove is far enough behind {@code epoch} to drop it. */
  boolean collectable(long epoch) {
    // A set whose removes still wait for adds to arrive (deferred removes) keeps them: in a
    // healthy cluster they have arrived by then, but dropping them would let those adds show when
    // they do.
    boolean pending = type == CrdtType.OR_SET && !((OrSet) data).deferredRemoves().isEmpty();
    return isDead() && !pending && tombEpoch + COLLECT_AFTER_EPOCHS <= epoch;
  }

  /**
   * This life with what {@code epoch} allows dropped: the dead entries of retired replica ids
   * whose mark is {@link #COLLECT_AFTER_EPOCHS} old, and marks {@link #MARKS_AFTER_EPOCHS} old
   * with nothing of their replica left. The life itself is the caller's ({@link #collectable}).
   */
  Life pruned(long epoch) {
    return pruned(epoch, r -> ((OrSet) data).holdsDotsOf(r));
  }

  /**
   * {@link #pruned(long)} where whether a set still holds dots of a replica is {@code holdsDots}'s
   * answer: for a set stored one row per element, whose life here holds the context alone.
   */
  Life pruned(long epoch, java.util.function.Predicate<NodeId> holdsDots) {
    if (retired.isEmpty()) {
      return this;
    }
    Crdt<?> d = data;
    PnCounter floor = counterFloor;
    TreeMap<NodeId, Mark> marks = new TreeMap<>(retired);
    for (Map.Entry<NodeId, Mark> mark : retired.entrySet()) {
      NodeId r = mark.getKey();
      // A delete or remove since the mark may be what made the entry dead: wait for it too, or a
      // replica that has not seen it yet could bring the entry back live.
      long since = Math.max(mark.getValue().epoch(), tombEpoch);
      if (since + COLLECT_AFTER_EPOCHS > epoch) {
        continue;
      }
      boolean left;
      switch (type) {
        case PN_COUNTER -> {
          // Dropped once final: nothing beyond the fold (a later fold moves it first), and no
          // delete raced with the fold (then the entry stays, for the value's sake).
          if (!hasExcess(r) && !foldRaced(r) && !adoptsRacedFold(r)) {
            d = ((PnCounter) d).without(r);
            floor = floor.without(r);
          }
          left = ((PnCounter) d).replicas().contains(r) || floor.replicas().contains(r);
        }
        case OR_SET -> {
          OrSet set = (OrSet) d;
          if (!holdsDots.test(r)) {
            d = set.forgetReplica(r);
          }
          left = ((OrSet) d).context().mentions(r);
        }
        default -> left = false;
      }
      if (!left && since + MARKS_AFTER_EPOCHS <= epoch) {
        marks.remove(r);
      }
    }
    Life next = of(id, created, type, d, floor, registerFloor, tombEpoch, marks);
    return next.equals(this) ? this : next;
  }

  // ---------------------------------------------------------------- identity

  @Override
  public boolean equals(Object o) {
    return o instanceof Life other && id.equals(other.id) && created == other.created && type == other.type
        && data.equals(other.data) && counterFloor.equals(other.counterFloor)
        && registerFloor == other.registerFloor && tombEpoch == other.tombEpoch && retired.equals(other.retired);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, created, type, data, counterFloor, registerFloor, tombEpoch, retired);
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("Life{").append(id).append(' ').append(type.displayName()).append(' ')
        .append(data);
    if (!counterFloor.isEmpty()) {
      s.append(" floor=").append(counterFloor);
    }
    if (registerFloor != 0) {
      s.append(" floor=").append(new io.latticekv.core.clock.HlcTimestamp(registerFloor));
    }
    if (tombEpoch != 0) {
      s.append(" tomb@").append(tombEpoch);
    }
    if (!retired.isEmpty()) {
      s.append(" retired=").append(retired);
    }
    return s.append('}').toString();
  }
}
