package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.server.LatticeNode;
import io.latticekv.testing.Batches;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Merkle anti-entropy on real nodes: it alone converges replicas, catches up stopped and restored nodes. */
class AntiEntropyClusterTest {

  /** Faster and wider than the defaults, so that catching up 10,000 keys takes seconds in a test. */
  static final AntiEntropyConfig FAST = new AntiEntropyConfig(100, 4_096, 5_000, 4 << 20, 5_000);

  @TempDir Path dir;

  private static boolean converged(List<LatticeNode> nodes) {
    String root = null;
    for (LatticeNode node : nodes) {
      if (node == null) {
        continue;
      }
      String r = String.format("%016x", node.store().tree().root());
      if (root != null && !root.equals(r)) {
        return false;
      }
      root = r;
    }
    return true;
  }

  /** Over the network, rumors off: a large set that differs in a few elements goes by its differing buckets. */
  @Test
  void aLargeSetIsRepairedByItsDifferingBuckets() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, false, FAST), 2)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 2), 15_000) >= 0);
      try (LatticeClient c0 = LatticeClient.builder().addresses(cluster.clientAddress(0)).build();
          LatticeClient c1 = LatticeClient.builder().addresses(cluster.clientAddress(1)).build()) {
        List<String> members = java.util.stream.IntStream.range(0, 20_000).mapToObj(i -> "member:" + i).toList();
        Batches.inChunks(members, chunk -> c0.add("big", chunk.toArray(new String[0])));
        assertTrue(ClusterTest.await(() -> converged(cluster.nodes), 20_000) >= 0, "the set did not reach node 2");
        long partsBefore = partsSent(cluster);
        c0.remove("big", "member:5");
        c1.add("big", "from-1-a", "from-1-b");
        long took = ClusterTest.await(() -> converged(cluster.nodes), 20_000);
        assertTrue(took >= 0, "the set's few differences were not repaired");
        // Status is a snapshot taken every 50 ms: it may trail the exchange that repaired the set.
        assertTrue(ClusterTest.await(() -> partsSent(cluster) > partsBefore, 5_000) >= 0,
            "the set was repaired whole, not by its buckets");
        assertEquals(20_001, c0.size("big"));
        assertEquals(20_001, c1.size("big"));
        assertTrue(c1.contains("big", "from-1-b") && !c1.contains("big", "member:5") && c0.contains("big", "from-1-a"));
      }
    }
  }

  private static long partsSent(TestCluster cluster) {
    long sum = 0;
    for (LatticeNode node : cluster.nodes) {
      sum += node.cluster().status().node().setPartsSent();
    }
    return sum;
  }

  @Test
  void withoutRumorsDisjointWritesReachEveryNode() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, false, FAST), 3)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      for (int i = 0; i < 3; i++) {
        try (LatticeClient c = LatticeClient.builder().addresses(cluster.clientAddress(i)).build()) {
          for (int k = 0; k < 200; k++) {
            c.increment("n" + i + "-k" + k, k + 1);
          }
          c.add("shared-set", "from-" + i);
        }
      }
      long took = ClusterTest.await(() -> converged(cluster.nodes), 20_000);
      assertTrue(took >= 0, "anti-entropy alone did not converge three nodes within 20 s");
      System.out.println("3 nodes, rumors off: converged by anti-entropy in " + took + " ms");
      for (int i = 0; i < 3; i++) {
        try (LatticeClient c = LatticeClient.builder().addresses(cluster.clientAddress(i)).build()) {
          assertEquals(200, c.counter("n" + ((i + 1) % 3) + "-k199"));
          assertEquals(List.of("from-0", "from-1", "from-2"), c.elements("shared-set").elementsAsStrings());
        }
      }
    }
  }

  @Test
  void aNodeStoppedDuringTenThousandWritesCatchesUp() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, true, FAST), 3)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      cluster.nodes.get(2).halt();
      cluster.nodes.set(2, null);
      try (LatticeClient c0 = LatticeClient.builder().addresses(cluster.clientAddress(0)).build();
          LatticeClient c1 = LatticeClient.builder().addresses(cluster.clientAddress(1)).build()) {
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int w = 0; w < 10_000; w++) {
          acks.add((w % 2 == 0 ? c0 : c1).incrementAsync("w" + (w % 5_000), 1));
        }
        for (CompletableFuture<Long> f : acks) {
          f.get();
        }
      }
      cluster.startNode(2);
      long took = ClusterTest.await(() -> converged(cluster.nodes), 60_000);
      assertTrue(took >= 0, "the restarted node did not catch up within 60 s");
      System.out.println("restarted node caught up with 10,000 writes (5,000 keys) in " + took + " ms");
      try (LatticeClient c2 = LatticeClient.builder().addresses(cluster.clientAddress(2)).build()) {
        for (int k = 0; k < 5_000; k += 499) {
          assertEquals(2, c2.counter("w" + k));
        }
      }
    }
  }

  @Test
  void aNodeRestoredFromAnOlderCopyCatchesUpAndLosesNothingItTakesAfterwards() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, true, FAST), 3)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      try (LatticeClient c2 = LatticeClient.builder().addresses(cluster.clientAddress(2)).build()) {
        c2.increment("hits", 10);
        c2.add("tags", "old");
      }
      assertTrue(ClusterTest.await(() -> converged(cluster.nodes), 10_000) >= 0);
      cluster.nodes.get(2).halt();
      Path backup = dir.resolve("backup");
      io.latticekv.testing.TestFiles.copyTree(cluster.dir(2), backup);
      cluster.startNode(2);
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      try (LatticeClient c2 = LatticeClient.builder().addresses(cluster.clientAddress(2)).build()) {
        c2.increment("hits", 5); // reaches the others, then the directory is rolled back
        c2.add("tags", "lost-locally");
      }
      assertTrue(ClusterTest.await(() -> converged(cluster.nodes), 10_000) >= 0);
      cluster.nodes.get(2).halt();
      io.latticekv.testing.TestFiles.deleteTree(cluster.dir(2));
      io.latticekv.testing.TestFiles.copyTree(backup, cluster.dir(2));
      cluster.startNode(2);
      try (LatticeClient c2 = LatticeClient.builder().addresses(cluster.clientAddress(2)).build()) {
        c2.increment("hits", 7); // a write the restored node takes: must not be lost
        c2.add("tags", "new");
      }
      assertTrue(ClusterTest.await(() -> converged(cluster.nodes), 20_000) >= 0, "the restored node did not catch up");
      for (int i = 0; i < 3; i++) {
        try (LatticeClient c = LatticeClient.builder().addresses(cluster.clientAddress(i)).build()) {
          assertEquals(22, c.counter("hits"), "node " + i + ": an increment was lost");
          assertEquals(List.of("lost-locally", "new", "old"), c.elements("tags").elementsAsStrings());
        }
      }
    }
  }
}
