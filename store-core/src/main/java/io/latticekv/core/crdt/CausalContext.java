package io.latticekv.core.crdt;

import io.latticekv.proto.CausalContextState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of dots, stored as a version vector plus the dots seen beyond it: the causal context of
 * Almeida, Shoker and Baquero, "Delta State Replicated Data Types" (2018), section 5.
 *
 * <p>Why not a bare version vector: rumors do not deliver deltas in causal order. A replica that
 * receives dot {@code (r, 7)} before {@code (r, 6)} must not claim to have seen {@code (r, 6)}, or
 * the add that {@code (r, 6)} names would be dropped as "already removed" when it arrives, on
 * every replica. So the context keeps the gap: {@code vv[r] = 5} plus the cloud dot {@code (r, 7)}.
 * When {@code (r, 6)} arrives the gap fills and the context compacts back to {@code vv[r] = 7}.
 *
 * <p>Invariants, held by every instance: the version vector is sorted by replica and has no zero
 * entries; the cloud is sorted, and every cloud dot of replica {@code r} has a counter of at least
 * {@code vv[r] + 2} (anything lower would have been folded into the vector: the context is always
 * compacted). Equal sets of dots therefore have equal representations.
 *
 * <p>Immutable.
 */
public final class CausalContext {

  private static final CausalContext EMPTY =
      new CausalContext(new NodeId[0], new long[0], new Dot[0]);

  private final NodeId[] replicas;
  private final long[] vv;
  private final Dot[] cloud;

  private CausalContext(NodeId[] replicas, long[] vv, Dot[] cloud) {
    this.replicas = replicas;
    this.vv = vv;
    this.cloud = cloud;
  }

  public static CausalContext empty() {
    return EMPTY;
  }

  /** The context that holds exactly {@code dots}, compacted. */
  public static CausalContext ofDots(Collection<Dot> dots) {
    return compact(new TreeMap<>(), dots.toArray(new Dot[0]));
  }

  /**
   * A context from a version vector and a cloud in any order; compacts it. Used by decoding, which
   * validates the parts first.
   */
  static CausalContext of(Map<NodeId, Long> versionVector, Collection<Dot> cloud) {
    TreeMap<NodeId, Long> vector = new TreeMap<>();
    versionVector.forEach(
        (replica, counter) -> {
          if (counter > 0) {
            vector.put(replica, counter);
          }
        });
    return compact(vector, cloud.toArray(new Dot[0]));
  }

  /** Folds every cloud dot that extends its replica's vector entry into the vector. */
  private static CausalContext compact(TreeMap<NodeId, Long> vector, Dot[] dots) {
    NodeId[] replicas = vector.keySet().toArray(new NodeId[0]);
    long[] counters = new long[replicas.length];
    for (int i = 0; i < replicas.length; i++) {
      counters[i] = vector.get(replicas[i]);
    }
    return compact(replicas, counters, dots);
  }

  /**
   * Folds every cloud dot that extends its replica's vector entry into the vector, on sorted
   * arrays: {@code replicas} sorted and unique with positive {@code counters}; {@code dots} in any
   * order (sorted here). Runs in one pass after the sort, with no maps: this is on the path of
   * every set write.
   */
  private static CausalContext compact(NodeId[] replicas, long[] counters, Dot[] dots) {
    Arrays.sort(dots);
    // Replicas that appear only in the cloud may join the vector: size for the worst case.
    NodeId[] outReplicas = new NodeId[replicas.length + dots.length];
    long[] outCounters = new long[outReplicas.length];
    List<Dot> rest = new ArrayList<>();
    int r = 0;
    int n = 0;
    int d = 0;
    while (r < replicas.length || d < dots.length) {
      // The next replica in order, from the vector or from the cloud.
      NodeId replica;
      long seen;
      if (d == dots.length || (r < replicas.length && replicas[r].compareTo(dots[d].replica()) <= 0)) {
        replica = replicas[r];
        seen = counters[r++];
      } else {
        replica = dots[d].replica();
        seen = 0;
      }
      // One pass suffices: a replica's dots are visited in increasing counter order, so a dot
      // that fills a gap is folded in before the dots that follow it are looked at.
      for (; d < dots.length && dots[d].replica().equals(replica); d++) {
        Dot dot = dots[d];
        if (dot.counter() == seen + 1) {
          seen = dot.counter();
        } else if (dot.counter() > seen + 1 && (rest.isEmpty() || !rest.get(rest.size() - 1).equals(dot))) {
          rest.add(dot);
        }
        // Otherwise the dot is already in the vector, or a duplicate of the cloud dot before it.
      }
      if (seen > 0) {
        outReplicas[n] = replica;
        outCounters[n++] = seen;
      }
    }
    if (n == 0 && rest.isEmpty()) {
      return EMPTY;
    }
    return new CausalContext(
        Arrays.copyOf(outReplicas, n), Arrays.copyOf(outCounters, n), rest.toArray(new Dot[0]));
  }

