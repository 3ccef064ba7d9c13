package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rocksdb.RocksIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage side of the lifecycle sweep (docs/lifecycle.md): visits stored keys in order and
 * rewrites those that hold something the epoch lets go (collectable tombstones, prunable retired
 * entries) or that name a replica id being pruned, through the store's ordinary write path.
 */
final class KeySweep {

  private static final Logger log = LoggerFactory.getLogger(KeySweep.class);

  /** Keys a step reads at most when few need work, as a multiple of the keys it may write: bounds one storage task. */
  private static final int READ_FACTOR = 8;

  private KeySweep() {}

  /**
   * Visits up to {@code maxKeys} keys from {@code from} (null: the first), reading at most {@link
   * #READ_FACTOR} times as many: drops what epoch {@code at} allows ({@link Lives#collect}), and
   * prunes every id of {@code retire} a key names ({@link CrdtUpdate.Retire}). Only keys that need
   * it are written, in one batch.
   */
  static SweepStep step(Store store, byte[] from, int maxKeys, List<NodeId> retire, long at) {
    Set<NodeId> toRetire = new HashSet<>(retire);
    List<Store.Write> writes = new ArrayList<>();
    Set<NodeId> seen = new HashSet<>();
    long dead = 0;
    long marks = 0;
    int visited = 0;
    byte[] next = null;
    try (RocksIterator it = store.dataIterator()) {
      if (from == null) {
        it.seekToFirst();
      } else {
        it.seek(from);
      }
      int readMax = maxKeys * READ_FACTOR;
      for (; it.isValid() && visited < readMax && writes.size() < maxKeys; it.next()) {
        visited++;
        ByteString key = Store.keyOf(it.key());
        Lives state;
        try {
          state = store.sweepViewOfRow(it.key(), it.value()); // a large set: its record and one element
        } catch (StorageException e) {
          log.error("lifecycle sweep: {}", e.getMessage());
          continue;
        }
        SweepStep.KeyVisit visit = SweepStep.KeyVisit.of(state, toRetire, at);
        seen.addAll(visit.named());
        dead += visit.deadLives();
        marks += visit.retiredMarks();
        if (visit.needsWrite()) {
          writes.add(new Store.Write(key, new CrdtUpdate.Retire(visit.named()), Store.Origin.PEER));
        }
      }
      if (it.isValid()) {
        next = it.key();
      }
    }
    List<Map.Entry<ByteString, Lives>> deltas = new ArrayList<>();
    int changed = 0;
    int removed = 0;
    if (!writes.isEmpty()) {
      List<Store.Outcome> outcomes = store.applyAll(writes);
      for (int i = 0; i < outcomes.size(); i++) {
        Applied applied = outcomes.get(i).applied();
        if (applied == null || !applied.changed()) {
          continue;
        }
        changed++;
        removed += applied.elementCount() == 0 && applied.state().isEmpty() ? 1 : 0; // a large set is not read whole
        if (!applied.delta().isEmpty()) {
          deltas.add(Map.entry(writes.get(i).key(), applied.delta()));
        }
      }
    }
    return new SweepStep(next, visited, changed, removed, deltas, seen, dead, marks);
  }
}
