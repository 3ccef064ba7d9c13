package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;

class StoreTest {

  @TempDir Path dir;

  private final AtomicLong wall = new AtomicLong(1_700_000_000_000L);

  private StoreOptions options(Path directory, SyncPolicy sync) {
    return StoreOptions.defaults(directory, sync).withClock(wall::get);
  }

  private static ByteString key(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static CrdtUpdate add(String... elements) {
    return new CrdtUpdate.SetUpdate(Stream.of(elements).map(ByteString::copyFromUtf8).toList(), List.of(), Optional.empty());
  }

  private static long counter(Store store, String k) {
    return store.get(key(k)).orElseThrow().counterValue();
  }

  @Test
  void concurrentIncrementsOfOneCounterAreNeverLost() throws Exception {
    int threads = 8;
    int each = 2_000;
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < each; i++) {
            store.apply(key("hits"), new CrdtUpdate.CounterAdd(1));
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(2, TimeUnit.MINUTES);
      }
      pool.shutdown();
      assertEquals((long) threads * each, counter(store, "hits"));
    }
  }

  @Test
  void aBatchAppliesItsWritesInOrderAndSurvivesAReopen() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      List<Store.Outcome> outcomes = store.applyAll(List.of(
          new Store.Write(key("hits"), new CrdtUpdate.CounterAdd(2)),
          new Store.Write(key("tags"), add("a")),
          new Store.Write(key("hits"), new CrdtUpdate.CounterAdd(3)),
          new Store.Write(key("tags"), add("b"))));
      assertEquals(5, outcomes.get(2).applied().state().counterValue(), "the second write sees the first");
      assertEquals(List.of(key("a"), key("b")), outcomes.get(3).applied().state().elements().stream().sorted(
          ByteString.unsignedLexicographicalComparator()).toList());
    }
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      assertEquals(5, counter(store, "hits"));
      assertEquals(2, store.get(key("tags")).orElseThrow().elements().size());
    }
  }

  @Test
  void aRefusedWriteInABatchIsRefusedAloneAndTheOthersApply() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      store.apply(key("tags"), add("a"));
      List<Store.Outcome> outcomes = store.applyAll(List.of(
          new Store.Write(key("hits"), new CrdtUpdate.CounterAdd(1)),
          new Store.Write(key("tags"), new CrdtUpdate.CounterAdd(1)),
          new Store.Write(key("hits"), new CrdtUpdate.CounterAdd(Long.MAX_VALUE)),
          new Store.Write(key("other"), new CrdtUpdate.CounterAdd(7))));
      assertTrue(outcomes.get(1).refused() instanceof TypeMismatchException, String.valueOf(outcomes.get(1)));
      assertTrue(outcomes.get(2).refused() instanceof io.latticekv.core.crdt.CounterOverflowException,
          String.valueOf(outcomes.get(2)));
      assertEquals(1, counter(store, "hits"), "the refused increment left the first one in place");
      assertEquals(7, counter(store, "other"));
      assertEquals(1, store.get(key("tags")).orElseThrow().elements().size());
    }
  }

  @Test
  void aBatchLeavesTheSameMerkleTreeAsTheSameWritesOneByOne() throws IOException {
    List<Store.Write> writes = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      writes.add(new Store.Write(key("k" + (i % 97)), new CrdtUpdate.CounterAdd(i + 1)));
    }
    long batched;
    long oneByOne;
    try (Store store = Store.open(options(dir.resolve("batched"), SyncPolicy.NONE))) {
      store.applyAll(writes.subList(0, 150));
      store.applyAll(writes.subList(150, 300));
      batched = store.tree().root();
    }
    try (Store store = Store.open(options(dir.resolve("one-by-one"), SyncPolicy.NONE))) {
      writes.forEach(w -> store.apply(w.key(), w.update()));
      oneByOne = store.tree().root();
    }
    // Each store writes under its own replica id, so compare each with a rebuild from disk instead.
    try (Store store = Store.open(options(dir.resolve("batched"), SyncPolicy.NONE))) {
      assertEquals(batched, store.tree().root(), "the tree kept by batches equals one built from the stored data");
    }
    try (Store store = Store.open(options(dir.resolve("one-by-one"), SyncPolicy.NONE))) {
      assertEquals(oneByOne, store.tree().root());
    }
  }

  @Test
  void batchesOnManyThreadsOverSharedKeysNeitherDeadlockNorLoseWrites() throws Exception {
    int threads = 4;
    int batches = 300;
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int offset = t;
        done.add(pool.submit(() -> {
          for (int b = 0; b < batches; b++) {
            List<Store.Write> batch = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
              // Each thread walks the keys in a different order: lock order must not depend on it.
              batch.add(new Store.Write(key("k" + ((offset * 7 + b + i * (offset + 1)) % 10)), new CrdtUpdate.CounterAdd(1)));
            }
            store.applyAll(batch);
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(2, TimeUnit.MINUTES);
      }
      pool.shutdown();
      long total = 0;
      for (int k = 0; k < 10; k++) {
        total += counter(store, "k" + k);
      }
      assertEquals((long) threads * batches * 10, total);
    }
  }

  @Test
  void aKeyKeepsTheTypeOfItsFirstWrite() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      store.apply(key("k"), new CrdtUpdate.CounterAdd(5));
      TypeMismatchException e = assertThrows(TypeMismatchException.class, () -> store.apply(key("k"), add("x")));
      assertEquals("key 'k' holds a counter, not a set", e.getMessage());
      assertEquals(5, counter(store, "k"));
    }
  }

  @Test
  void dataSurvivesCloseAndReopenUnderTheSameNodeIdAndAFreshReplicaId() {
    Store first = Store.open(options(dir, SyncPolicy.ALWAYS));
    first.apply(key("c"), new CrdtUpdate.CounterAdd(3));
    first.apply(key("s"), add("a", "b"));
    first.apply(key("r"), new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("v1")));
    var node = first.nodeId();
    var replica = first.replicaId();
    first.close();
    try (Store second = Store.open(options(dir, SyncPolicy.ALWAYS))) {
      assertEquals(node, second.nodeId());
      assertNotEquals(replica, second.replicaId());
      assertEquals(List.of(replica, second.replicaId()).stream().sorted().toList(), second.replicaHistory());
      assertEquals(3, counter(second, "c"));
      assertEquals(List.of(key("a"), key("b")), second.get(key("s")).orElseThrow().elements());
      assertEquals(key("v1"), second.get(key("r")).orElseThrow().register().value());
      assertTrue(second.get(key("never")).isEmpty());
    }
  }

  @Test
  void timestampsKeepIncreasingAcrossARestartEvenWhenTheClockWentBack() {
    HlcTimestamp before;
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      store.apply(key("r"), new CrdtUpdate.RegisterAssign(key("old")));
      before = store.get(key("r")).orElseThrow().register().timestamp();
    }
    wall.addAndGet(-3_600_000); // an hour back, while the node was down
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      store.apply(key("other"), new CrdtUpdate.RegisterAssign(key("x")));
      HlcTimestamp after = store.get(key("other")).orElseThrow().register().timestamp();
      assertTrue(after.compareTo(before) > 0, after + " is not after " + before);
      store.apply(key("r"), new CrdtUpdate.RegisterAssign(key("new")));
      assertEquals(key("new"), store.get(key("r")).orElseThrow().register().value());
    }
  }

  /**
   * riak_kv#679: a node restored from an older copy of its directory must not write under the id
   * whose later increments the copy lost, or those increments, which its peers still hold, would
   * dominate the new ones and the new ones would vanish when the replicas merge.
   */
  @Test
  void aDirectoryRestoredFromAnOlderCopyNeverReusesAReplicaIdWhoseStateWasLost() throws IOException {
    Path live = dir.resolve("live");
    Path backup = dir.resolve("backup");
    try (Store store = Store.open(options(live, SyncPolicy.ALWAYS))) {
      store.apply(key("c"), new CrdtUpdate.CounterAdd(10));
    }
    io.latticekv.testing.TestFiles.copyTree(live, backup);
    io.latticekv.core.crdt.Lives peersView;
    var lostIds = new ArrayList<>(List.<io.latticekv.core.crdt.NodeId>of());
    try (Store store = Store.open(options(live, SyncPolicy.ALWAYS))) {
      store.apply(key("c"), new CrdtUpdate.CounterAdd(5)); // reached the peers, then was lost here
      peersView = store.get(key("c")).orElseThrow();
      lostIds.addAll(store.replicaHistory());
    }
    io.latticekv.testing.TestFiles.deleteTree(live);
    io.latticekv.testing.TestFiles.copyTree(backup, live);
    try (Store restored = Store.open(options(live, SyncPolicy.ALWAYS))) {
      assertFalse(lostIds.contains(restored.replicaId()), "the restored store reused a replica id");
      restored.apply(key("c"), new CrdtUpdate.CounterAdd(7));
      io.latticekv.core.crdt.Lives here = restored.get(key("c")).orElseThrow();
      assertEquals(10 + 5 + 7, here.merge(peersView).counterValue(), "an increment was lost in the merge");
    }
    io.latticekv.testing.TestFiles.deleteTree(live);
    try (Store wiped = Store.open(options(live, SyncPolicy.ALWAYS))) {
      assertFalse(lostIds.contains(wiped.replicaId()));
      wiped.apply(key("c"), new CrdtUpdate.CounterAdd(1));
      assertEquals(16, wiped.get(key("c")).orElseThrow().merge(peersView).counterValue());
    }
  }

  @Test
  void groupCommitAcknowledgesConcurrentWritersWithFewerFsyncsThanWrites() throws Exception {
    try (Store store = Store.open(options(dir, SyncPolicy.BATCH))) {
      ExecutorService pool = Executors.newFixedThreadPool(16);
      List<Future<CompletableFuture<Void>>> writes = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        int n = i;
        writes.add(pool.submit(() -> store.apply(key("k" + (n % 50)), new CrdtUpdate.CounterAdd(1)).durable()));
      }
      for (Future<CompletableFuture<Void>> w : writes) {
        w.get(1, TimeUnit.MINUTES).get(1, TimeUnit.MINUTES);
      }
      pool.shutdown();
      assertTrue(store.groupCommitSyncs() > 0);
      assertTrue(store.groupCommitSyncs() < 2_000, "fsyncs: " + store.groupCommitSyncs());
    }
  }

  @Test
  void aWriteThatWouldExceedTheValueLimitIsRefusedAndChangesNothing() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE).withValueBytesMax(200))) {
      store.apply(key("s"), add("small"));
      List<String> many = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        many.add("element-" + i);
      }
      assertThrows(ValueTooLargeException.class, () -> store.apply(key("s"), add(many.toArray(new String[0]))));
      assertEquals(List.of(key("small")), store.get(key("s")).orElseThrow().elements());
    }
  }

  /**
   * A batch encodes a key's state once, at its end; when that state is over the limit the batch is
   * computed again write by write, so exactly the writes that make it too large are refused.
   */
  @Test
  void inABatchExactlyTheWritesThatMakeAValueTooLargeAreRefused() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE).withValueBytesMax(300))) {
      List<Store.Write> writes = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        writes.add(new Store.Write(key("s"), add("element-" + i)));
        writes.add(new Store.Write(key("hits"), new CrdtUpdate.CounterAdd(1)));
      }
      List<Store.Outcome> outcomes = store.applyAll(writes);
      int applied = 0;
      int refused = 0;
      for (int i = 0; i < writes.size(); i += 2) {
        if (outcomes.get(i).refused() != null) {
          assertTrue(outcomes.get(i).refused() instanceof ValueTooLargeException, String.valueOf(outcomes.get(i)));
          refused++;
        } else {
          assertEquals(0, refused, "an add applied after a refused one: the set only grows, so it is too large too");
          applied++;
        }
        assertTrue(outcomes.get(i + 1).refused() == null, "the counter's writes all apply");
      }
      assertTrue(applied > 0 && refused > 0, applied + " applied, " + refused + " refused");
      assertEquals(applied, store.get(key("s")).orElseThrow().elementCount());
      assertEquals(40, counter(store, "hits"));
      assertTrue(store.get(key("s")).orElseThrow().encode().length <= 300);
    }
    try (Store store = Store.open(options(dir, SyncPolicy.NONE).withValueBytesMax(300))) {
      assertEquals(40, counter(store, "hits"), "what the second pass stored is what a reopen reads");
    }
  }

  @Test
  void manyWritesToOneKeyInABatchAreStoredOnceAsTheirSum() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      List<Store.Write> writes = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        writes.add(new Store.Write(key("hot"), add("e" + i)));
      }
      long rocksBefore = store.rocksDbWrites();
      List<Store.Outcome> outcomes = store.applyAll(writes);
      assertEquals(1, store.rocksDbWrites() - rocksBefore);
      assertEquals(500, outcomes.get(499).applied().state().elementCount());
      assertEquals(1, outcomes.get(0).applied().state().elementCount(), "each write's outcome is its own state");
      long root = store.tree().root();
      store.close();
      try (Store reopened = Store.open(options(dir, SyncPolicy.NONE))) {
        assertEquals(500, reopened.get(key("hot")).orElseThrow().elementCount());
        assertEquals(root, reopened.tree().root(), "the tree kept for the batch equals one built from disk");
      }
    }
  }

  @Test
  void aDamagedStoredValueIsReportedWithItsKey() throws Exception {
    try (Store store = Store.open(options(dir, SyncPolicy.ALWAYS))) {
      store.apply(key("good"), new CrdtUpdate.CounterAdd(1));
    }
    corrupt(dir, "bad", new byte[] {0x08, 0x01, 0x12, 0x7f});
    try (Store store = Store.open(options(dir, SyncPolicy.ALWAYS))) {
      StorageException e = assertThrows(StorageException.class, () -> store.get(key("bad")));
      assertTrue(e.getMessage().contains("key 'bad' is damaged"), e.getMessage());
      assertEquals(1, counter(store, "good"));
    }
  }

  @Test
  void aSecondStoreOnTheSameDirectoryIsRefusedClearly() {
    try (Store store = Store.open(options(dir, SyncPolicy.NONE))) {
      StorageException e = assertThrows(StorageException.class, () -> Store.open(options(dir, SyncPolicy.NONE)));
      assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
    }
  }

  private static void corrupt(Path dir, String key, byte[] value) throws Exception {
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions opts = new DBOptions();
        RocksDB db = RocksDB.open(opts, dir.toString(), List.of(
            new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY),
            new ColumnFamilyDescriptor("data".getBytes()),
            new ColumnFamilyDescriptor("meta".getBytes()),
            new ColumnFamilyDescriptor("elements".getBytes()),
            new ColumnFamilyDescriptor("dots".getBytes())), handles)) {
      byte[] dataKey = Store.dataKey(ByteString.copyFromUtf8(key),
          new io.latticekv.core.merkle.MerkleTree(io.latticekv.core.merkle.MerkleTree.DEFAULT_SEGMENT_BITS));
      db.put(handles.get(1), dataKey, value);
      handles.forEach(ColumnFamilyHandle::close);
    }
  }
}
