package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Level;
import io.latticekv.server.LatticeNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** w and r levels on three real nodes, in the clear and over TLS with logins. */
class ConsistencyLevelTest {

  @TempDir Path dir;

  /** Without rumors, anti-entropy is off too: only replica writes and reads move data. */
  private TestCluster cluster(boolean tls, boolean rumors) throws Exception {
    // (An anti-entropy exchange between a write and a read would repair what the read must find stale.)
    TestCluster cluster = new TestCluster(dir, rumors, rumors ? AntiEntropyConfig.DEFAULTS : null);
    return tls ? cluster.secure() : cluster;
  }

  private static LatticeClient client(TestCluster cluster, int i, Level w, Level r) {
    return cluster.client(i).writeLevel(w).readLevel(r).build();
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void withOneOfThreeDownQuorumWritesSucceedAndAllWritesFailClearly(boolean tls) throws Exception {
    try (TestCluster cluster = TestCluster.start(cluster(tls, true), 3)) {
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

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void aReadAtAllMergesEveryReplicaAndRepairsTheStaleOnes(boolean tls) throws Exception {
    try (TestCluster cluster = TestCluster.start(cluster(tls, false), 3)) { // no rumors: only reads repair
      List<LatticeNode> nodes = cluster.nodes;
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(nodes, 3), 15_000) >= 0);
      try (LatticeClient c0 = cluster.client(0).build();
          LatticeClient c1 = cluster.client(1).build();
          LatticeClient c1all = cluster.client(1).readLevel(Level.LEVEL_ALL).build()) {
        c0.add("s", "from-0");
        c1.add("s", "from-1");
        assertEquals(List.of("from-1"), c1.elements("s").elementsAsStrings(), "no rumors: node 1 has only its own add");
        assertEquals(List.of("from-0", "from-1"), c1all.elements("s").elementsAsStrings());
        ByteString key = ByteString.copyFromUtf8("s");
        assertTrue(ClusterTest.await(() -> nodes.stream().allMatch(n -> n.store().get(key)
            .map(state -> state.elements().size() == 2).orElse(false)), 2_000) >= 0,
            "read repair did not bring every replica up to date");
      }
    }
  }
}
