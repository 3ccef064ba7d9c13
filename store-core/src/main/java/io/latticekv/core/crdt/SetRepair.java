package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.core.merkle.Hashing;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Element-level repair of large sets (docs/gossip.md, "large sets"): two replicas of a set compare
 * it bucket by bucket — its elements hashed into {@code count} buckets, each bucket summed over the
 * hashes of its elements and their dots — and send each other only the buckets that differ, with
 * the whole causal context. A set of a million elements that differs in three is repaired with
 * three buckets, not the whole set.
 *
 * <p>Why a part is enough: merging a part that holds the elements of buckets {@code B} and the
 * sender's whole context equals merging the whole state, <em>provided the sender's other buckets
 * equal the receiver's</em> (then every dot of an element the part leaves out is one the receiver
 * holds as well). So a part is only ever built against the bucket hashes of the replica that will
 * merge it, computed from the state the part is cut from: each side sends the buckets where its
 * state differs from the other's hashes. A write the receiver takes in between concerns its own
 * elements, which a part never touches outside {@code B}.
 *
 * <p>Only a plain set takes part: one life, an OR-Set, without floors, tombstones, retired marks
 * or deferred removes (a deferred remove may name an element of any bucket); both replicas' lives
 * must be the same one ({@link #shape}). Anything else is repaired whole, as before.
 */
public final class SetRepair {

  /** Sets with fewer elements are repaired whole: their state is small enough. */
  public static final int ELEMENTS_MIN = 4_096;
  /** Most buckets a set is compared in: 32 KiB of hashes each way. */
  public static final int BUCKETS_MAX = 4_096;
  /** Elements per bucket the count aims at: a differing bucket costs about this many elements. */
  private static final int ELEMENTS_PER_BUCKET = 256;

  private static final Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();

  private SetRepair() {}

  /**
   * The life of a plain set, or null when {@code state} is anything else. A plain set may carry
   * a tomb epoch (any remove at a cluster epoch after the first leaves one) and retired marks:
   * parts carry them and joins join them, as lives join.
   */
  private static Life plain(Crdt<?> state) {
    if (!(state instanceof Lives lives) || lives.lives().size() != 1) {
      return null;
    }
    Life life = lives.lives().get(0);
    if (life.type() != CrdtType.OR_SET || !life.counterFloor().isEmpty() || life.registerFloor() != 0) {
      return null;
    }
    return ((OrSet) life.data()).deferredRemoves().isEmpty() ? life : null;
  }

  /**
   * {@code ours} holding {@code set}, with the tomb epoch, marks and creation time of {@code ours}
   * and {@code theirs} joined as a merge of the two lives joins them.
   */
  private static Life joinedLife(Life ours, Life theirs, OrSet set) {
    Life shell = ours.withData(OrSet.removedAll(set.context())).merge(theirs.withData(OrSet.removedAll(set.context())));
    return shell.withData(set);
  }

  /**
   * A plain set as a repair by buckets reads it: its life's identity, its size, its bucket hashes
   * and its parts. A set stored one row per element answers these from its rows without being read
   * whole (docs/architecture.md, "Sets").
   */
  public interface Source {
    long shape();

    int size();

    long[] hashes(int count);

    /** The part over {@code buckets} (ascending): their elements and the whole context. */
    Lives part(int count, int[] buckets);

    /**
     * This side's hashes over {@code theirs.length} buckets, the buckets where they differ from
     * {@code theirs}, and this side's part over those — all of one state (null: the key holds no
     * plain set any more).
     */
    default Cut cut(long[] theirs) {
      long[] ours = hashes(theirs.length);
      int[] buckets = differing(ours, theirs);
      return new Cut(ours, buckets, part(theirs.length, buckets));
    }
  }

  /** See {@link Source#cut}. */
  public record Cut(long[] ours, int[] buckets, Lives part) {}

  /** {@code state} as a {@link Source} when it is a plain set; empty otherwise. */
  public static Optional<Source> sourceOf(Crdt<?> state) {
    Optional<Long> shape = shape(state);
    if (shape.isEmpty()) {
      return Optional.empty();
    }
    int size = ((OrSet) plain(state).data()).size();
    return Optional.of(new Source() {
      @Override
      public long shape() {
        return shape.get();
      }

      @Override
      public int size() {
        return size;
      }

      @Override
      public long[] hashes(int count) {
        return SetRepair.hashes(state, count);
      }

      @Override
      public Lives part(int count, int[] buckets) {
        return SetRepair.part(state, count, buckets);
      }
    });
  }

  /** Whether {@code state} is a plain set with at least {@link #ELEMENTS_MIN} elements: worth comparing by buckets. */
  public static boolean large(Crdt<?> state) {
    Life life = plain(state);
    return life != null && ((OrSet) life.data()).size() >= ELEMENTS_MIN;
  }

  /** The identity of a plain set's life (both sides must hold the same one), or empty for another state. */
  public static Optional<Long> shape(Crdt<?> state) {
    Life life = plain(state);
    if (life == null) {
      return Optional.empty();
    }
    long h = Hashing.mix(life.id().replica().high() ^ Hashing.mix(life.id().replica().low() ^ Hashing.mix(life.id().seq())));
    return Optional.of(Hashing.mix(h ^ life.created()));
  }

  /** How many buckets a set of {@code elements} is compared in: a power of two, 16 to {@link #BUCKETS_MAX}. */
  public static int bucketsFor(int elements) {
    int want = Math.max(16, Integer.highestOneBit(Math.max(1, elements / ELEMENTS_PER_BUCKET)));
    return Math.min(BUCKETS_MAX, want);
  }

  /** Whether {@code count} is a bucket count this class would use (from a peer: checked before use). */
  public static boolean validCount(int count) {
    return count >= 16 && count <= BUCKETS_MAX && Integer.bitCount(count) == 1;
  }

  /** The bucket hashes of a plain set; {@code state} must be one ({@link #shape} present). */
  public static long[] hashes(Crdt<?> state, int count) {
    OrSet set = (OrSet) plain(state).data();
    long[] sums = new long[count];
    for (int i = 0; i < set.size(); i++) {
      long h = Hashing.keyHash(set.elementAt(i));
      sums[bucket(h, count)] += elementHash(h, set.dotsAt(i));
    }
    return sums;
  }

  /** An element's share of its bucket's hash, from the element's hash and its dots. */
  static long elementHash(long h, Dot[] elementDots) {
    long dots = 0;
    for (Dot dot : elementDots) {
      dots += dotHash(dot.replica().high(), dot.replica().low(), dot.counter());
    }
    return elementHash(h, dots);
  }

  /** A dot's share of its element's hash. */
  public static long dotHash(long replicaHigh, long replicaLow, long counter) {
    return Hashing.mix(replicaHigh ^ Hashing.mix(replicaLow ^ Hashing.mix(counter)));
  }

  /** An element's share of its bucket's hash, from the element's hash and the sum of its {@link #dotHash}es. */
  public static long elementHash(long h, long dotHashSum) {
    return Hashing.mix(h ^ Hashing.mix(dotHashSum + 0x9e3779b97f4a7c15L));
  }

  /** The buckets where {@code ours} and {@code theirs} differ, ascending. */
  public static int[] differing(long[] ours, long[] theirs) {
    if (ours.length != theirs.length) {
      throw new IllegalArgumentException(ours.length + " buckets against " + theirs.length);
    }
    int[] out = new int[ours.length];
    int n = 0;
    for (int b = 0; b < ours.length; b++) {
      if (ours[b] != theirs[b]) {
        out[n++] = b;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /** The part of a plain set holding the elements of {@code buckets} (ascending) and its whole context. */
  public static Lives part(Crdt<?> state, int count, int[] buckets) {
    Life life = plain(state);
    OrSet set = (OrSet) life.data();
    boolean[] in = mask(count, buckets);
    List<ByteString> elements = new ArrayList<>();
    List<Dot[]> dots = new ArrayList<>();
    for (int i = 0; i < set.size(); i++) {
      if (in[bucket(Hashing.keyHash(set.elementAt(i)), count)]) {
        elements.add(set.elementAt(i));
        dots.add(set.dotsAt(i));
      }
    }
    return Lives.of(life.withData(OrSet.ofSorted(set.context(), elements, dots)));
  }

  /**
   * {@code current} joined with {@code part}, a part over {@code buckets} cut against the hashes
   * of {@code current} (or of an earlier state of it): what joining the sender's whole state would
   * give. Empty when either is not a plain set of the same life — the part is then dropped, and a
   * later exchange repairs the key whole.
   */
  public static Optional<Lives> join(Crdt<?> current, Crdt<?> part, int count, int[] buckets) {
    Life ours = plain(current);
    Life theirs = plain(part);
    if (ours == null || theirs == null || !ours.id().equals(theirs.id()) || ours.created() != theirs.created()) {
      return Optional.empty();
    }
    OrSet set = (OrSet) ours.data();
    OrSet in = (OrSet) theirs.data();
    boolean[] cut = mask(count, buckets);
    for (int i = 0; i < in.size(); i++) {
      if (!cut[bucket(Hashing.keyHash(in.elementAt(i)), count)]) {
        return Optional.empty(); // not a part over these buckets: a broken or hostile peer
      }
    }
    // Ours split in order: the part's buckets join with it; the rest stays as it is.
    List<ByteString> insideElements = new ArrayList<>();
    List<Dot[]> insideDots = new ArrayList<>();
    List<ByteString> outsideElements = new ArrayList<>();
    List<Dot[]> outsideDots = new ArrayList<>();
    for (int i = 0; i < set.size(); i++) {
      boolean inside = cut[bucket(Hashing.keyHash(set.elementAt(i)), count)];
      (inside ? insideElements : outsideElements).add(set.elementAt(i));
      (inside ? insideDots : outsideDots).add(set.dotsAt(i));
    }
    OrSet merged = OrSet.ofSorted(set.context(), insideElements, insideDots).merge(in);
    // Both sides are sorted and hold other elements (other buckets): one ordered pass joins them.
    List<ByteString> elements = new ArrayList<>(outsideElements.size() + merged.size());
    List<Dot[]> dots = new ArrayList<>(elements.size());
    int o = 0;
    for (int m = 0; m < merged.size(); m++) {
      while (o < outsideElements.size() && BYTES.compare(outsideElements.get(o), merged.elementAt(m)) < 0) {
        elements.add(outsideElements.get(o));
        dots.add(outsideDots.get(o++));
      }
      elements.add(merged.elementAt(m));
      dots.add(merged.dotsAt(m));
    }
    elements.addAll(outsideElements.subList(o, outsideElements.size()));
    dots.addAll(outsideDots.subList(o, outsideDots.size()));
    return Optional.of(Lives.of(joinedLife(ours, theirs, OrSet.ofSorted(merged.context(), elements, dots))));
  }

  /** Which of {@code count} buckets {@code buckets} names. */
  private static boolean[] mask(int count, int[] buckets) {
    boolean[] in = new boolean[count];
    for (int b : buckets) {
      in[b] = true;
    }
    return in;
  }

  /** The bucket numbers of a part, checked: ascending, distinct, below {@code count}. */
  public static boolean validBuckets(int count, int[] buckets) {
    for (int i = 0; i < buckets.length; i++) {
      if (buckets[i] < 0 || buckets[i] >= count || (i > 0 && buckets[i] <= buckets[i - 1])) {
        return false;
      }
    }
    return true;
  }

  /**
   * The bucket of an element: the top bits of its hash, so that a bucket is one range of hashes —
   * one range of the rows of a set stored one row per element ({@link #bucketStart}).
   */
  public static int bucket(long elementHash, int count) {
    return (int) (elementHash >>> (64 - Integer.numberOfTrailingZeros(count)));
  }

  /** The least element hash of bucket {@code b} of {@code count}: its rows start there. */
  public static long bucketStart(int b, int count) {
    return (long) b << (64 - Integer.numberOfTrailingZeros(count));
  }

  /**
   * The set part of {@code part} when it may be joined into the split set of life {@code ours}
   * (whose shell is {@code shell}) over {@code buckets}, as {@link #join} would: both plain sets
   * of the same life, every element of the part in those buckets. Null when not: the part is then
   * dropped, as {@link #join} drops it.
   */
  public static OrSet splitPart(Lives shell, Crdt<?> part, int count, int[] buckets) {
    Life ours = shell.lives().size() == 1 ? shell.lives().get(0) : null;
    Life theirs = plain(part);
    if (ours == null || theirs == null || ours.type() != CrdtType.OR_SET || !((OrSet) ours.data()).deferredRemoves().isEmpty()
        || !ours.id().equals(theirs.id()) || ours.created() != theirs.created()) {
      return null;
    }
    OrSet in = (OrSet) theirs.data();
    boolean[] cut = mask(count, buckets);
    for (int i = 0; i < in.size(); i++) {
      if (!cut[bucket(Hashing.keyHash(in.elementAt(i)), count)]) {
        return null;
      }
    }
    return in;
  }
}
