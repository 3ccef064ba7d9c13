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
        (to, m) -> { throw new AssertionError("nobody to send to"); }, List::of, () -> 1, (k, d) -> true);
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
}
