package io.latticekv.core.gossip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.PnCounter;
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
}
