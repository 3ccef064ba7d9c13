package io.latticekv.core.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.TypeMismatch;
import io.latticekv.core.lifecycle.LifecycleRecord;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.storage.OwnWrites;
import io.latticekv.core.storage.RetiredIds;
import io.latticekv.core.storage.SweepStep;
import io.latticekv.core.transport.PeerMessage.KeyState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A node's durable replica in the simulator: the storage engine's contract (key states as {@link
 * Lives}, collection on every write, the Merkle tree kept up to date in the same step, segment
 * listings, the epoch, replica id history and the lifecycle sweep) in memory. Writes are durable
 * the moment they are applied, as under {@code sync=always}: a crash loses none of them. Tests that
 * plant bugs override {@link #join}, {@link #collect} or {@link #updatesTree}.
 */
public class SimReplica implements Replica {

  private final TreeMap<ByteString, Lives> states = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
  private final Map<ByteString, Long> entries = new java.util.HashMap<>();
  private final MerkleTree tree = new MerkleTree(8);
  private long epoch = -1;
  private LifecycleRecord record = LifecycleRecord.empty();
  /** Replica ids this replica wrote under, oldest first, with the epoch each started at and whether it is pruned. */
  private final LinkedHashMap<NodeId, long[]> history = new LinkedHashMap<>();
  private final LinkedHashMap<NodeId, long[]> adopted = new LinkedHashMap<>();
  private NodeId replicaId;
  private Supplier<HlcTimestamp> clock = () -> new HlcTimestamp(0);
  private long lifeSeq;
  private boolean lifecycleWork;
  private final OwnWrites ownWrites = new OwnWrites();

  /** A copy, as a backup of the directory would be; {@code into} is a fresh replica of the same kind. */
  public <R extends SimReplica> R copyInto(R into) {
    SimReplica copy = into;
    states.forEach((k, v) -> copy.merge(k, v, false));
    copy.epoch = epoch;
    copy.record = record;
    history.forEach((id, r) -> copy.history.put(id, r.clone()));
    adopted.forEach((id, r) -> copy.adopted.put(id, r.clone()));
    copy.lifeSeq = lifeSeq;
    return into;
  }

  /** A new life of the node: it writes under {@code id} from now on, with {@code clock}. */
  public void startLife(NodeId id, Supplier<HlcTimestamp> clock) {
    this.replicaId = id;
    this.clock = clock;
    history.putIfAbsent(id, new long[] {Math.max(0, epoch), 0});
  }

  /** The delta of a client's update here, applied (as the store computes and applies it). */
  public Lives update(ByteString key, CrdtUpdate update) {
    Lives current = states.getOrDefault(key, Lives.empty());
    Lives delta = update.delta(current, new CrdtUpdate.Writer(replicaId, clock, Math.max(0, epoch), () -> ++lifeSeq));
    if (merge(key, delta, false)) {
      ownWrites.add(key, delta);
    }
    return delta;
  }

  /** A client's write of {@code delta} here, applied (and kept while a discard may come, as the store keeps it). */
  public void write(ByteString key, Crdt<?> delta) {
    if (merge(key, delta, false)) {
      ownWrites.add(key, Lives.of(delta));
    }
  }

  @Override
  public MerkleTree tree() {
    return tree;
  }

  @Override
  public List<KeyDigest> segmentEntries(int segment) {
    List<KeyDigest> out = new ArrayList<>();
    for (Map.Entry<ByteString, Lives> e : states.entrySet()) {
      if (tree.segmentOf(Hashing.keyHash(e.getKey())) == segment) {
        out.add(new KeyDigest(e.getKey(), e.getValue().digest()));
      }
    }
    return out;
  }

  @Override
  public StreamChunk streamStates(int[] segments, ByteString resumeAfter, int maxBytes, int maxStates) {
    List<io.latticekv.core.transport.PeerMessage.StoredState> out = new ArrayList<>();
    long bytes = 0;
    java.util.Comparator<ByteString> order = ByteString.unsignedLexicographicalComparator();
    for (int i = 0; i < segments.length; i++) {
      ByteString last = ByteString.EMPTY;
      for (Map.Entry<ByteString, Lives> e : states.entrySet()) {
        if (tree.segmentOf(Hashing.keyHash(e.getKey())) != segments[i]
            || (i == 0 && !resumeAfter.isEmpty() && order.compare(e.getKey(), resumeAfter) <= 0)) {
          continue;
        }
        if ((bytes >= maxBytes || out.size() >= maxStates) && !out.isEmpty()) {
          return new StreamChunk(out, bytes, false, i, last);
        }
        byte[] encoded = e.getValue().encode();
        out.add(new io.latticekv.core.transport.PeerMessage.StoredState(e.getKey(), ByteString.copyFrom(encoded)));
        bytes += encoded.length + e.getKey().size();
        last = e.getKey();
      }
    }
    return new StreamChunk(out, bytes, true, segments.length, ByteString.EMPTY);
  }

  @Override
  public Optional<Crdt<?>> get(ByteString key) {
    return Optional.ofNullable(states.get(key));
  }

  @Override
  public boolean[] mergeAll(List<KeyState> batch) {
    boolean[] changed = new boolean[batch.size()];
    for (int i = 0; i < changed.length; i++) {
      changed[i] = merge(batch.get(i).key(), batch.get(i).state(), true);
    }
    return changed;
  }

  @Override
  public boolean[] mergeParts(List<io.latticekv.core.transport.PeerMessage.SetPart> parts) {
    boolean[] changed = new boolean[parts.size()];
    for (int i = 0; i < changed.length; i++) {
      io.latticekv.core.transport.PeerMessage.SetPart part = parts.get(i);
      Lives current = states.get(part.key());
      java.util.Optional<Lives> joined = current == null ? java.util.Optional.empty()
          : io.latticekv.core.crdt.SetRepair.join(current, part.state(), part.count(), part.buckets());
      changed[i] = joined.isPresent() && merge(part.key(), joined.get(), true);
    }
    return changed;
  }

  @Override
  public CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state) {
    if (mismatched(states.get(key), state)) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("key holds a "
          + states.get(key).visibleType().orElseThrow().displayName() + ", not a " + state.type().displayName()));
    }
    merge(key, state, true);
    return CompletableFuture.completedFuture(null);
  }

  /** A whole state of one type (a client's merge) into a key that reads as another: refused, as the store refuses it. */
  private static boolean mismatched(Lives current, Crdt<?> state) {
    return current != null && !(state instanceof Lives) && current.visibleType().isPresent()
        && current.visibleType().get() != state.type();
  }

  /**
   * Joins {@code state} into the key, then drops what the epoch lets go ({@link Lives#collect});
   * {@code fromPeer} marks merges that came from another node. Returns whether the key changed.
   */
  public boolean merge(ByteString key, Crdt<?> state, boolean fromPeer) {
    Lives current = states.get(key);
    if (mismatched(current, state)) {
      return false;
    }
    Lives next = collect(current == null ? Lives.of(state) : join(current, Lives.of(state)), Math.max(0, epoch));
    if (next.equals(current == null ? Lives.empty() : current)) {
      return false;
    }
    if (next.isEmpty()) {
      states.remove(key);
    } else {
      states.put(key, next);
      lifecycleWork |= next.hasTombstones();
    }
    if (!updatesTree(fromPeer)) {
      return true;
    }
    long keyHash = Hashing.keyHash(key);
    long entry = next.isEmpty() ? 0 : Hashing.entryHash(keyHash, next.digest());
    Long old = next.isEmpty() ? entries.remove(key) : entries.put(key, entry);
    tree.update(keyHash, old == null ? 0 : old, entry);
    return true;
  }

  /** The join of two states of a key; a planted bug overrides it. */
  protected Lives join(Lives a, Lives b) {
    return a.merge(b);
  }

  /** What the epoch lets a state drop; a planted bug overrides it. */
  protected Lives collect(Lives state, long atEpoch) {
    return state.collect(atEpoch);
  }

  /** The delta of pruning {@code named} from a key (the sweep's); a planted bug overrides it. */
  protected Lives retire(Lives state, List<NodeId> named, CrdtUpdate.Writer writer) {
    try {
      return new CrdtUpdate.Retire(named).delta(state, writer);
    } catch (TypeMismatch impossible) {
      throw new AssertionError(impossible);
    }
  }

  /** Whether this merge moves the Merkle tree; a planted bug says no for merges from peers. */
  protected boolean updatesTree(boolean fromPeer) {
    return true;
  }

  public Map<ByteString, Lives> states() {
    return states;
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public NodeId replicaId() {
    return replicaId;
  }

  @Override
  public long epoch() {
    return epoch;
  }

  @Override
  public void setEpoch(long next) {
    if (next < epoch) {
      throw new IllegalArgumentException("epochs never go back: " + epoch + " to " + next);
    }
    epoch = next;
  }

  @Override
  public void resetEpoch(long next) {
    epoch = next;
    if (replicaId != null && history.containsKey(replicaId)) {
      history.get(replicaId)[0] = Math.max(0, next); // as the store: this life counts from here
    }
  }

  @Override
  public LifecycleRecord lifecycleRecord() {
    return record;
  }

  @Override
  public void saveLifecycleRecord(LifecycleRecord record) {
    this.record = record;
  }

  @Override
  public SweepStep sweep(byte[] from, int maxKeys, List<NodeId> retire) {
    Set<NodeId> toRetire = new HashSet<>(retire);
    Set<NodeId> seen = new HashSet<>();
    List<Map.Entry<ByteString, Lives>> deltas = new ArrayList<>();
    long at = Math.max(0, epoch);
    long dead = 0;
    long marks = 0;
    int visited = 0;
    int changed = 0;
    int removed = 0;
    Map<ByteString, Lives> tail = from == null ? states : states.tailMap(ByteString.copyFrom(from), true);
    List<Map.Entry<ByteString, Lives>> batch = new ArrayList<>();
    byte[] next = null;
    for (Map.Entry<ByteString, Lives> e : tail.entrySet()) {
      if (batch.size() >= maxKeys) {
        next = e.getKey().toByteArray();
        break;
      }
      batch.add(Map.entry(e.getKey(), e.getValue()));
    }
    for (Map.Entry<ByteString, Lives> e : batch) {
      visited++;
      Lives state = e.getValue();
      SweepStep.KeyVisit visit = SweepStep.KeyVisit.of(state, toRetire, at);
      List<NodeId> named = visit.named();
      seen.addAll(named);
      dead += visit.deadLives();
      marks += visit.retiredMarks();
      if (!visit.needsWrite()) {
        continue;
      }
      Lives delta = retire(state, named, new CrdtUpdate.Writer(replicaId, clock, at, () -> ++lifeSeq));
      if (merge(e.getKey(), delta, false)) {
        changed++;
        removed += states.containsKey(e.getKey()) ? 0 : 1;
        if (!delta.isEmpty()) {
          deltas.add(Map.entry(e.getKey(), delta));
        }
      }
    }
    return new SweepStep(next, visited, changed, removed, deltas, seen, dead, marks);
  }

  @Override
  public List<NodeId> retiredToPrune(long atEpoch) {
    return RetiredIds.due(retired(history), replicaId, retired(adopted), atEpoch); // the store's own rule
  }

  private static List<RetiredIds.Retired> retired(Map<NodeId, long[]> records) {
    List<RetiredIds.Retired> out = new ArrayList<>();
    records.forEach((id, r) -> out.add(new RetiredIds.Retired(id, r[0], r[1] != 0)));
    return out;
  }

  @Override
  public void markPruned(NodeId id) {
    for (Map<NodeId, long[]> m : List.of(history, adopted)) {
      long[] r = m.get(id);
      if (r != null) {
        r[1] = 1;
      }
    }
  }

  @Override
  public void adopt(NodeId id, long atEpoch) {
    adopted.putIfAbsent(id, new long[] {atEpoch, 0});
  }

  @Override
  public boolean takeLifecycleWork() {
    boolean work = lifecycleWork;
    lifecycleWork = false;
    return work;
  }

  @Override
  public Discarded discardAll() {
    long n = states.size();
    for (ByteString key : new ArrayList<>(states.keySet())) {
      states.remove(key);
      Long old = entries.remove(key);
      tree.update(Hashing.keyHash(key), old == null ? 0 : old, 0);
      Lives own = ownWrites.of(key);
      if (own != null) {
        merge(key, own, false);
      }
    }
    return new Discarded(n, ownWrites.entries()); // still kept: another discard may come
  }

  @Override
  public void keepOwnWrites() {
    ownWrites.open();
  }

  @Override
  public void forgetOwnWrites() {
    ownWrites.close();
  }

  @Override
  public boolean ownWritesOverflowed() {
    return ownWrites.overflowed();
  }

  /** The replica ids this replica ever wrote under, oldest first. */
  public List<NodeId> history() {
    return new ArrayList<>(history.keySet());
  }
}
