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
}
