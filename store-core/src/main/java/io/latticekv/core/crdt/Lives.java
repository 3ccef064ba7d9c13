package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.proto.KeyLives;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The whole state of one key: its lives (see {@link Life} and docs/lifecycle.md). Every key is
 * stored, replicated and repaired in this form.
 *
 * <p>A key usually has one life. A write to a key that has no live life — never written, or
 * deleted — starts a new one, so a deleted key can be written again with any type, and the new
 * life's counters and dots start afresh without ever meeting the old life's (which is what lets
 * the old one be collected safely). Two nodes that start a life concurrently give the key two;
 * they read as one value: a counter's lives add up, a set's lives unite, a register's lives
 * yield their latest write. The <em>visible type</em> is the type of the live life created last
 * (by HLC timestamp, then id); live lives of another type — only concurrent writes can leave one,
 * say a delete and re-creation as a set racing an increment of the old counter — stay hidden
 * behind it until a delete covers them, and writes of their type are refused as a type mismatch.
 *
 * <p>Merge is the union of lives, lives with one id merged ({@link Life#merge}): a join, since
 * each life's parts are lattices. Immutable; lives are kept sorted by id.
 */
public final class Lives implements Crdt<Lives> {

  private static final Life[] NONE = new Life[0];
  private static final Lives EMPTY = new Lives(NONE);
  private static final Comparator<Life> NEWEST =
      Comparator.comparing(Life::created, Long::compareUnsigned).thenComparing(Life::id);

  private final Life[] lives;

  private Lives(Life[] lives) {
    this.lives = lives;
  }

  public static Lives empty() {
    return EMPTY;
  }

  /** The key state of lives with distinct ids, in any order. */
  public static Lives of(List<Life> lives) {
    if (lives.isEmpty()) {
      return EMPTY;
    }
    Life[] sorted = lives.toArray(NONE);
    Arrays.sort(sorted, Comparator.comparing(Life::id));
    for (int i = 1; i < sorted.length; i++) {
      if (sorted[i - 1].id().equals(sorted[i].id())) {
        throw new IllegalArgumentException("life " + sorted[i].id() + " listed twice");
      }
    }
    return new Lives(sorted);
  }

  /** A key holding {@code life} alone. */
  public static Lives of(Life life) {
    return new Lives(new Life[] {life});
  }

  /**
   * A typed state as a key state: itself when it already is one, else its type's typed life ({@link
   * LifeId#typed}): how a version-1 state, stored or sent before lives existed, is read, and where
   * a client's whole typed state goes.
   */
  public static Lives of(Crdt<?> state) {
    if (state instanceof Lives l) {
      return l;
    }
    if (state.isEmpty()) {
      return EMPTY;
    }
    return of(Life.of(LifeId.typed(state.type()), 0, state.type(), state, PnCounter.empty(), 0, 0,
        Collections.emptySortedMap()));
  }

  /** The bottom state of a typed CRDT: what a new life holds. */
  static Crdt<?> emptyOf(CrdtType type) {
    return switch (type) {
      case PN_COUNTER -> PnCounter.empty();
      case OR_SET -> OrSet.empty();
      case LWW_REGISTER -> LwwRegister.empty();
      case KEY -> EMPTY;
    };
  }

  @Override
  public CrdtType type() {
    return CrdtType.KEY;
  }

  /** The lives, sorted by id. */
  public List<Life> lives() {
    return Collections.unmodifiableList(Arrays.asList(lives));
  }

  /** The life with {@code id}, if the key holds it. */
  public Optional<Life> life(LifeId id) {
    int at = indexOf(id);
    return at >= 0 ? Optional.of(lives[at]) : Optional.empty();
  }

  private int indexOf(LifeId id) {
    int lo = 0;
    int hi = lives.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int c = lives[mid].id().compareTo(id);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -(lo + 1);
  }

  @Override
  public boolean isEmpty() {
    return lives.length == 0;
  }

  // ---------------------------------------------------------------- what readers see

  /** The lives that read as something, oldest first by creation. */
  public List<Life> live() {
    List<Life> out = new ArrayList<>(lives.length);
    for (Life life : lives) {
      if (!life.isDead()) {
        out.add(life);
      }
    }
    out.sort(NEWEST);
    return out;
  }

  /** The type readers see: that of the live life created last; empty when no life is live (the key reads as absent). */
  public Optional<CrdtType> visibleType() {
    Life newest = null;
    for (Life life : lives) {
      if (!life.isDead() && (newest == null || NEWEST.compare(life, newest) > 0)) {
        newest = life;
      }
    }
    return newest == null ? Optional.empty() : Optional.of(newest.type());
  }

  /** The live lives of {@code type}, oldest first: what a read of that type joins. */
  public List<Life> live(CrdtType type) {
    List<Life> out = new ArrayList<>();
    for (Life life : live()) {
      if (life.type() == type) {
        out.add(life);
      }
    }
    return out;
  }

  /**
   * The value of the visible counter: its live lives' values added up.
   *
   * @throws CounterOverflowException when it lies outside the 64-bit range
   */
  public long counterValue() {
    BigInteger sum = BigInteger.ZERO;
    for (Life life : live(CrdtType.PN_COUNTER)) {
      sum = sum.add(life.counterValue());
    }
    if (sum.bitLength() > 63) {
      throw new CounterOverflowException("counter value " + sum + " is outside the 64-bit range");
    }
    return sum.longValue();
  }

  /**
   * The visible set's elements: the union of its live lives', sorted by unsigned bytes. One live
   * set (the usual case) answers its own sorted elements without a copy, so a page of a large set
   * costs a binary search, not a sort of the set.
   */
  public List<ByteString> elements() {
    List<Life> sets = live(CrdtType.OR_SET);
    if (sets.size() == 1) {
      return ((OrSet) sets.get(0).data()).elements();
    }
    TreeSet<ByteString> all = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
    for (Life life : sets) {
      all.addAll(((OrSet) life.data()).elements());
    }
    return new ArrayList<>(all);
  }

  /** Whether the visible set holds {@code element}: a binary search in each live set, no copy. */
  public boolean contains(ByteString element) {
    for (Life life : live(CrdtType.OR_SET)) {
      if (((OrSet) life.data()).contains(element)) {
        return true;
      }
    }
    return false;
  }

  /** How many elements the visible set holds (0 for a key that holds no set). */
  public int elementCount() {
    List<Life> sets = live(CrdtType.OR_SET);
    return sets.size() == 1 ? ((OrSet) sets.get(0).data()).size() : sets.isEmpty() ? 0 : elements().size();
  }

  /** The visible register's write: the latest of its live lives'; empty when none shows. */
  public LwwRegister register() {
    LwwRegister latest = LwwRegister.empty();
    for (Life life : live(CrdtType.LWW_REGISTER)) {
      latest = latest.merge(life.visibleRegister());
    }
    return latest;
  }

  /** What a reader of this state observed: what a delete or a remove it sends back removes. */
  public KeyContext context() {
    return KeyContext.of(this);
  }

  // ---------------------------------------------------------------- merge

  @Override
  public Lives merge(Lives other) {
    if (other == this || other.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    List<Life> out = new ArrayList<>(lives.length + other.lives.length);
    int i = 0;
    int j = 0;
    boolean changed = false;
    while (i < lives.length || j < other.lives.length) {
      int order = i == lives.length ? 1 : j == other.lives.length ? -1 : lives[i].id().compareTo(other.lives[j].id());
      if (order < 0) {
        out.add(lives[i++]);
      } else if (order > 0) {
        out.add(other.lives[j++]);
        changed = true;
      } else {
        Life merged = lives[i].merge(other.lives[j++]);
        changed |= merged != lives[i];
        out.add(merged);
        i++;
      }
    }
    return changed ? new Lives(out.toArray(NONE)) : this;
  }

  /** This state with {@code life} merged in (a new life added, or the one with its id joined). */
  Lives with(Life life) {
    return merge(of(life));
  }

  // ---------------------------------------------------------------- collection

  /**
   * What is left of this state at cluster epoch {@code epoch}: dead lives whose last delete or
   * remove is {@link Life#COLLECT_AFTER_EPOCHS} behind are dropped, and the dead entries and old
   * marks of retired replica ids (see {@link Life#pruned}). A function of the state and the epoch
   * alone, so every node at the same epoch drops the same things and their Merkle trees agree.
   */
  public Lives collect(long epoch) {
    List<Life> kept = new ArrayList<>(lives.length);
    boolean changed = false;
    for (Life life : lives) {
      if (life.collectable(epoch)) {
        changed = true;
        continue;
      }
      Life pruned = life.pruned(epoch);
      changed |= pruned != life;
      kept.add(pruned);
    }
    return changed ? (kept.isEmpty() ? EMPTY : new Lives(kept.toArray(NONE))) : this;
  }

  /** Whether any life is dead (waiting to be collected) or holds retired marks: the key has lifecycle work left. */
  public boolean hasTombstones() {
    for (Life life : lives) {
      if (life.isDead() || !life.retired().isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /**
   * The dead lives of this state as their deletes and removes left them: floors, epochs, marks and
   * a set's context. A replica that has merged it has seen what made each of them dead.
   */
  public Lives tombstones() {
    List<Life> out = new ArrayList<>(lives.length);
    for (Life life : lives) {
      if (life.isDead()) {
        out.add(life.tombstone());
      }
    }
    return out.isEmpty() ? EMPTY : new Lives(out.toArray(NONE));
  }

  /** Every replica id this state names. */
  public java.util.SortedSet<NodeId> replicaIds() {
    java.util.TreeSet<NodeId> ids = new java.util.TreeSet<>();
    for (Life life : lives) {
      ids.addAll(life.replicaIds());
    }
    return ids;
  }

  // ---------------------------------------------------------------- encoding

  KeyLives toProto() {
    KeyLives.Builder builder = KeyLives.newBuilder();
    for (Life life : lives) {
      builder.addLives(LifeCodec.toProto(life));
    }
    return builder.build();
  }

  static Lives fromProto(KeyLives state) throws CrdtDecodeException {
    List<Life> out = new ArrayList<>(state.getLivesCount());
    LifeId previous = null;
    for (io.latticekv.proto.Life life : state.getLivesList()) {
      Life decoded = LifeCodec.fromProto(life);
      if (previous != null && previous.compareTo(decoded.id()) >= 0) {
        throw new CrdtDecodeException("lives are not sorted and unique by id");
      }
      previous = decoded.id();
      out.add(decoded);
    }
    return out.isEmpty() ? EMPTY : new Lives(out.toArray(NONE));
  }

  // ---------------------------------------------------------------- identity

  @Override
  public boolean equals(Object o) {
    return o instanceof Lives other && Arrays.equals(lives, other.lives);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(lives);
  }

  @Override
  public String toString() {
    return "Lives" + Arrays.toString(lives);
  }
}
