package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.storage.Store;
import io.latticekv.server.LatticeNode;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up on real nodes (docs/gossip.md, "Catching up"): a node that was down while most of the
 * tree changed is current again within seconds (over TLS); a node restored from a copy two epochs old discards it
 * and catches up both ways; a catch-up keeps to its byte budget of states.
 */
class CatchUpTest {

  @TempDir Path dir;

  private static boolean converged(List<LatticeNode> nodes) {
    long root = nodes.get(0).cluster().tree().root();
    return nodes.stream().allMatch(n -> n.cluster().tree().root() == root);
  }

  /** Over TLS between peers (and logins for clients): the catch-up streams through it like any exchange. */
  @Test
  void aNodeDownFor100kWritesCatchesUp() throws Exception {
    try (TestCluster cluster = TestCluster.start(new TestCluster(dir, true,
        new AntiEntropyConfig(200, 64, 1_000, 1 << 20, 2_000)).secure(), 3)) {
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
      Batches.apply(full, 0, 40_000, k -> new Store.Write(ByteString.copyFromUtf8("key-" + k + "-" + "x".repeat(40)),
          new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("value " + k + " " + "y".repeat(40))),
          Store.Origin.CLIENT));
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

  @Test
  void aNodeRestoredFromABackupTwoEpochsOldDiscardsItAndCatchesUpBothWays() throws Exception {
    TestCluster cluster = new TestCluster(dir, true, new AntiEntropyConfig(100, 64, 1_000, 1 << 20, 2_000));
    cluster.lifecycle = new io.latticekv.core.lifecycle.LifecycleConfig(100, 256, 1);
    try (cluster) {
      TestCluster.start(cluster, 3);
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      try (LatticeClient c0 = cluster.client(0).build()) {
        increments(c0, "k", 20_000);
      }
      assertTrue(ClusterTest.await(() -> converged(cluster.nodes), 30_000) >= 0);
      cluster.nodes.get(2).close();
      Path backup = dir.resolve("backup");
      io.latticekv.testing.TestFiles.copyTree(cluster.dir(2), backup);
      cluster.startNode(2);
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
      long backupEpoch = cluster.nodes.get(2).store().epoch();
      try (LatticeClient c1 = cluster.client(1).build(); LatticeClient c2 = cluster.client(2).build()) {
        increments(c1, "k", 20_000); // every counter moves on after the copy
        c2.increment("mine", 3);
      }
      long moved = ClusterTest.await(() -> cluster.nodes.get(0).store().epoch() >= backupEpoch + 3, 30_000);
      System.out.println("the epoch moved from " + backupEpoch + " on by 3 in " + moved + " ms");
      assertTrue(moved >= 0, "the epoch did not move on");
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).store().get(ByteString.copyFromUtf8("mine"))
          .map(st -> st.counterValue() == 3).orElse(false), 10_000) >= 0,
          "the later life's write did not spread (a write only a crashed node held is lost with its directory)");
      cluster.nodes.get(2).halt();
      io.latticekv.testing.TestFiles.deleteTree(cluster.dir(2));
      io.latticekv.testing.TestFiles.copyTree(backup, cluster.dir(2));
      cluster.startNode(2);
      try (LatticeClient c2 = cluster.client(2).build()) {
        c2.increment("after-restore", 7); // taken before the node hears how far behind it is: kept
      } catch (io.latticekv.client.LatticeException refused) {
        // it may already be discarding: then the write was refused, not lost
      }
      long caughtUp = ClusterTest.await(() -> converged(cluster.nodes), 60_000);
      System.out.println("the restored node caught up in " + caughtUp + " ms");
      assertTrue(caughtUp >= 0, "the restored node did not catch up");
      // Status is a snapshot taken every 50 ms: the catch-up may end before the next one.
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(2).cluster().status().node().lifecycle().keysDiscarded() > 0,
          5_000) >= 0, "the restored node did not discard its too old keys");
      try (LatticeClient c2 = cluster.client(2).build(); LatticeClient c0 = cluster.client(0).build()) {
        for (int k = 0; k < 20_000; k += 1_999) {
          assertEquals(2, c2.counter("k" + k), "the restored node lacks the writes made since its copy");
        }
        assertEquals(3, c2.counter("mine"), "the restored node lost a write only its later life had made");
        long afterRestore = c0.counter("after-restore");
        assertTrue(afterRestore == 7 || afterRestore == 0, "the write taken at the restored node: " + afterRestore);
        assertEquals(afterRestore, c2.counter("after-restore"));
      }
    }
  }

  private static void increments(LatticeClient client, String prefix, int keys) throws Exception {
    Semaphore inflight = new Semaphore(64);
    List<CompletableFuture<Long>> acks = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      inflight.acquire();
      acks.add(client.incrementAsync(prefix + k, 1).whenComplete((v, e) -> inflight.release()));
    }
    CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])).get();
  }
}
