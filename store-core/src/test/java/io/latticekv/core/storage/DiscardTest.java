package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StoreReplica;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A discard (a node restored from a too old backup, docs/lifecycle.md) drops the backup's states
 * but keeps what this life wrote, key by key under the key's lock: an acknowledged write is never
 * lost, and never reads as absent, whether it came before the discard or raced it.
 */
class DiscardTest {

  private static final int BACKUP_KEYS = 20_000;

  @TempDir Path dir;

  private static ByteString key(String prefix, int k) {
    return ByteString.copyFromUtf8(prefix + k);
  }

  private static void increment(Store store, ByteString key, long by) {
    store.apply(key, new CrdtUpdate.CounterAdd(by));
  }

  /** A directory holding the backup's keys, each counter at 1, written in an earlier life of the node. */
  private void backup() {
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      Batches.apply(store, 0, BACKUP_KEYS, k -> new Store.Write(key("k", k), new CrdtUpdate.CounterAdd(1)));
    }
  }

  @Test
  void aDiscardKeepsWhatThisLifeWroteAndDropsTheRest() {
    backup();
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      store.ownWrites().open();
      for (int k = 0; k < 10; k++) {
        increment(store, key("k", k), 5); // over the backup's 1
        increment(store, key("new", k), 7);
      }
      long before = store.tree().root();
      assertEquals(BACKUP_KEYS, store.discardAll());
      assertNotEquals(before, store.tree().root());
      for (int k = 0; k < 10; k++) {
        assertEquals(5, store.get(key("k", k)).orElseThrow().counterValue(), "the backup's part stayed, or ours went");
        assertEquals(7, store.get(key("new", k)).orElseThrow().counterValue());
      }
      assertTrue(store.get(key("k", 10)).isEmpty(), "a key only the backup held was kept");
      assertEquals(20, store.ownWrites().entries().size());
    }
    // What stayed is stored, and the tree rebuilt from the disk at the next open agrees with it.
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      assertEquals(5, store.get(key("k", 3)).orElseThrow().counterValue());
      assertTrue(store.get(key("k", 10)).isEmpty());
    }
  }

  /**
   * A node can discard twice before it first moves its epoch on (the first discard went to where
   * most members were; a member heard later is further on): the second keeps what the first kept
   * and what was written between them. Found by the simulator.
   */
  @Test
  void aSecondDiscardKeepsWhatTheFirstKeptAndWhatCameBetween() {
    backup();
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      StoreReplica replica = new StoreReplica(store);
      replica.keepOwnWrites();
      increment(store, key("k", 0), 5);
      assertEquals(1, replica.discardAll().kept().size());
      increment(store, key("k", 0), 2);
      increment(store, key("k", 1), 3);
      Replica.Discarded second = replica.discardAll();
      assertEquals(2, second.kept().size(), "the second discard lost what this life wrote");
      assertEquals(7, store.get(key("k", 0)).orElseThrow().counterValue());
      assertEquals(3, store.get(key("k", 1)).orElseThrow().counterValue());
      replica.forgetOwnWrites(); // the node moved its epoch on: no discard can come
      increment(store, key("k", 2), 1);
      assertTrue(store.ownWrites().entries().isEmpty());
    }
  }

  @Test
  void writesRacingADiscardAreNeitherLostNorEverUnseen() throws Exception {
    backup();
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE))) {
      store.ownWrites().open();
      CompletableFuture<Long> discard = new CompletableFuture<>();
      Thread discarding = new Thread(() -> {
        try {
          discard.complete(store.discardAll());
        } catch (RuntimeException e) {
          discard.completeExceptionally(e);
        }
      });
      Map<ByteString, Long> mine = new HashMap<>();
      SplittableRandom random = new SplittableRandom(7);
      discarding.start();
      int writes = 0;
      // Bounded: the discard of 20,000 keys ends; the writes go on a little past it at most.
      while (writes < 200_000 && (!discard.isDone() || writes < 2_000)) {
        ByteString key = random.nextInt(4) == 0 ? key("new", random.nextInt(1_000)) : key("k", random.nextInt(BACKUP_KEYS));
        increment(store, key, 1);
        long expected = mine.merge(key, 1L, Long::sum);
        long read = store.get(key).orElseThrow(() -> new AssertionError("an acknowledged write reads as absent: "
            + key.toStringUtf8())).counterValue();
        assertTrue(read == expected || read == expected + 1, key.toStringUtf8() + " reads " + read + " after "
            + expected + " increments of this life"); // + 1 while the backup's part is not dropped yet
        writes++;
      }
      discard.get(60, TimeUnit.SECONDS);
      for (Map.Entry<ByteString, Long> e : mine.entrySet()) {
        assertEquals(e.getValue(), store.get(e.getKey()).orElseThrow().counterValue(),
            "after the discard " + e.getKey().toStringUtf8() + " must hold exactly this life's increments");
      }
      System.out.printf("%,d writes raced the discard of %,d keys%n", writes, BACKUP_KEYS);
    }
  }
}
