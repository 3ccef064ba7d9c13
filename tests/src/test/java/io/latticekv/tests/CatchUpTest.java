package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.storage.Store;
import io.latticekv.server.LatticeNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up on real nodes (docs/gossip.md, "Catching up"): a node that was down while most of the
 * tree changed is current again within seconds; a catch-up keeps to its byte budget of states.
 */
class CatchUpTest {

  @TempDir Path dir;

  private static boolean converged(List<LatticeNode> nodes) {
    long root = nodes.get(0).cluster().tree().root();
    return nodes.stream().allMatch(n -> n.cluster().tree().root() == root);
  }

  @Test
  void aNodeDownFor100kWritesCatchesUp() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, true,
        new AntiEntropyConfig(200, 64, 1_000, 1 << 20, 2_000)), 3)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      cluster.nodes.get(2).halt();
      try (LatticeClient c0 = cluster.client(0).build(); LatticeClient c1 = cluster.client(1).build()) {
        Semaphore inflight = new Semaphore(64);
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int w = 0; w < 100_000; w++) {
          inflight.acquire();
          acks.add((w % 2 == 0 ? c0 : c1).incrementAsync("w" + (w % 50_000), 1).whenComplete((v, e) -> inflight.release()));
        }
        CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get();
      }
      cluster.startNode(2);
      long took = ClusterTest.await(() -> converged(cluster.nodes), 120_000);
      assertTrue(took >= 0, "the restarted node did not catch up within 120 s");
      System.out.println("restarted node caught up with 100,000 writes (50,000 keys) in " + took + " ms");
      try (LatticeClient c2 = cluster.client(2).build()) {
        for (int k = 0; k < 50_000; k += 4_999) {
          assertEquals(2, c2.counter("w" + k));
        }
      }
    }
  }

  @Test
  void aCatchUpKeepsToItsByteBudget() throws Exception {
    long rate = 1 << 20; // 1 MiB/s on both sides
    TestCluster cluster = new TestCluster(dir, true, new AntiEntropyConfig(200, 64, 1_000, 1 << 20, 2_000).withRate(rate));
    try (cluster) {
      TestCluster.start(cluster, 1);
      Store full = cluster.nodes.get(0).store();
      List<Store.Write> batch = new ArrayList<>();
      for (int k = 0; k < 40_000; k++) {
        batch.add(new Store.Write(ByteString.copyFromUtf8("key-" + k + "-" + "x".repeat(40)),
            new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("value " + k + " " + "y".repeat(40))),
            Store.Origin.CLIENT));
        if (batch.size() == 1_000) {
          full.applyAll(batch);
          batch.clear();
        }
      }
      long before = cluster.nodes.get(0).cluster().status().antiEntropyBytesSent();
      long statesBefore = cluster.nodes.get(0).cluster().status().node().aeStateBytesSent();
      long start = System.nanoTime();
      cluster.nodes.add(null);
      cluster.peerPorts.add(0);
      cluster.clientPorts.add(0);
      cluster.startNode(1);
      long took = ClusterTest.await(() -> converged(cluster.nodes), 120_000);
      assertTrue(took >= 0, "the new node did not catch up within 120 s");
      double seconds = (System.nanoTime() - start) / 1e9;
      assertTrue(ClusterTest.await(() -> false, 100) < 0); // one status snapshot later (they are 50 ms apart)
      long sent = cluster.nodes.get(0).cluster().status().node().aeStateBytesSent() - statesBefore;
      long wire = cluster.nodes.get(0).cluster().status().antiEntropyBytesSent() - before;
      System.out.printf("a 40,000-key catch-up under 1 MiB/s took %.1f s: %,d bytes of states, %,d bytes of "
          + "anti-entropy messages in all%n", seconds, sent, wire);
      assertTrue(sent > 3L * rate, "too little was sent for the test to mean anything: " + sent);
      // The budget saves up at most a second's worth: so much may go at once, then the rate.
      assertTrue(sent <= (seconds + 1) * rate, "sent " + sent + " bytes of states in " + seconds + " s under " + rate
          + " B/s");
    }
  }
}