  /**
   * Every dot this context has seen, when there are at most {@code max} of them; null when there
   * are more. A delta's context is a handful of dots; a state's, every add it ever saw.
   */
  List<Dot> dotsUpTo(int max) {
    long count = cloud.length;
    for (long counter : vv) {
      count += counter;
      if (count > max) {
        return null;
      }
    }
    if (count > max) {
      return null;
    }
    List<Dot> dots = new ArrayList<>((int) count);
    for (int i = 0; i < replicas.length; i++) {
      for (long c = 1; c <= vv[i]; c++) {
        dots.add(new Dot(replicas[i], c));
      }
    }
    dots.addAll(Arrays.asList(cloud));
    return dots;
  }

  /** Whether this context has seen {@code dot}. */
  public boolean contains(Dot dot) {
    if (dot.counter() <= versionOf(dot.replica())) {
      return true;
    }
    return cloud.length > 0 && Arrays.binarySearch(cloud, dot) >= 0;
  }

  /** The contiguous counter of {@code replica}: every dot up to it has been seen. */
  public long versionOf(NodeId replica) {
    int at = Arrays.binarySearch(replicas, replica);
    return at >= 0 ? vv[at] : 0;
  }

  /** The highest counter of {@code replica} this context has seen, gaps or not. */
  public long maxCounterOf(NodeId replica) {
    long max = versionOf(replica);
    for (Dot dot : cloud) {
      if (dot.replica().equals(replica)) {
        max = Math.max(max, dot.counter());
      }
    }
    return max;
  }

  /** The next dot {@code replica} should use for a new event under this context. */
  public Dot nextDot(NodeId replica) {
    long max = maxCounterOf(replica);
    if (max == Long.MAX_VALUE) {
      throw new CounterOverflowException("replica " + replica + " has used every dot counter");
    }
    return new Dot(replica, max + 1);
  }

  /** Whether every dot of {@code other} is in this context. */
  public boolean covers(CausalContext other) {
    for (int i = 0; i < other.replicas.length; i++) {
      // Compacted: if our vector entry is lower, the next dot is not in our cloud.
      if (versionOf(other.replicas[i]) < other.vv[i]) {
        return false;
      }
    }
    for (Dot dot : other.cloud) {
      if (!contains(dot)) {
        return false;
      }
    }
    return true;
  }

  /** The union of two contexts, compacted. */
  public CausalContext merge(CausalContext other) {
    if (other.isEmpty() || other == this) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    // Pointwise maximum of the two vectors, by a merge of their sorted replica arrays.
    NodeId[] replicas = new NodeId[this.replicas.length + other.replicas.length];
    long[] counters = new long[replicas.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < this.replicas.length || j < other.replicas.length) {
      int order = i == this.replicas.length ? 1
          : j == other.replicas.length ? -1
          : this.replicas[i].compareTo(other.replicas[j]);
      if (order < 0) {
        replicas[n] = this.replicas[i];
        counters[n++] = vv[i++];
      } else if (order > 0) {
        replicas[n] = other.replicas[j];
        counters[n++] = other.vv[j++];
      } else {
        replicas[n] = this.replicas[i];
        counters[n++] = Math.max(vv[i++], other.vv[j++]);
      }
    }
    Dot[] dots = Arrays.copyOf(cloud, cloud.length + other.cloud.length);
    System.arraycopy(other.cloud, 0, dots, cloud.length, other.cloud.length);
    return compact(Arrays.copyOf(replicas, n), Arrays.copyOf(counters, n), dots);
  }

  /** This context plus {@code dots}. */
  public CausalContext with(Collection<Dot> dots) {
    if (dots.isEmpty()) {
      return this;
    }
    Dot[] all = Arrays.copyOf(cloud, cloud.length + dots.size());
    int i = cloud.length;
    for (Dot dot : dots) {
      all[i++] = dot;
    }
    return compact(replicas, vv, all);
  }

  public boolean isEmpty() {
    return replicas.length == 0 && cloud.length == 0;
  }

  /** Whether any dot of {@code replica} is in this context. */
  public boolean mentions(NodeId replica) {
    if (Arrays.binarySearch(replicas, replica) >= 0) {
      return true;
    }
    for (Dot dot : cloud) {
      if (dot.replica().equals(replica)) {
        return true;
      }
    }
    return false;
  }

  /** This context without any dot of {@code replica}. */
  CausalContext withoutReplica(NodeId replica) {
    if (!mentions(replica)) {
      return this;
    }
    TreeMap<NodeId, Long> vector = vectorAsMap();
    vector.remove(replica);
    List<Dot> rest = new ArrayList<>();
    for (Dot dot : cloud) {
      if (!dot.replica().equals(replica)) {
        rest.add(dot);
      }
    }
    return of(vector, rest);
  }

