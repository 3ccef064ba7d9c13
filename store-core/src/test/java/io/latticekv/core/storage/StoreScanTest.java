package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.PerfContext;
import org.rocksdb.PerfLevel;

/**
 * Segment scans (catch-up streams, segment listings) over a store that dropped most of its keys:
 * RocksDB keeps the tombstone of a deleted key until a compaction reaches it, and a scan must not
 * step over all of them on every seek. Counted with RocksDB's per-thread perf counters, not timed.
 */
class StoreScanTest {

  private static final int KEYS = 20_000;
  private static final int KEPT = 10;

  @TempDir Path dir;

  private static ByteString key(int k) {
    return ByteString.copyFromUtf8("k" + k);
  }

  private static void write(Store store, int from, int to) {
    Batches.apply(store, from, to, k -> new Store.Write(key(k), new CrdtUpdate.CounterAdd(1), Store.Origin.CLIENT));
  }

  /** Tombstones RocksDB stepped over while every segment is streamed and listed, and the states streamed. */
  private static long[] scanAll(Store store) {
    int segments = store.tree().segments();
    store.rocks().setPerfLevel(PerfLevel.ENABLE_COUNT);
    PerfContext perf = store.rocks().getPerfContext();
    perf.reset();
    long states = 0;
    int step = 4_096;
    for (int from = 0; from < segments; from += step) {
      int[] asked = IntStream.range(from, Math.min(segments, from + step)).toArray();
      Replica.StreamChunk chunk = store.streamStates(asked, ByteString.EMPTY, 1 << 20, segments);
      assertTrue(chunk.done());
      states += chunk.states().size();
    }
    for (int s = 0; s < segments; s++) {
      states -= store.segmentEntries(s).size();
    }
    long skipped = perf.getInternalDeleteSkippedCount();
    store.rocks().setPerfLevel(PerfLevel.DISABLE);
    return new long[] {skipped, states};
  }

  @Test
  void scansOfAStoreWhoseKeysWereCollectedStepOverEachTombstoneAboutOnce() {
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      write(store, 0, KEYS);
      List<Store.Write> deletes = new ArrayList<>();
      for (int k = 0; k < KEYS; k++) {
        deletes.add(new Store.Write(key(k), new CrdtUpdate.Delete(Optional.empty()), Store.Origin.CLIENT));
      }
      for (int i = 0; i < KEYS; i += 1_000) {
        store.applyAll(deletes.subList(i, i + 1_000));
      }
      store.setEpoch(Math.max(0, store.epoch()) + 3); // the tombstones' horizon: the sweep drops the keys
      long removed = 0;
      byte[] from = null;
      for (int pass = 0; pass < KEYS; pass++) { // a step visits at least one key: bounded by the keys
        SweepStep step = store.sweep(from, 1_000, List.of());
        removed += step.keysRemoved();
        from = step.next();
        if (from == null) {
          break;
        }
      }
      assertEquals(KEYS, removed, "the sweep did not drop every deleted key");
      write(store, KEYS, KEYS + KEPT);

      long[] scan = scanAll(store);
      assertEquals(0, scan[1], "streams and listings saw different keys");
      assertNotNull(store.get(key(KEYS)).orElse(null));
      // Two scans of every segment: each RocksDB tombstone lies in one segment, stepped over at
      // most once per scan. An unbounded seek walks on to the next live key (~KEYS / KEPT / 2 each).
      assertTrue(scan[0] <= 2L * KEYS, "the scans stepped over " + scan[0] + " tombstones for " + KEYS + " deleted keys");
    }
  }

  @Test
  void aDiscardLeavesNoTombstonesBehind() {
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      write(store, 0, KEYS);
      assertEquals(KEYS, store.discardAll());
      write(store, KEYS, KEYS + KEPT);
      long[] scan = scanAll(store);
      assertEquals(0, scan[1]);
      assertTrue(scan[0] <= KEPT, "the scans stepped over " + scan[0] + " tombstones after a discard");
      assertEquals(1, store.get(key(KEYS)).orElseThrow().counterValue());
      assertTrue(store.get(key(0)).isEmpty());
    }
  }
}
