package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropy;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.cluster.StoreReplica;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.server.peer.PeerCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;

/**
 * The cost of finding a small difference in a large store: two replicas of {@code keys} counters
 * that differ in {@code differing} keys; one exchange between them, with messages handed over in
 * memory and sized as they would be on the wire.
 *
 * <p>Run: {@code bench/anti-entropy [KEYS] [DIFFERING]} (default 1,000,000 and 10); {@code bench/anti-entropy
 * --set ELEMENTS [DIFFERING]}: one set of ELEMENTS elements instead, two thirds of the differences
 * adds on one side and a third removes on the other (repaired by buckets, docs/gossip.md).
 */
public final class AntiEntropyBenchmark {

  public static void main(String[] args) throws Exception {
    boolean set = args.length > 0 && args[0].equals("--set");
    int first = set ? 1 : 0;
    int keys = args.length > first ? Integer.parseInt(args[first]) : 1_000_000;
    int differing = args.length > first + 1 ? Integer.parseInt(args[first + 1]) : 10;
    Path root = Files.createTempDirectory("ae-bench");
    try (Store a = Store.open(StoreOptions.defaults(root.resolve("a"), SyncPolicy.NONE));
        Store b = Store.open(StoreOptions.defaults(root.resolve("b"), SyncPolicy.NONE))) {
      long start = System.nanoTime();
      if (set) {
        loadSet(a, b, keys, differing);
      } else {
        loadCounters(a, b, keys, differing);
      }
      System.out.printf("loaded %,d %s into two stores in %.1f s%n", keys, set ? "elements of one set" : "keys",
          (System.nanoTime() - start) / 1e9);

      ArrayDeque<Object[]> wire = new ArrayDeque<>();
      long[] bytes = {0};
      long[] messages = {0};
      Member ma = new Member(a.nodeId(), "a", 1, MemberStatus.ALIVE, 0, 0);
      Member mb = new Member(b.nodeId(), "b", 1, MemberStatus.ALIVE, 0, 0);
      AntiEntropy ea = new AntiEntropy(a.nodeId(), AntiEntropyConfig.DEFAULTS, System::currentTimeMillis, new Random(1),
          (to, m) -> send(wire, bytes, messages, to, m), () -> List.of(mb), new StoreReplica(a), StorageRunner.inline());
      AntiEntropy eb = new AntiEntropy(b.nodeId(), AntiEntropyConfig.DEFAULTS, System::currentTimeMillis, new Random(2),
          (to, m) -> send(wire, bytes, messages, to, m), () -> List.of(ma), new StoreReplica(b), StorageRunner.inline());
      long t = System.nanoTime();
      ea.start(mb, System.currentTimeMillis());
      while (!wire.isEmpty()) {
        Object[] m = wire.poll();
        ("a".equals(m[0]) ? ea : eb).receive((PeerMessage) m[1]);
      }
      double ms = (System.nanoTime() - t) / 1e6;
      System.out.printf("one exchange: %d messages, %,d bytes, %.1f ms; roots now %s; %s%n", messages[0], bytes[0], ms,
          a.tree().root() == b.tree().root() ? "equal" : "DIFFERENT", ea.lastExchanges().get(0));
    }
  }

  /** {@code keys} counters on both; {@code differing} of them incremented once more on {@code a}. */
  private static void loadCounters(Store a, Store b, int keys, int differing) {
    NodeId writer = new NodeId(1, 1);
    for (int i = 0; i < keys; i++) {
      CrdtUpdate state = new CrdtUpdate.JoinState(PnCounter.empty().add(writer, i + 1L));
      ByteString key = ByteString.copyFromUtf8("key-" + i);
      a.apply(key, state);
      b.apply(key, state);
    }
    Random random = new Random(7);
    for (int d = 0; d < differing; d++) {
      a.apply(ByteString.copyFromUtf8("key-" + random.nextInt(keys)), new CrdtUpdate.CounterAdd(1));
    }
  }

  /** One set of {@code elements} on both; then {@code differing} changes, adds on {@code a} and removes on {@code b}. */
  private static void loadSet(Store a, Store b, int elements, int differing) {
    List<ByteString> all = new java.util.ArrayList<>(elements);
    for (int i = 0; i < elements; i++) {
      all.add(ByteString.copyFromUtf8("member:" + i));
    }
    CrdtUpdate state = new CrdtUpdate.JoinState(OrSet.empty().addAll(new NodeId(1, 1), all));
    ByteString key = ByteString.copyFromUtf8("big");
    a.apply(key, state);
    b.apply(key, state);
    Random random = new Random(7);
    for (int d = 0; d < differing; d++) {
      if (d % 3 == 2) {
        b.apply(key, new CrdtUpdate.SetUpdate(List.of(), List.of(all.get(random.nextInt(elements))),
            java.util.Optional.empty()));
      } else {
        a.apply(key, new CrdtUpdate.SetUpdate(List.of(ByteString.copyFromUtf8("new:" + d)), List.of(),
            java.util.Optional.empty()));
      }
    }
    System.out.printf("the set takes %,d bytes encoded%n", a.get(key).orElseThrow().encode().length);
  }

  private static void send(ArrayDeque<Object[]> wire, long[] bytes, long[] messages, String to, PeerMessage m) {
    messages[0]++;
    bytes[0] += PeerCodec.encode(m).getSerializedSize();
    wire.add(new Object[] {to, m});
  }
}
