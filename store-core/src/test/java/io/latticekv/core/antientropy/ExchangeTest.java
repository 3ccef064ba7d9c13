package io.latticekv.core.antientropy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.cluster.StoreReplica;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exchange state machine between two real stores, with messages handed over directly: it
 * repairs exactly the keys that differ, in both directions, and costs one round trip when the
 * replicas are equal.
 */
class ExchangeTest {

  @TempDir Path dir;

  private final ArrayDeque<Object[]> wire = new ArrayDeque<>();
  private long messages;

  private AntiEntropy node(String name, Store store, Member peer, long[] now) {
    return new AntiEntropy(store.nodeId(), AntiEntropyConfig.DEFAULTS, () -> now[0], new Random(1),
        (to, m) -> {
          messages++;
          wire.add(new Object[] {to, m});
        }, () -> List.of(peer), new StoreReplica(store), StorageRunner.inline());
  }

  private static Member member(Store store, String address) {
    return new Member(store.nodeId(), address, 1, MemberStatus.ALIVE, 0, 0);
  }

  private void deliver(AntiEntropy a, AntiEntropy b) {
    for (int i = 0; i < 1_000 && !wire.isEmpty(); i++) {
      Object[] m = wire.poll();
      ("a".equals(m[0]) ? a : b).receive((PeerMessage) m[1]);
    }
  }

  private static ByteString k(String s) {
    return ByteString.copyFromUtf8(s);
  }

  /** Counters {@code prefix}0 .. {@code prefix}(n - 1), the i-th incremented by {@code amount(i)}, in batches of 1,000. */
  private static void counters(Store store, String prefix, int n, java.util.function.IntToLongFunction amount) {
    Batches.apply(store, 0, n, i -> new Store.Write(k(prefix + i), new CrdtUpdate.CounterAdd(amount.applyAsLong(i))));
  }

