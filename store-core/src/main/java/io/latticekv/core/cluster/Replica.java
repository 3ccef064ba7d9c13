package io.latticekv.core.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.lifecycle.LifecycleRecord;
import io.latticekv.core.storage.Store;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.KeyState;
import io.latticekv.core.transport.PeerMessage.StoredState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The local replica as the cluster protocols see it: the storage engine in the server, an
 * in-memory model in the simulator. Every method but {@link #tree()} may touch the disk, so the
 * protocols call them only through a {@link StorageRunner}, never on their own thread.
 *
 * <p>States from other nodes are checked here against the node's state policy (sizes, clock
 * drift, counter range) before anything is stored; a state refused is not stored, and is counted
 * and logged by the implementation.
 */
public interface Replica {

  /** The Merkle tree over the replica's keys, kept current by every write; in memory. */
  MerkleTree tree();

  /** Keys and digests of one segment, sorted by key. */
  List<KeyDigest> segmentEntries(int segment);

  /**
   * A catch-up's read: the full states of {@code segments} as stored, in order, each sorted by
   * key, starting after {@code resumeAfter} (empty: from the start) in the first, until about
   * {@code maxBytes} of states or {@code maxStates} of them (at least one state when there is one).
   */
  StreamChunk streamStates(int[] segments, ByteString resumeAfter, int maxBytes, int maxStates);

  /**
   * What {@link #streamStates} read: the stored states, and where the next read resumes — the
   * index in the segments asked and the last key sent in it — or {@code done} when every segment
   * was read whole.
   */
  record StreamChunk(List<StoredState> states, long bytes, boolean done, int resumeIndex, ByteString resumeAfter) {}

  /**
   * Joins streamed states, as stored by a peer (untrusted: each is decoded and checked), as {@link
   * #mergeAll} does; a replica may store those of keys it holds nothing of as they are, without a
   * merge. Element i says whether the i-th changed the replica; one that does not decode or is
   * refused counts as no change.
   */
  default boolean[] mergeStored(List<StoredState> stored) {
    List<KeyState> states = new java.util.ArrayList<>(stored.size());
    int[] at = new int[stored.size()];
    java.util.Arrays.fill(at, -1);
    for (int i = 0; i < stored.size(); i++) {
      StoredState st = stored.get(i);
      try {
        states.add(st.decode());
        at[i] = states.size() - 1;
      } catch (io.latticekv.core.crdt.CrdtDecodeException e) {
        org.slf4j.LoggerFactory.getLogger(Replica.class).warn("a streamed state of {} does not decode: {}",
            io.latticekv.core.storage.Store.printable(st.key()), e.getMessage());
      }
    }
    boolean[] merged = mergeAll(states);
    boolean[] changed = new boolean[stored.size()];
    for (int i = 0; i < changed.length; i++) {
      changed[i] = at[i] >= 0 && merged[at[i]];
    }
    return changed;
  }

  Optional<Crdt<?>> get(ByteString key);

  /**
   * The plain set at {@code key} as a repair by buckets reads it ({@link
   * io.latticekv.core.crdt.SetRepair.Source}); empty when the key holds anything else. A store
   * answers it from a large set's rows without reading the set whole.
   */
  default Optional<io.latticekv.core.crdt.SetRepair.Source> plainSet(ByteString key) {
    return get(key).flatMap(io.latticekv.core.crdt.SetRepair::sourceOf);
  }

  /**
   * Joins each state into its key, as one batch, without waiting for durability (rumors and
   * repairs are re-sent if lost). Element i says whether the i-th changed the replica; a state
   * refused by the policy counts as no change.
   */
  boolean[] mergeAll(List<KeyState> states);

  /**
   * Joins each part of a large set into its key ({@link io.latticekv.core.crdt.SetRepair#join}), as
   * one batch, like {@link #mergeAll}; a part whose key holds no plain set of the same life is
   * dropped (no change).
   */
  boolean[] mergeParts(List<io.latticekv.core.transport.PeerMessage.SetPart> parts);

  /**
   * Joins one state and completes once it is durable (a replica write at {@code w > 1}); fails with
   * the reason when the state is refused.
   */
  CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state);

  // ---------------------------------------------------------------- lifecycle (docs/lifecycle.md)

  /** The id this life of the replica writes under. */
  NodeId replicaId();

  /** The cluster epoch the replica is at, in memory; -1 for one that never took part in an epoch. */
  long epoch();

  /** Moves to epoch {@code next}, durably (never backwards). */
  void setEpoch(long next);

  /** Takes epoch {@code next} even below the current one, durably: a node that never took part in a cluster's epoch joins one. */
  void resetEpoch(long next);

  /** What the lifecycle last saved; {@link LifecycleRecord#empty()} when nothing (or damaged). */
  LifecycleRecord lifecycleRecord();

  /** Saves the lifecycle's record, durably. */
  void saveLifecycleRecord(LifecycleRecord record);

  /** One step of the lifecycle sweep (see {@link Store#sweep}). */
  io.latticekv.core.storage.SweepStep sweep(byte[] from, int maxKeys, List<NodeId> retire);

  /** The replica ids due for pruning at {@code epoch} (see {@link Store#retiredToPrune}). */
  List<NodeId> retiredToPrune(long epoch);

  /** A whole sweep found no key naming {@code id}: its pruning is done. */
  void markPruned(NodeId id);

  /** Takes over pruning {@code id}, a removed member's, from {@code epoch} on. */
  void adopt(NodeId id, long epoch);

  /**
   * Whether a write stored a tombstone or a retired mark since the last call (which clears it): the
   * sweep has work at a later epoch. In memory, like {@link #tree()}.
   */
  boolean takeLifecycleWork();

  /**
   * Drops every key (a node restored from a backup older than the cluster's horizon) but what this
   * life wrote to it ({@link #keepOwnWrites}), which stays in the same step under the key's lock.
   * Those writes stay kept: the node may learn of a further epoch and discard again before it
   * first moves its epoch on ({@link #forgetOwnWrites}), and that discard must keep them too.
   */
  Discarded discardAll();

  /** What {@link #discardAll} did: keys dropped, and the writes of this life it kept (to spread again). */
  record Discarded(long dropped, List<Map.Entry<ByteString, Lives>> kept) {}

  /**
   * Starts keeping the client writes of this life, per key, for a discard that may come (bounded;
   * see {@link io.latticekv.core.storage.OwnWrites}). In memory, like {@link #tree()}.
   */
  void keepOwnWrites();

  /** Stops keeping them: no discard can come any more. In memory. */
  void forgetOwnWrites();

  /** Whether more keys were written than could be kept: a discard would lose writes. In memory. */
  boolean ownWritesOverflowed();
}
