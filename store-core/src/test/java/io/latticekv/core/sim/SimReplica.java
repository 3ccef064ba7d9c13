package io.latticekv.core.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.KeyState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A node's durable replica in the simulator: the storage engine's contract (merge, Merkle tree
 * kept up to date in the same step, segment listings) in memory. Writes are durable the moment
 * they are applied, as under {@code sync=always}: a crash loses none of them. Tests that plant
 * bugs override {@link #join} or {@link #updatesTree}.
 */
public class SimReplica implements Replica {

  private final Map<ByteString, Crdt<?>> states = new HashMap<>();
  private final Map<ByteString, Long> entries = new HashMap<>();
  private final MerkleTree tree = new MerkleTree(8);

  /** A copy, as a backup of the directory would be; {@code into} is a fresh replica of the same kind. */
  public <R extends SimReplica> R copyInto(R into) {
    states.forEach((k, v) -> into.merge(k, v, false));
    return into;
  }

  @Override
  public MerkleTree tree() {
    return tree;
  }

  @Override
  public List<KeyDigest> segmentEntries(int segment) {
    TreeMap<ByteString, Long> sorted = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
    for (Map.Entry<ByteString, Crdt<?>> e : states.entrySet()) {
      if (tree.segmentOf(Hashing.keyHash(e.getKey())) == segment) {
        sorted.put(e.getKey(), e.getValue().digest());
      }
    }
    List<KeyDigest> out = new ArrayList<>();
    sorted.forEach((k, d) -> out.add(new KeyDigest(k, d)));
    return out;
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
  public CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state) {
    Crdt<?> current = states.get(key);
    if (current != null && current.type() != state.type()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("key holds a "
          + current.type().displayName() + ", not a " + state.type().displayName()));
    }
    merge(key, state, true);
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Joins {@code state} into the key; {@code fromPeer} marks merges that came from another node.
   * A state of another type than the key's is refused (returns false), as the store refuses it.
   */
  public boolean merge(ByteString key, Crdt<?> state, boolean fromPeer) {
    Crdt<?> current = states.get(key);
    if (current != null && current.type() != state.type()) {
      return false;
    }
    Crdt<?> next = current == null ? state : join(current, state);
    if (next.equals(current)) {
      return false;
    }
    states.put(key, next);
    if (!updatesTree(fromPeer)) {
      return true;
    }
    long keyHash = Hashing.keyHash(key);
    long entry = Hashing.entryHash(keyHash, next.digest());
    Long old = entries.put(key, entry);
    tree.update(keyHash, old == null ? 0 : old, entry);
    return true;
  }

  /** The join of two states of a key; a planted bug overrides it. */
  protected Crdt<?> join(Crdt<?> a, Crdt<?> b) {
    return Crdt.join(a, b);
  }

  /** Whether this merge moves the Merkle tree; a planted bug says no for merges from peers. */
  protected boolean updatesTree(boolean fromPeer) {
    return true;
  }

  public Map<ByteString, Crdt<?>> states() {
    return states;
  }
}
