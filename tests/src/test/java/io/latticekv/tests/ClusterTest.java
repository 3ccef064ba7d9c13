package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import io.latticekv.server.LatticeNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Five real nodes on loopback: replication by rumors, failure detection, rejoin. */
class ClusterTest {

  @TempDir Path dir;

  /** Polls {@code condition} until it holds or {@code millis} pass; returns the millis it took, or -1. */
  static long await(BooleanSupplier condition, long millis) {
    long start = System.nanoTime();
    long deadline = start + millis * 1_000_000;
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return (System.nanoTime() - start) / 1_000_000;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // poll every 5 ms until the deadline
    }
    return condition.getAsBoolean() ? millis : -1;
  }

  static boolean allSee(List<LatticeNode> nodes, int expectAlive) {
    for (LatticeNode node : nodes) {
      if (node == null) {
        continue;
      }
      io.latticekv.proto.StatusResponse status = node.status();
      long alive = status.getMembersList().stream().filter(m -> m.getStatus().equals("alive")).count();
      // Formed means every live member is also known as a replica (it answered a ping of ours).
      if (alive != expectAlive || status.getReplicas() < expectAlive) {
        return false;
      }
    }
    return true;
  }

  @Test
  void writesAtRandomNodesReachEveryNodeWithinOneSecond() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 5)) {
      assertTrue(await(() -> allSee(cluster.nodes, 5), 15_000) >= 0, "the cluster did not form");
      List<LatticeClient> clients = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        clients.add(LatticeClient.builder().addresses(cluster.clientAddress(i)).build());
      }
      try {
        Random random = new Random(3);
        long worst = 0;
        for (int w = 0; w < 30; w++) {
          int at = random.nextInt(5);
          String key = "k" + w;
          long expected = w + 1;
          clients.get(at).increment(key, expected);
          clients.get(at).add("set", "e" + w);
          long took = await(() -> clients.stream().allMatch(c -> c.counter(key) == expected), 1_000);
          assertTrue(took >= 0, "write " + w + " at node " + at + " not visible everywhere within 1 s");
          worst = Math.max(worst, took);
        }
        assertTrue(await(() -> clients.stream().allMatch(c -> c.elements("set").elements().size() == 30), 1_000) >= 0);
        System.out.println("worst time from acknowledgement to visibility at all 5 nodes: " + worst + " ms");
      } finally {
        clients.forEach(LatticeClient::close);
      }
    }
  }

  @Test
  void aKilledNodeIsMarkedDeadAndRejoinsAfterARestart() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 5)) {
      assertTrue(await(() -> allSee(cluster.nodes, 5), 15_000) >= 0, "the cluster did not form");
      LatticeNode victim = cluster.nodes.get(3);
      String victimId = victim.store().nodeId().toString();
      victim.halt();
      cluster.nodes.set(3, null);
      long bound = (5 + 1) * TestCluster.MEMBERSHIP.probeIntervalMs() + TestCluster.MEMBERSHIP.suspicionTimeoutMs(5)
          + 4 * TestCluster.MEMBERSHIP.probeIntervalMs();
      long dead = await(() -> cluster.nodes.stream().filter(n -> n != null).allMatch(n ->
          statusOf(n.status(), victimId).equals("dead")), bound + 2_000);
      assertTrue(dead >= 0, "the others did not mark the killed node dead within " + (bound + 2_000) + " ms");
      System.out.println("killed node dead at all others after " + dead + " ms (bound " + bound + " ms)");

      cluster.startNode(3);
      assertTrue(await(() -> allSee(cluster.nodes, 5), 15_000) >= 0, "the restarted node was not alive everywhere");
      for (LatticeNode n : cluster.nodes) {
        MemberInfo m = n.status().getMembersList().stream().filter(x -> x.getNodeId().equals(victimId)).findFirst().orElseThrow();
        assertEquals(2, m.getIncarnation(), "members agree on the restarted node's incarnation");
      }
    }
  }

  @Test
  void aNodeThatStopsGracefullyIsMarkedLeft() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 3)) {
      assertTrue(await(() -> allSee(cluster.nodes, 3), 15_000) >= 0);
      LatticeNode leaver = cluster.nodes.get(2);
      String id = leaver.store().nodeId().toString();
      leaver.close();
      cluster.nodes.set(2, null);
      assertTrue(await(() -> cluster.nodes.stream().filter(n -> n != null)
          .allMatch(n -> statusOf(n.status(), id).equals("left")), 3_000) >= 0);
    }
  }

  static String statusOf(StatusResponse status, String id) {
    return status.getMembersList().stream().filter(m -> m.getNodeId().equals(id)).map(MemberInfo::getStatus)
        .findFirst().orElse("unknown");
  }
}
