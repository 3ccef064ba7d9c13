package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.transport.PeerMessage.StoredState;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streamed states stored as they came ({@link StreamedLoad}): a store that holds nothing ends up
 * with exactly the streamer's keys and Merkle root, through ingested table files that survive a
 * reopen; keys it does hold are merged, not overwritten; damaged or repeated states harm nothing.
 */
class StreamedLoadTest {

  @TempDir Path dir;

  private static ByteString key(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static Store open(Path path) {
    return Store.open(StoreOptions.defaults(path, SyncPolicy.NONE));
  }

  /** Counters, sets and registers, written as a client would. */
  private static void load(Store store, int keys) {
    Batches.apply(store, 0, keys, k -> new Store.Write(key("key:" + k), switch (k % 3) {
      case 0 -> new CrdtUpdate.CounterAdd(k + 1);
      case 1 -> new CrdtUpdate.SetUpdate(List.of(key("a" + k), key("b")), List.of(), Optional.empty());
      default -> new CrdtUpdate.RegisterAssign(key("value " + k));
    }));
  }

  /** Every state of {@code store}, as a catch-up stream reads them. */
  private static List<StoredState> streamAll(Store store) {
    int segments = store.tree().segments();
    List<StoredState> all = new ArrayList<>();
    for (int from = 0; from < segments; from += 4_096) {
      int[] asked = IntStream.range(from, Math.min(segments, from + 4_096)).toArray();
      Replica.StreamChunk chunk = store.streamStates(asked, ByteString.EMPTY, Integer.MAX_VALUE, Integer.MAX_VALUE);
      assertTrue(chunk.done());
      all.addAll(chunk.states());
    }
    return all;
  }

  @Test
  void anEmptyStoreTakesTheStreamedStatesWholeAndKeepsThemAcrossAReopen() {
    int keys = 5_000;
    try (Store full = open(dir.resolve("full"))) {
      load(full, keys);
      List<StoredState> states = streamAll(full);
      assertEquals(keys, states.size());
      long root = full.tree().root();
      try (Store empty = open(dir.resolve("empty"))) {
        boolean[] changed = empty.mergeStored(states);
        assertEquals(keys, count(changed));
        assertEquals(keys, empty.keysStoredAsStreamed(), "every key was new here: none needed a merge");
        assertTrue(empty.tablesIngested() >= 1, "a batch this large goes in as a table file");
        assertEquals(root, empty.tree().root());
        assertEquals(full.get(key("key:0")), empty.get(key("key:0")));
        assertEquals(full.get(key("key:4999")), empty.get(key("key:4999")));
        assertFalse(count(empty.mergeStored(states.subList(0, 10))) > 0, "the same states again change nothing");
      }
      try (Store reopened = open(dir.resolve("empty"))) {
        assertEquals(root, reopened.tree().root(), "the ingested states were not durable");
        assertEquals(full.get(key("key:1234")), reopened.get(key("key:1234")));
      }
    }
  }

  @Test
  void aKeyHeldHereIsMergedAndADamagedOrRepeatedStateHarmsNothing() {
    try (Store full = open(dir.resolve("full")); Store other = open(dir.resolve("other"))) {
      load(full, 30);
      other.apply(key("key:0"), new CrdtUpdate.CounterAdd(5)); // its own increments of the same counter
      List<StoredState> states = new ArrayList<>(streamAll(full));
      states.add(new StoredState(key("damaged"), ByteString.copyFrom(new byte[] {0x08, 0x01, 0x12, 0x7f})));
      states.add(states.get(3)); // sent twice
      boolean[] changed = other.mergeStored(states);
      assertEquals(30, count(changed));
      assertEquals(1 + 5, other.get(key("key:0")).orElseThrow().counterValue(), "a held key was overwritten, not merged");
      assertTrue(other.get(key("damaged")).isEmpty());
      assertEquals(29, other.keysStoredAsStreamed());
      assertEquals(0, other.tablesIngested(), "a small batch is one write batch");
      assertEquals(full.get(key("key:7")), other.get(key("key:7")));
      assertArrayEquals(full.get(key("key:8")).orElseThrow().encode(), other.get(key("key:8")).orElseThrow().encode());
    }
  }

  /**
   * A state that decodes alike from other bytes than the canonical encoding (here an unknown field
   * appended, as a newer peer might send) is merged, not stored as it came: the Merkle leaf hashes
   * the stored bytes, and a replica holding other bytes for the same state would never agree.
   */
  @Test
  void aStateInOtherBytesThanItsEncodingIsMergedSoTheTreesAgree() {
    try (Store full = open(dir.resolve("full")); Store other = open(dir.resolve("other"))) {
      load(full, 3);
      List<StoredState> states = streamAll(full);
      List<StoredState> odd = new ArrayList<>();
      for (StoredState st : states) {
        odd.add(new StoredState(st.key(), st.value().concat(ByteString.copyFrom(new byte[] {0x78, 0x01}))));
      }
      assertEquals(3, count(other.mergeStored(odd)));
      assertEquals(0, other.keysStoredAsStreamed());
      assertEquals(full.tree().root(), other.tree().root());
    }
  }

  /**
   * Client writes racing streamed states of the same keys are never overwritten: a key is stored
   * as it came only if it still holds nothing under its lock. Any interleaving may happen; a lost
   * increment is the only failure.
   */
  @Test
  void clientWritesRacingAStreamAreNeverOverwritten() throws Exception {
    int keys = 8_000;
    try (Store full = open(dir.resolve("full")); Store target = open(dir.resolve("target"))) {
      List<Store.Write> batch = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        batch.add(new Store.Write(key("c" + k), new CrdtUpdate.CounterAdd(10)));
      }
      full.applyAll(batch);
      List<StoredState> states = streamAll(full);
      long[] added = new long[keys];
      java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
      Thread writer = new Thread(() -> {
        java.util.Random random = new java.util.Random(7);
        while (!done.get()) {
          int k = random.nextInt(keys);
          target.apply(key("c" + k), new CrdtUpdate.CounterAdd(1));
          added[k]++;
        }
      });
      writer.start();
      for (int from = 0; from < states.size(); from += 2_000) {
        target.mergeStored(states.subList(from, Math.min(states.size(), from + 2_000)));
      }
      done.set(true);
      writer.join(60_000);
      assertFalse(writer.isAlive());
      for (int k = 0; k < keys; k++) {
        assertEquals(10 + added[k], target.get(key("c" + k)).orElseThrow().counterValue(), "key c" + k);
      }
    }
  }

  private static int count(boolean[] flags) {
    int n = 0;
    for (boolean f : flags) {
      n += f ? 1 : 0;
    }
    return n;
  }
}
