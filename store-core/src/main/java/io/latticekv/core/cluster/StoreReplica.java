package io.latticekv.core.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
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
  public Optional<Crdt<?>> get(ByteString key) {
    return store.get(key);
  }

  @Override
  public boolean[] mergeAll(List<KeyState> states) {
    List<Store.Write> writes = new ArrayList<>(states.size());
    for (KeyState ks : states) {
      writes.add(new Store.Write(ks.key(), new CrdtUpdate.JoinState(ks.state()), Store.Origin.PEER));
    }
    List<Store.Outcome> outcomes = store.applyAll(writes);
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
}
