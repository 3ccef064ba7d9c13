package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropy;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.KeyDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A node's durable replica in the simulator: the storage engine's contract (merge, Merkle tree
 * kept up to date in the same step, segment listings) in memory. Writes are durable the moment
 * they are applied, as under {@code sync=always}: a crash loses none of them.
 */
final class MemReplica implements AntiEntropy.Replica {

  private final Map<ByteString, Crdt<?>> states = new HashMap<>();
  private final Map<ByteString, Long> entries = new HashMap<>();
  private final MerkleTree tree = new MerkleTree(8);
  private final Bugs bugs;

  MemReplica(Bugs bugs) {
    this.bugs = bugs;
  }

  /** A copy, as a backup of the directory would be. */
  MemReplica copy() {
    MemReplica c = new MemReplica(bugs);
    states.forEach((k, v) -> c.merge(k, v, false));
    return c;
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
  public boolean merge(ByteString key, Crdt<?> state) {
    return merge(key, state, false);
  }

  /** Joins {@code state} into the key; {@code fromRumor} marks merges that came by rumor. */
  boolean merge(ByteString key, Crdt<?> state, boolean fromRumor) {
    Crdt<?> current = states.get(key);
    Crdt<?> next = current == null ? state : join(current, state);
    if (next.equals(current)) {
      return false;
    }
    states.put(key, next);
    if (fromRumor && bugs.rumorsSkipMerkleTree) {
      return true; // planted bug: the tree misses this write
    }
    long keyHash = Hashing.keyHash(key);
    long entry = Hashing.entryHash(keyHash, next.digest());
    Long old = entries.put(key, entry);
    tree.update(keyHash, old == null ? 0 : old, entry);
    return true;
  }

  private Crdt<?> join(Crdt<?> a, Crdt<?> b) {
    Crdt<?> joined = Crdt.join(a, b);
    if (bugs.setMergeDropsDots && a instanceof OrSet x && b instanceof OrSet y) {
      return Bugs.dropSomeOneSidedDots((OrSet) joined, x, y);
    }
    return joined;
  }

  Map<ByteString, Crdt<?>> states() {
    return states;
  }
}
