package io.latticekv.core.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.lifecycle.LifecycleRecord;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.storage.Store;
import io.latticekv.core.transport.PeerMessage.KeyState;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A {@link Store} as the cluster protocols' replica: merges from peers are ordinary writes through
 * the engine, which applies the state policy to each; a refused one is counted and logged by the
 * store and skipped here.
 */
public final class StoreReplica implements Replica {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StoreReplica.class);

  private final Store store;

  public StoreReplica(Store store) {
    this.store = store;
  }

  @Override
  public MerkleTree tree() {
    return store.tree();
  }

  @Override
  public List<KeyDigest> segmentEntries(int segment) {
    return store.segmentEntries(segment);
  }

  @Override
  public StreamChunk streamStates(int[] segments, ByteString resumeAfter, int maxBytes, int maxStates) {
    return store.streamStates(segments, resumeAfter, maxBytes, maxStates);
  }

  @Override
  public boolean[] mergeStored(List<io.latticekv.core.transport.PeerMessage.StoredState> stored) {
    return store.mergeStored(stored);
  }

  @Override
  public Optional<Crdt<?>> get(ByteString key) {
    return store.get(key).map(state -> (Crdt<?>) state);
  }

  @Override
  public Optional<io.latticekv.core.crdt.SetRepair.Source> plainSet(ByteString key) {
    return store.plainSet(key);
  }

  @Override
  public boolean[] mergeAll(List<KeyState> states) {
    List<Store.Write> writes = new ArrayList<>(states.size());
    for (KeyState ks : states) {
      writes.add(new Store.Write(ks.key(), new CrdtUpdate.JoinState(ks.state()), Store.Origin.PEER));
    }
    return changed(store.applyAll(writes));
  }

  @Override
  public boolean[] mergeParts(List<io.latticekv.core.transport.PeerMessage.SetPart> parts) {
    List<Store.Write> writes = new ArrayList<>(parts.size());
    for (io.latticekv.core.transport.PeerMessage.SetPart part : parts) {
      writes.add(new Store.Write(part.key(), new CrdtUpdate.JoinPart(part.state(), part.count(), part.buckets()),
          Store.Origin.PEER));
    }
    return changed(store.applyAll(writes));
  }

  private static boolean[] changed(List<Store.Outcome> outcomes) {
    boolean[] changed = new boolean[outcomes.size()];
    for (int i = 0; i < changed.length; i++) {
      Store.Outcome outcome = outcomes.get(i);
      changed[i] = outcome.refused() == null && outcome.applied().changed();
    }
    return changed;
  }

  @Override
  public CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state) {
    Store.Outcome outcome = store.applyAll(List.of(
        new Store.Write(key, new CrdtUpdate.JoinState(state), Store.Origin.PEER))).get(0);
    if (outcome.refused() != null) {
      return CompletableFuture.failedFuture(outcome.refused());
    }
    return outcome.applied().durable();
  }

  @Override
  public NodeId replicaId() {
    return store.replicaId();
  }

  @Override
  public long epoch() {
    return store.epoch();
  }

  @Override
  public void setEpoch(long next) {
    store.setEpoch(next);
  }

  @Override
  public void resetEpoch(long next) {
    store.resetEpoch(next);
  }

  @Override
  public LifecycleRecord lifecycleRecord() {
    byte[] bytes = store.clusterRecord();
    if (bytes == null) {
      return LifecycleRecord.empty();
    }
    try {
      return LifecycleRecord.decode(bytes);
    } catch (java.io.IOException e) {
      log.error("the lifecycle record of this data directory is damaged ({}): starting from an empty one; "
          + "members removed before must be removed again", e.getMessage());
      return LifecycleRecord.empty();
    }
  }

  @Override
  public void saveLifecycleRecord(LifecycleRecord record) {
    store.saveClusterRecord(record.encode());
  }

  @Override
  public io.latticekv.core.storage.SweepStep sweep(byte[] from, int maxKeys, List<NodeId> retire) {
    return store.sweep(from, maxKeys, retire);
  }

  @Override
  public List<NodeId> retiredToPrune(long epoch) {
    return store.retiredToPrune(epoch);
  }

  @Override
  public void markPruned(NodeId id) {
    store.markPruned(id);
  }

  @Override
  public void adopt(NodeId id, long epoch) {
    store.adopt(id, epoch);
  }

  @Override
  public Discarded discardAll() {
    long dropped = store.discardAll();
    return new Discarded(dropped, store.ownWrites().entries()); // still kept: another discard may come
  }

  @Override
  public void keepOwnWrites() {
    store.ownWrites().open();
  }

  @Override
  public void forgetOwnWrites() {
    store.ownWrites().close();
  }

  @Override
  public boolean ownWritesOverflowed() {
    return store.ownWrites().overflowed();
  }

  @Override
  public boolean takeLifecycleWork() {
    return store.takeLifecycleWork();
  }
}