  @Test
  void anExchangeRepairsExactlyTheDifferingKeysBothWays() {
    long[] now = {1_000};
    try (Store left = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE));
        Store right = Store.open(StoreOptions.defaults(dir.resolve("b"), SyncPolicy.NONE))) {
      for (int i = 0; i < 2_000; i++) { // shared: written on both sides alike
        var state = new CrdtUpdate.JoinState(io.latticekv.core.crdt.PnCounter.empty().add(new NodeId(0, 1), i + 1));
        left.apply(k("shared-" + i), state);
        right.apply(k("shared-" + i), state);
      }
      for (int i = 0; i < 7; i++) {
        left.apply(k("only-left-" + i), new CrdtUpdate.CounterAdd(1));
      }
      for (int i = 0; i < 5; i++) {
        right.apply(k("only-right-" + i), new CrdtUpdate.CounterAdd(1));
      }
      left.apply(k("shared-3"), new CrdtUpdate.CounterAdd(10)); // both hold it, differently
      right.apply(k("shared-4"), new CrdtUpdate.CounterAdd(10));
      assertTrue(left.tree().root() != right.tree().root());

      AntiEntropy a = node("a", left, member(right, "b"), now);
      AntiEntropy b = node("b", right, member(left, "a"), now);
      a.start(member(right, "b"), now[0]);
      deliver(a, b);

      assertEquals(left.tree().root(), right.tree().root(), "one exchange should have repaired everything");
      // a fetched what it lacked or held differently: 5 only-right + shared-3 (theirs differs) + shared-4
      AntiEntropy.Outcome outcome = a.lastExchanges().get(0);
      assertEquals(6, outcome.keysRepaired(), outcome.toString()); // 5 + shared-4; shared-3 merged to no change
      assertEquals(9, outcome.keysPushed(), outcome.toString()); // 7 only-left + shared-3 + shared-4
      assertEquals(8, b.keysRepaired()); // 7 + shared-3; shared-4 merged to no change there
      assertEquals(Optional.of(14L), right.get(k("shared-3")).map(s -> ((io.latticekv.core.crdt.Lives) s).counterValue()),
          "the pushed state reached the peer: 4 shared + 10 written on the left");

      long before = messages;
      a.start(member(right, "b"), now[0]);
      deliver(a, b);
      assertEquals(2, messages - before, "equal replicas exchange one request and one answer");
      assertTrue(a.lastExchanges().get(0).matched());
    }
  }

  /** Bytes of states the messages on the wire carry, whole states and set parts alike. */
  private long stateBytes;

  private AntiEntropy counting(String name, Store store, Member peer, long[] now) {
    return new AntiEntropy(store.nodeId(), AntiEntropyConfig.DEFAULTS, () -> now[0], new Random(1),
        (to, m) -> {
          messages++;
          if (m instanceof PeerMessage.AeStates states) {
            states.states().forEach(ks -> stateBytes += ks.state().encode().length);
            states.parts().forEach(p -> stateBytes += p.state().encode().length + 8L * p.hashes().length);
          } else if (m instanceof PeerMessage.AeFetch fetch) {
            fetch.summaries().forEach(summary -> stateBytes += 8L * summary.hashes().length);
          }
          wire.add(new Object[] {to, m});
        }, () -> List.of(peer), new StoreReplica(store), StorageRunner.inline());
  }

  /** A set of {@code n} elements, the same life and dots on every store it is joined into. */
  private static CrdtUpdate.JoinState bigSet(int n) {
    io.latticekv.core.crdt.OrSet set = io.latticekv.core.crdt.OrSet.empty();
    List<ByteString> elements = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      elements.add(k("member:" + i));
    }
    set = set.addAll(new NodeId(0, 7), elements);
    return new CrdtUpdate.JoinState(set);
  }

  @Test
  void aLargeSetThatDiffersInAFewElementsIsRepairedByBucketsBothWays() {
    long[] now = {1_000};
    try (Store left = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE));
        Store right = Store.open(StoreOptions.defaults(dir.resolve("b"), SyncPolicy.NONE))) {
      CrdtUpdate.JoinState shared = bigSet(50_000);
      left.apply(k("big"), shared);
      right.apply(k("big"), shared);
      left.apply(k("big"), new CrdtUpdate.SetUpdate(List.of(k("left-1"), k("left-2")), List.of(), Optional.empty()));
      right.apply(k("big"), new CrdtUpdate.SetUpdate(List.of(), List.of(k("member:17")), Optional.empty()));
      long whole = left.get(k("big")).orElseThrow().encode().length;

      AntiEntropy a = counting("a", left, member(right, "b"), now);
      AntiEntropy b = counting("b", right, member(left, "a"), now);
      a.start(member(right, "b"), now[0]);
      deliver(a, b);

      assertEquals(left.get(k("big")), right.get(k("big")), "one exchange should have repaired the set");
      assertEquals(left.tree().root(), right.tree().root());
      io.latticekv.core.crdt.Lives repaired = left.get(k("big")).orElseThrow();
      assertEquals(50_001, repaired.elementCount(), "two adds in, one remove out");
      assertTrue(!repaired.elements().contains(k("member:17")) && repaired.elements().contains(k("left-2")));
      assertEquals(2, a.setPartsSent() + b.setPartsSent(), "a part each way");
      System.out.printf("a %,d-byte set repaired with %,d bytes of states and hashes%n", whole, stateBytes);
      assertTrue(stateBytes < whole / 10, stateBytes + " bytes moved to repair 3 elements of a " + whole + "-byte set");
    }
  }

  @Test
  void aLargeSetOfAnotherLifeOnTheOtherSideGoesWhole() {
    long[] now = {1_000};
    try (Store left = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE));
        Store right = Store.open(StoreOptions.defaults(dir.resolve("b"), SyncPolicy.NONE))) {
      left.apply(k("big"), bigSet(5_000));
      right.apply(k("big"), bigSet(5_000));
      right.apply(k("big"), new CrdtUpdate.Delete(Optional.empty())); // a new life comes with the next write
      right.apply(k("big"), new CrdtUpdate.SetUpdate(List.of(k("reborn")), List.of(), Optional.empty()));

      AntiEntropy a = counting("a", left, member(right, "b"), now);
      AntiEntropy b = counting("b", right, member(left, "a"), now);
      a.start(member(right, "b"), now[0]);
      deliver(a, b);

      assertEquals(left.get(k("big")), right.get(k("big")));
      assertEquals(0, a.setPartsSent() + b.setPartsSent(), "no part of a set the other side holds in another life");
      assertTrue(left.get(k("big")).orElseThrow().elements().contains(k("reborn")));
    }
  }

  /**
   * A node that joined empty: the full side's exchange leaves the stream to it (streaming its few
   * keys back would only have the full side merge what it holds); the empty side's exchange
   * streams every segment and stores what it had nothing of as it came, in ingested tables.
   */
  @Test
  void theEmptySideStreamsEverythingAndTheFullSideLeavesItTo() {
    long[] now = {1_000};
    try (Store full = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE));
        Store empty = Store.open(StoreOptions.defaults(dir.resolve("b"), SyncPolicy.NONE))) {
      counters(full, "key-", 30_000, i -> i + 1);
      empty.apply(k("key-7"), new CrdtUpdate.CounterAdd(100)); // a key both hold: merged, not overwritten
      AntiEntropy a = node("a", full, member(empty, "b"), now);
      AntiEntropy b = node("b", empty, member(full, "a"), now);

      a.start(member(empty, "b"), now[0]);
      deliver(a, b);
      AntiEntropy.Outcome fromFull = a.lastExchanges().get(0);
      assertTrue(fromFull.detail().contains("catches up from this node"), fromFull.toString());
      assertEquals(0, fromFull.keysPushed(), fromFull.toString());

      b.start(member(full, "a"), now[0]);
      for (int round = 0; round < 100 && !wire.isEmpty(); round++) {
        deliver(a, b);
      }
      AntiEntropy.Outcome streamed = b.lastExchanges().get(0);
      assertTrue(streamed.detail().startsWith("streamed 30000 keys"), streamed.toString());
      assertTrue(full.tree().root() != empty.tree().root(), "key-7 differs still: b's own increments are not at a");
      assertEquals(8 + 100, empty.get(k("key-7")).orElseThrow().counterValue());
      assertEquals(30_000 - 1, empty.keysStoredAsStreamed(), "every key but key-7 was new at b");
      assertTrue(empty.tablesIngested() >= 1);
      assertEquals(12_346, empty.get(k("key-12345")).orElseThrow().counterValue());

      a.start(member(empty, "b"), now[0]); // the last difference (key-7) goes the precise way
      deliver(a, b);
      assertEquals(full.tree().root(), empty.tree().root());
    }
  }

  /**
   * Two replicas that took different writes all over the tree (a partition healed): both stream,
   * and the one streamed from still starts its own exchanges with the other — only a peer found
   * emptier is left to stream alone — so each ends with the other's writes.
   */
  @Test
  void replicasThatBothTookWritesBothStreamAndConverge() {
    long[] now = {1_000};
    try (Store left = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE));
        Store right = Store.open(StoreOptions.defaults(dir.resolve("b"), SyncPolicy.NONE))) {
      counters(left, "left-", 40_000, i -> 1);
      counters(right, "right-", 40_000, i -> 1);
      AntiEntropy a = node("a", left, member(right, "b"), now);
      AntiEntropy b = node("b", right, member(left, "a"), now);
      b.start(member(left, "a"), now[0]);
      for (int round = 0; round < 100 && !wire.isEmpty(); round++) {
        deliver(a, b);
      }
      assertTrue(b.lastExchanges().get(0).detail().startsWith("streamed 40000 keys"), b.lastExchanges().toString());
      now[0] += AntiEntropyConfig.DEFAULTS.intervalMs();
      a.tick();
      assertTrue(a.exchanging(), "the node streamed from started no exchange of its own with the streaming peer");
      for (int round = 0; round < 100 && !wire.isEmpty(); round++) {
        deliver(a, b);
      }
      assertEquals(left.tree().root(), right.tree().root());
      assertEquals(1, left.get(k("right-39999")).orElseThrow().counterValue());
    }
  }

  /**
   * Requests no correct peer sends are dropped before any work: an {@code AeHashes} at level
   * 2^31 - 1 held the protocol thread 11 s; an {@code AeSegments} repeating one segment 15 s.
   */
  @Test
  void workBombRequestsAreRefusedBeforeAnyWork() {
    long[] now = {1_000};
    try (Store store = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE))) {
      for (int i = 0; i < 100; i++) {
        store.apply(k("key-" + i), new CrdtUpdate.CounterAdd(1));
      }
      NodeId attacker = new NodeId(7, 7);
      AntiEntropy a = new AntiEntropy(store.nodeId(), AntiEntropyConfig.DEFAULTS, () -> now[0], new Random(1),
          (to, m) -> wire.add(new Object[] {to, m}),
          () -> List.of(new Member(attacker, "x", 1, MemberStatus.ALIVE, 0, 0)), new StoreReplica(store),
          StorageRunner.inline());
      int segments = store.tree().segments();
      int[] repeated = new int[37_000];
      java.util.Arrays.fill(repeated, 5);
      List<PeerMessage> bombs = List.of(
          new PeerMessage.AeHashes(attacker, 1, Integer.MAX_VALUE, new int[] {0}),
          new PeerMessage.AeHashes(attacker, 1, -1, new int[] {0}),
          new PeerMessage.AeHashes(attacker, 1, 1, new int[] {segments}),
          new PeerMessage.AeHashes(attacker, 1, 0, new int[segments + 1]),
          new PeerMessage.AeSegments(attacker, 1, repeated),
          new PeerMessage.AeSegments(attacker, 1, new int[] {3, 3}),
          new PeerMessage.AeSegments(attacker, 1, new int[] {-1}),
          new PeerMessage.AeSegments(attacker, 1, java.util.stream.IntStream.range(0, 65).toArray()),
          new PeerMessage.AeFetch(attacker, 1, java.util.Collections.nCopies(1_001, k("key-1"))),
          new PeerMessage.AeStates(attacker, 1, java.util.Collections.nCopies(1_001,
              new PeerMessage.KeyState(k("key-1"), io.latticekv.core.crdt.PnCounter.empty())), true));
      long start = System.nanoTime();
      for (PeerMessage bomb : bombs) {
        a.receive(bomb);
      }
      assertTrue(wire.isEmpty(), "a refused request gets no answer: " + wire);
      assertEquals(bombs.size(), a.requestsRefused());
      assertTrue(System.nanoTime() - start < 2_000_000_000L, "refusing took " + (System.nanoTime() - start) / 1e6 + " ms");

      a.receive(new PeerMessage.AeSegments(attacker, 1, java.util.stream.IntStream.range(0, 64).toArray()));
      assertEquals(1, wire.size(), "a request within the caps is answered");
    }
  }

  @Test
  void aSegmentListingStopsAtTheByteLimitAndSaysWhichSegmentsItHolds() {
    long[] now = {1_000};
    try (Store store = Store.open(StoreOptions.defaults(dir.resolve("a"), SyncPolicy.NONE).withSegmentBits(2))) {
      for (int i = 0; i < 400; i++) {
        store.apply(k("a-long-key-to-fill-the-listing-" + i), new CrdtUpdate.CounterAdd(1));
      }
      NodeId peer = new NodeId(7, 7);
      AntiEntropyConfig small = new AntiEntropyConfig(1_000, 64, 1_000, 4_096, 5_000);
      AntiEntropy a = new AntiEntropy(store.nodeId(), small, () -> now[0], new Random(1),
          (to, m) -> wire.add(new Object[] {to, m}),
          () -> List.of(new Member(peer, "x", 1, MemberStatus.ALIVE, 0, 0)), new StoreReplica(store),
          StorageRunner.inline());
      a.receive(new PeerMessage.AeSegments(peer, 1, new int[] {0, 1, 2, 3}));
      PeerMessage.AeSegmentsReply reply = (PeerMessage.AeSegmentsReply) wire.poll()[1];
      assertEquals(1, reply.segments().length, "the first segment alone passes 4 KiB");
      assertEquals(store.segmentEntries(reply.segments()[0]).size(), reply.entries().size(), "listed whole");
    }
  }
}
