package io.latticekv.core.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.KeyState;
import java.util.List;
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

  Optional<Crdt<?>> get(ByteString key);

  /**
   * Joins each state into its key, as one batch, without waiting for durability (rumors and
   * repairs are re-sent if lost). Element i says whether the i-th changed the replica; a state
   * refused by the policy counts as no change.
   */
  boolean[] mergeAll(List<KeyState> states);

  /**
   * Joins one state and completes once it is durable (a replica write at {@code w > 1}); fails with
   * the reason when the state is refused.
   */
  CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state);
}