  /** How many dots this context holds (the version vector's counters count every dot up to them). */
  public long size() {
    long n = cloud.length;
    for (long counter : vv) {
      n += counter;
    }
    return n;
  }

  /** The version vector, sorted by replica. */
  public TreeMap<NodeId, Long> vectorAsMap() {
    TreeMap<NodeId, Long> vector = new TreeMap<>();
    for (int i = 0; i < replicas.length; i++) {
      vector.put(replicas[i], vv[i]);
    }
    return vector;
  }

  /** The dots beyond the version vector, sorted. */
  public List<Dot> cloud() {
    return List.of(cloud);
  }

  /** Every replica this context mentions, sorted. */
  List<NodeId> replicas() {
    TreeMap<NodeId, Boolean> all = new TreeMap<>();
    for (NodeId replica : replicas) {
      all.put(replica, Boolean.TRUE);
    }
    for (Dot dot : cloud) {
      all.put(dot.replica(), Boolean.TRUE);
    }
    return new ArrayList<>(all.keySet());
  }

  /**
   * The canonical protobuf form, with {@code table} as the replica table (sorted; a superset of
   * {@link #replicas()}). An OR-Set passes its own table so that its elements can refer to it.
   */
  CausalContextState toProto(List<NodeId> table) {
    CausalContextState.Builder builder = CausalContextState.newBuilder();
    for (NodeId replica : table) {
      builder.addReplicas(replica.toBytes());
      builder.addVv(versionOf(replica));
    }
    for (Dot dot : cloud) {
      builder.addCloudReplica(indexOf(table, dot.replica()));
      builder.addCloudCounter(dot.counter());
    }
    return builder.build();
  }

  /** The canonical protobuf form of this context on its own. */
  public CausalContextState toProto() {
    return toProto(replicas());
  }

  static int indexOf(List<NodeId> table, NodeId replica) {
    int at = java.util.Collections.binarySearch(table, replica);
    if (at < 0) {
      throw new IllegalStateException("replica " + replica + " missing from the replica table");
    }
    return at;
  }

  /**
   * Decodes and validates a context. Returns the replica table alongside, for states whose other
   * fields refer to replicas by index.
   */
  static Decoded fromProto(CausalContextState state) throws CrdtDecodeException {
    int n = state.getReplicasCount();
    if (state.getVvCount() != n) {
      throw new CrdtDecodeException(
          "causal context has " + n + " replicas but " + state.getVvCount() + " vector entries");
    }
    if (state.getCloudReplicaCount() != state.getCloudCounterCount()) {
      throw new CrdtDecodeException("causal context cloud arrays differ in length");
    }
    NodeId[] table = new NodeId[n];
    TreeMap<NodeId, Long> vector = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      table[i] = NodeId.fromBytes(state.getReplicas(i));
      if (i > 0 && table[i - 1].compareTo(table[i]) >= 0) {
        throw new CrdtDecodeException("causal context replicas are not sorted and unique");
      }
      long counter = state.getVv(i);
      if (counter < 0) {
        throw new CrdtDecodeException("causal context counter out of range: " + counter);
      }
      vector.put(table[i], counter);
    }
    List<Dot> dots = new ArrayList<>(state.getCloudReplicaCount());
    for (int i = 0; i < state.getCloudReplicaCount(); i++) {
      dots.add(dotAt(table, state.getCloudReplica(i), state.getCloudCounter(i)));
    }
    return new Decoded(List.of(table), of(vector, dots));
  }

  static Dot dotAt(NodeId[] table, int replicaIndex, long counter) throws CrdtDecodeException {
    if (replicaIndex < 0 || replicaIndex >= table.length) {
      throw new CrdtDecodeException(
          "replica index " + Integer.toUnsignedString(replicaIndex) + " out of range");
    }
    if (counter < 1) {
      throw new CrdtDecodeException(
          "dot counter out of range: " + Long.toUnsignedString(counter));
    }
    return new Dot(table[replicaIndex], counter);
  }

  record Decoded(List<NodeId> table, CausalContext context) {}

  @Override
  public boolean equals(Object o) {
    return o instanceof CausalContext other
        && Arrays.equals(replicas, other.replicas)
        && Arrays.equals(vv, other.vv)
        && Arrays.equals(cloud, other.cloud);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(replicas) + Arrays.hashCode(vv)) + Arrays.hashCode(cloud);
  }

  @Override
  public String toString() {
    return "{vv=" + vectorAsMap() + ", cloud=" + Arrays.toString(cloud) + "}";
  }
}
