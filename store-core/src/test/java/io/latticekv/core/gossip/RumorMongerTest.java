package io.latticekv.core.gossip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.transport.PeerMessage;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RumorMongerTest {

  @Test
  void withNobodyToTellRumorsStillCoolAfterTheRoundLimit() {
    long[] now = {0};
    NodeId self = new NodeId(0, 1);
    RumorMonger rumors = new RumorMonger(self, RumorConfig.DEFAULTS, () -> now[0], new Random(1),
        (to, m) -> { throw new AssertionError("nobody to send to"); }, List::of, () -> 1, RumorMonger.Sink.oneByOne((k, d) -> true));
    for (int i = 0; i < 100; i++) {
      rumors.hot(ByteString.copyFromUtf8("k" + i), PnCounter.empty().addDelta(self, 1));
    }
    assertEquals(100, rumors.queueLength());
    for (int round = 0; round < 20; round++) {
      rumors.tick();
      now[0] += RumorConfig.DEFAULTS.gossipIntervalMs();
    }
    assertEquals(0, rumors.queueLength(), "a node alone must not keep rumors forever");
  }

  /**
   * In a small cluster every peer is soon known to hold a rumor — it acknowledged it, or sent it
   * — and pushing it there again is waste: the rumor goes to each peer at most once from each
   * node, whatever k and the round limit would allow.
   */
  @Test
  void aRumorIsNotPushedAgainToPeersKnownToHoldIt() {
    for (RumorConfig.Mode mode : List.of(RumorConfig.Mode.PUSH, RumorConfig.Mode.PUSH_PULL)) {
      for (int n : new int[] {2, 3, 5}) {
        RumorRounds.Outcome o = RumorRounds.spreadOne(7, n, RumorConfig.DEFAULTS.withMode(mode), 0);
        assertEquals(n, o.reached());
        // The origin tells fanout peers; every node that learns it tells the peers it is not known
        // to hold it: at most n - 1 sends per node.
        long bound = (long) n * (n - 1);
        org.junit.jupiter.api.Assertions.assertTrue(o.rumorsSent() <= bound,
            mode + ", n = " + n + ": " + o.rumorsSent() + " rumor sends, bound " + bound);
      }
    }
  }

  /**
   * A push says which other peers it went to, so its receivers do not relay the rumor there: in a
   * 3-node cluster the origin's two sends are all (they were four, each relay a useless merge).
   * A lost send is made good by the origin, which saw no acknowledgement and sends again, up to
   * the round limit (4 sends at N = 3): at 30 % loss a peer misses the rumor when all four are
   * lost, 0.3^4 = 0.8 % of the time, and anti-entropy (not run here) repairs it. Were the origin
   * not to send again, a third of the seeds would miss a peer.
   */
  @Test
  void aPushNamesItsOtherTargetsSoTheyAreNotSentItAgain() {
    for (RumorConfig.Mode mode : List.of(RumorConfig.Mode.PUSH, RumorConfig.Mode.PUSH_PULL)) {
      RumorRounds.Outcome o = RumorRounds.spreadOne(7, 3, RumorConfig.DEFAULTS.withMode(mode), 0);
      assertEquals(3, o.reached());
      assertEquals(2, o.rumorsSent(), mode + ": rumor sends in a 3-node cluster");
      int seeds = 400;
      int missed = 0;
      for (long seed = 0; seed < seeds; seed++) {
        missed += 3 - RumorRounds.spreadOne(seed, 3, RumorConfig.DEFAULTS.withMode(mode), 0.3).reached();
      }
      // Two peers per seed, each missing with p = 0.0081: 6.5 peers expected of 800.
      assertTrue(missed <= 20, mode + ", 30 % loss: " + missed + " peers of " + 2 * seeds + " never got the rumor");
    }
  }

  /**
   * One rumor naming 20,000 invented origins raised a node's peer traffic 350-fold for good, since
   * the digest that rides on every round kept them all; with 200,000 it outgrew the frame limit.
   */
  @Test
  void inventedRumorOriginsNeverReachTheDigest() {
    long[] now = {0};
    NodeId self = new NodeId(0, 1);
    NodeId peer = new NodeId(0, 2);
    java.util.Set<NodeId> members = java.util.Set.of(self, peer);
    List<PeerMessage> sent = new java.util.ArrayList<>();
    List<io.latticekv.core.membership.Member> peers = List.of(
        new io.latticekv.core.membership.Member(peer, "peer", 1, io.latticekv.core.membership.MemberStatus.ALIVE, 0, 0));
    RumorMonger rumors = new RumorMonger(self, RumorConfig.DEFAULTS, () -> now[0], new Random(1),
        (to, m) -> sent.add(m), () -> peers, () -> 2,
        id -> members.contains(id) ? new io.latticekv.core.membership.Member(id, "peer", 1,
            io.latticekv.core.membership.MemberStatus.ALIVE, 0, 0) : null,
        RumorMonger.Sink.oneByOne((k, d) -> true), io.latticekv.core.cluster.StorageRunner.inline());
    java.util.Map<NodeId, Long> forged = new java.util.HashMap<>();
    Random random = new Random(2);
    for (int i = 0; i < 20_000; i++) {
      forged.put(NodeId.random(random), 1L);
    }
    forged.put(peer, 5L);
    rumors.receive(new PeerMessage.RumorBatch(peer, 1, List.of(
        new PeerMessage.Rumor(ByteString.copyFromUtf8("k"), PnCounter.empty().addDelta(peer, 1), forged)), null));
    for (int round = 0; round < 10; round++) {
      now[0] += RumorConfig.DEFAULTS.gossipIntervalMs();
      rumors.tick();
    }
    int largest = 0;
    for (PeerMessage m : sent) {
      if (m instanceof PeerMessage.RumorBatch b) {
        largest = Math.max(largest, b.digest() == null ? 0 : b.digest().size());
        for (PeerMessage.Rumor r : b.rumors()) {
          assertTrue(r.versions().size() <= 2, "a re-spread rumor carries " + r.versions().size() + " origins");
        }
      }
    }
    assertTrue(largest > 0, "push-pull rounds carry a digest");
    assertTrue(largest <= 2, "the digest names " + largest + " origins; there are 2 members");
  }

  private static io.latticekv.core.membership.Member member(NodeId id) {
    return new io.latticekv.core.membership.Member(id, "peer-" + id, 1, io.latticekv.core.membership.MemberStatus.ALIVE,
        0, 0);
  }

  /** A monger at node 1 with peers 2..n, recording what it sends (address, message). */
  private static RumorMonger monger(long[] now, int n, long seed, List<java.util.Map.Entry<String, PeerMessage>> sent,
      int[] wakes) {
    NodeId self = new NodeId(0, 1);
    List<io.latticekv.core.membership.Member> peers = new java.util.ArrayList<>();
    for (int i = 2; i <= n; i++) {
      peers.add(member(new NodeId(0, i)));
    }
    RumorMonger rumors = new RumorMonger(self, RumorConfig.DEFAULTS, () -> now[0], new Random(seed),
        (to, m) -> sent.add(java.util.Map.entry(to, m)), () -> peers, () -> n,
        id -> id.equals(self) ? member(self) : peers.stream().filter(m -> m.id().equals(id)).findFirst().orElse(null),
        RumorMonger.Sink.oneByOne((k, d) -> true), io.latticekv.core.cluster.StorageRunner.inline());
    rumors.onUnsent(() -> wakes[0]++);
    return rumors;
  }

  private static List<PeerMessage.RumorBatch> batches(List<java.util.Map.Entry<String, PeerMessage>> sent) {
    return sent.stream().map(java.util.Map.Entry::getValue).filter(m -> m instanceof PeerMessage.RumorBatch)
        .map(m -> (PeerMessage.RumorBatch) m).toList();
  }

  /**
   * A new rumor leaves at the driver's next pass, not at the next round (up to 50 ms later), and
   * the rumors of one pass leave in one batch: the first push of each, to fanout peers.
   */
  @Test
  void aNewRumorIsPushedAtTheNextPassNotAtTheNextRound() {
    long[] now = {0};
    List<java.util.Map.Entry<String, PeerMessage>> sent = new java.util.ArrayList<>();
    int[] wakes = {0};
    RumorMonger rumors = monger(now, 5, 1, sent, wakes);
    NodeId self = new NodeId(0, 1);
    rumors.tick(); // the round of t = 0, with nothing to say; the next is at t = 50
    sent.clear();
    now[0] = 1;
    rumors.hot(ByteString.copyFromUtf8("a"), PnCounter.empty().addDelta(self, 1));
    rumors.hot(ByteString.copyFromUtf8("b"), PnCounter.empty().addDelta(self, 1));
    assertTrue(wakes[0] > 0, "the driver was not told a rumor is waiting");
    now[0] = 2;
    rumors.tick();
    List<PeerMessage.RumorBatch> pushed = batches(sent);
    assertEquals(RumorConfig.DEFAULTS.fanout(), pushed.size(), "one batch per fanout peer, at once");
    for (PeerMessage.RumorBatch b : pushed) {
      assertEquals(2, b.rumors().size(), "the rumors of one pass go in one batch");
    }
    assertEquals(RumorConfig.DEFAULTS.fanout(), sent.stream().map(java.util.Map.Entry::getKey).distinct().count());
    sent.clear();
    now[0] = 3;
    rumors.pushUnsent();
    rumors.tick();
    assertTrue(sent.isEmpty(), "a rumor already pushed waits for the round: " + sent);
    assertEquals(1, rumors.pushesAtOnce());
  }

  /**
   * A rumor that was news here goes on at once to fanout peers that are not known to hold it:
   * never back to the peer it came from while others lack it, so a relay covers the nodes the
   * first push missed (at N = 5 with fanout 3, the one node left).
   */
  @Test
  void aRelayGoesToPeersNotKnownToHoldTheRumor() {
    for (long seed = 0; seed < 20; seed++) {
      long[] now = {1};
      List<java.util.Map.Entry<String, PeerMessage>> sent = new java.util.ArrayList<>();
      RumorMonger rumors = monger(now, 5, seed, sent, new int[1]);
      NodeId from = new NodeId(0, 2);
      rumors.receive(new PeerMessage.RumorBatch(from, 1, List.of(new PeerMessage.Rumor(ByteString.copyFromUtf8("k"),
          PnCounter.empty().addDelta(from, 1), java.util.Map.of(from, 1L))), null));
      sent.removeIf(e -> !(e.getValue() instanceof PeerMessage.RumorBatch)); // the ack
      rumors.pushUnsent();
      List<String> to = sent.stream().map(java.util.Map.Entry::getKey).toList();
      assertEquals(3, to.size(), "seed " + seed + ": " + to);
      assertTrue(!to.contains("peer-" + from), "seed " + seed + ": the relay went back to its sender: " + to);
    }
  }

  /**
   * A rumor whose push went to every peer (its sender and the peers the push also went to are all
   * of them) leaves nobody to tell: its receiver does not queue it, and its rounds send nothing of
   * it. In a 3-node cluster that is every rumor from its origin. Without also-sent-to, or joined to
   * a rumor of this node's own that the peers lack, it is queued and goes on.
   */
  @Test
  void aRumorEveryPeerWasSentIsNotQueuedByItsReceiver() {
    long[] now = {1};
    List<java.util.Map.Entry<String, PeerMessage>> sent = new java.util.ArrayList<>();
    RumorMonger rumors = monger(now, 3, 1, sent, new int[1]);
    NodeId self = new NodeId(0, 1);
    NodeId from = new NodeId(0, 2);
    NodeId other = new NodeId(0, 3);
    rumors.receive(new PeerMessage.RumorBatch(from, 1, List.of(new PeerMessage.Rumor(ByteString.copyFromUtf8("all"),
        PnCounter.empty().addDelta(from, 1), java.util.Map.of(from, 1L))), null, List.of(other)));
    assertEquals(0, rumors.queueLength(), "a rumor every peer was sent is queued");
    for (int round = 0; round < 10; round++) {
      now[0] += RumorConfig.DEFAULTS.gossipIntervalMs();
      rumors.tick();
    }
    for (PeerMessage.RumorBatch b : batches(sent)) {
      assertTrue(b.rumors().isEmpty(), "a rumor every peer was sent went out again: " + b);
    }

    sent.clear();
    rumors.receive(new PeerMessage.RumorBatch(from, 2, List.of(new PeerMessage.Rumor(ByteString.copyFromUtf8("one"),
        PnCounter.empty().addDelta(from, 2), java.util.Map.of(from, 2L))), null, List.of()));
    assertEquals(1, rumors.queueLength(), "a rumor peer 3 was not sent is not queued");
    now[0]++;
    rumors.pushUnsent();
    List<String> to = sent.stream().filter(e -> e.getValue() instanceof PeerMessage.RumorBatch)
        .map(java.util.Map.Entry::getKey).toList();
    assertEquals(List.of("peer-" + other), to, "the relay goes to the peer that was not sent it");

    ByteString mine = ByteString.copyFromUtf8("mine");
    rumors.hot(mine, PnCounter.empty().addDelta(self, 1));
    rumors.receive(new PeerMessage.RumorBatch(from, 3, List.of(new PeerMessage.Rumor(mine,
        PnCounter.empty().addDelta(from, 1), java.util.Map.of(from, 3L))), null, List.of(other)));
    assertTrue(rumors.isQueued(mine),
        "this node's own increment, which no peer holds, stopped spreading when a peer's push joined it");
  }

  /**
   * A key written all the time joins a delta per write into its queued rumor. For a set that grew
   * the rumor toward the whole set, joined (a merge of its size) on every write: 10,000 adds
   * between two takes cost the protocol thread 10,000 merges of up to 10,000 elements. Past
   * {@link RumorMonger#JOINED_BYTES_MAX} the rumor starts again from the newer delta, counted as
   * dropped (anti-entropy repairs what a peer missed).
   */
  @Test
  void aKeysRumorStopsGrowingPastItsLimit() {
    long[] now = {1};
    List<java.util.Map.Entry<String, PeerMessage>> sent = new java.util.ArrayList<>();
    RumorMonger rumors = monger(now, 3, 1, sent, new int[1]);
    io.latticekv.core.crdt.CrdtUpdate.Writer writer = new io.latticekv.core.crdt.CrdtUpdate.Writer(new NodeId(0, 1),
        () -> new io.latticekv.core.clock.HlcTimestamp(1L << 16), 0, new java.util.concurrent.atomic.AtomicLong()::incrementAndGet);
    ByteString key = ByteString.copyFromUtf8("set");
    io.latticekv.core.crdt.Lives state = io.latticekv.core.crdt.Lives.empty();
    for (int i = 0; i < 10_000; i++) {
      io.latticekv.core.crdt.Lives delta = new io.latticekv.core.crdt.CrdtUpdate.SetUpdate(
          List.of(ByteString.copyFromUtf8("element-" + i)), List.of(), java.util.Optional.empty()).delta(state, writer);
      state = state.merge(delta);
      rumors.hot(key, delta);
    }
    assertEquals(1, rumors.queueLength());
    assertTrue(rumors.dropped() > 0, "the rumor never started again");
    rumors.pushUnsent();
    long largest = 0;
    for (PeerMessage.RumorBatch b : batches(sent)) {
      for (PeerMessage.Rumor r : b.rumors()) {
        largest = Math.max(largest, r.delta().encode().length);
      }
    }
    assertTrue(largest > 0, "nothing was pushed");
    assertTrue(largest <= RumorMonger.JOINED_BYTES_MAX, "a rumor of " + largest + " bytes");
  }

  /**
   * Pushing at once adds at most about a round's traffic: a key written all the time goes at once
   * once a round (its rumor's sends start again at every write), and a burst of rumors goes at
   * once up to one batch's bytes a round, the rest at the rounds' pace.
   */
  @Test
  void pushingAtOnceIsBoundedPerKeyAndPerRound() {
    long[] now = {0};
    List<java.util.Map.Entry<String, PeerMessage>> sent = new java.util.ArrayList<>();
    RumorMonger rumors = monger(now, 5, 3, sent, new int[1]);
    NodeId self = new NodeId(0, 1);
    ByteString hotKey = ByteString.copyFromUtf8("hot");
    rumors.tick(); // the round of t = 0
    int pushes = 0;
    for (now[0] = 1; now[0] < RumorConfig.DEFAULTS.gossipIntervalMs(); now[0]++) {
      rumors.hot(hotKey, PnCounter.empty().addDelta(self, 1));
      sent.clear();
      rumors.tick();
      pushes += batches(sent).isEmpty() ? 0 : 1;
    }
    assertEquals(1, pushes, "a key written every millisecond went at once " + pushes + " times in a round");

    now[0] = RumorConfig.DEFAULTS.gossipIntervalMs();
    rumors.tick(); // the next round
    sent.clear();
    for (int i = 0; i < 20_000; i++) {
      rumors.hot(ByteString.copyFromUtf8("burst-" + i), PnCounter.empty().addDelta(self, 1));
    }
    long start = now[0];
    for (now[0] = start + 1; now[0] < start + RumorConfig.DEFAULTS.gossipIntervalMs(); now[0]++) {
      rumors.tick();
    }
    java.util.Map<String, Long> bytesTo = new java.util.HashMap<>();
    long largest = 0;
    for (java.util.Map.Entry<String, PeerMessage> e : sent) {
      if (e.getValue() instanceof PeerMessage.RumorBatch b) {
        for (PeerMessage.Rumor r : b.rumors()) {
          long bytes = r.delta().encode().length + r.key().size();
          largest = Math.max(largest, bytes);
          bytesTo.merge(e.getKey(), bytes, Long::sum);
        }
      }
    }
    assertTrue(!bytesTo.isEmpty(), "nothing of the burst went at once");
    for (long bytes : bytesTo.values()) {
      assertTrue(bytes <= RumorConfig.DEFAULTS.batchBytesMax() + largest,
          bytes + " bytes of the burst went at once to one peer within a round");
    }
  }
}
