package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Level;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cluster.ClusterService;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** w and r levels on three real nodes. */
class ConsistencyLevelTest {

  @TempDir Path dir;

  private static LatticeClient client(TestCluster cluster, int i, Level w, Level r) {
    return LatticeClient.builder().addresses(cluster.clientAddress(i)).writeLevel(w).readLevel(r).build();
  }

  @Test
  void withOneOfThreeDownQuorumWritesSucceedAndAllWritesFailClearly() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 3)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      try (LatticeClient all = client(cluster, 0, Level.LEVEL_ALL, Level.LEVEL_ALL)) {
        assertEquals(1, all.increment("c", 1), "w=all with every node up");
      }
      cluster.nodes.get(2).halt();
      cluster.nodes.set(2, null);
      try (LatticeClient all = client(cluster, 0, Level.LEVEL_ALL, Level.LEVEL_ONE);
          LatticeClient quorum = client(cluster, 0, Level.LEVEL_QUORUM, Level.LEVEL_QUORUM)) {
        LatticeException e = assertThrows(LatticeException.class, () -> all.increment("c", 1));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().startsWith("w=all needs 3 replicas; "), e.getMessage());
        assertEquals(3, quorum.increment("c", 1), "w=quorum with two of three up (the failed w=all still applied here)");
        assertEquals(3, quorum.counter("c"), "r=quorum");
      }
    }
  }

  @Test
  void aReadAtAllMergesEveryReplicaAndRepairsTheStaleOnes() throws Exception {
    List<LatticeNode> nodes = new ArrayList<>();
    try {
      String seed = null;
      for (int i = 0; i < 3; i++) {
        ClusterService.Settings settings = TestCluster.settings(0, seed == null ? List.of() : List.of(seed), "test",
            io.latticekv.core.cluster.ClusterConfig.DEFAULTS.withMembership(TestCluster.MEMBERSHIP)
                .withRumors(null)); // no rumors: only reads repair
        LatticeNode node = new LatticeNode(StoreOptions.defaults(dir.resolve("n" + i), SyncPolicy.NONE),
            new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings);
        nodes.add(node);
        if (seed == null) {
          seed = node.cluster().peerAddress();
        }
      }
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(nodes, 3), 15_000) >= 0);
      String[] at = new String[3];
      for (int i = 0; i < 3; i++) {
        at[i] = "127.0.0.1:" + nodes.get(i).clientAddress().getPort();
      }
      try (LatticeClient c0 = LatticeClient.builder().addresses(at[0]).build();
          LatticeClient c1 = LatticeClient.builder().addresses(at[1]).build();
          LatticeClient c1all = LatticeClient.builder().addresses(at[1]).readLevel(Level.LEVEL_ALL).build()) {
        c0.add("s", "from-0");
        c1.add("s", "from-1");
        assertEquals(List.of("from-1"), c1.elements("s").elementsAsStrings(), "no rumors: node 1 has only its own add");
        assertEquals(List.of("from-0", "from-1"), c1all.elements("s").elementsAsStrings());
        ByteString key = ByteString.copyFromUtf8("s");
        assertTrue(ClusterTest.await(() -> nodes.stream().allMatch(n -> n.store().get(key)
            .map(state -> ((io.latticekv.core.crdt.OrSet) state).size() == 2).orElse(false)), 2_000) >= 0,
            "read repair did not bring every replica up to date");
      }
    } finally {
      nodes.forEach(LatticeNode::halt);
    }
  }
}
