package io.latticekv.core.antientropy;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.TypeMismatchException;
import io.latticekv.core.transport.PeerMessage.KeyDigest;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A {@link Store} as anti-entropy's replica: repairs are ordinary merges through the engine. */
public final class StoreReplica implements AntiEntropy.Replica {

  private static final Logger log = LoggerFactory.getLogger(StoreReplica.class);

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
    return store.segmentEntries(segment).stream().map(e -> new KeyDigest(e.key(), e.digest())).toList();
  }

  @Override
  public Optional<Crdt<?>> get(ByteString key) {
    return store.get(key);
  }

  @Override
  public boolean merge(ByteString key, Crdt<?> state) {
    try {
      return store.apply(key, new CrdtUpdate.JoinState(state)).changed();
    } catch (TypeMismatchException e) {
      log.error("anti-entropy cannot repair {}: {}", Store.printable(key), e.getMessage());
      return false;
    }
  }
}
