package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.client.Value;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.lifecycle.LifecycleConfig;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.InspectResponse;
import io.latticekv.proto.Level;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.cli.Lattice;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lifecycle on a real 3-node cluster (docs/lifecycle.md): deletes seen everywhere, keys made
 * again with another type, delete against a concurrent increment, a node cut off during a delete
 * that does not bring the key back, a node restarted 20 times whose old replica ids leave the
 * counter, and a dead member removed so that {@code w=all} works with the two that are left.
 */
class LifecycleEndToEndTest {

  @TempDir Path dir;

  /** Fast epochs and exchanges: what takes seconds here takes tens of seconds with the defaults. */
  private TestCluster cluster(int n) throws InterruptedException {
    TestCluster cluster = new TestCluster(dir, true, new AntiEntropyConfig(100, 64, 1_000, 1 << 20, 2_000));
    cluster.lifecycle = new LifecycleConfig(100, 256, 1);
    TestCluster.start(cluster, n);
    assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, n), 15_000) >= 0, "the cluster did not form");
    return cluster;
  }

  private static boolean absentEverywhere(TestCluster cluster, String key) {
    return cluster.nodes.stream().allMatch(n -> n == null || n.store().get(bytes(key)).isEmpty());
  }

  private static com.google.protobuf.ByteString bytes(String key) {
    return com.google.protobuf.ByteString.copyFromUtf8(key);
  }

  private static Optional<Lives> held(LatticeNode node, String key) {
    return node.store().get(bytes(key));
  }

  private static String lattice(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Lattice.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    assertEquals(0, code, "lattice " + String.join(" ", args) + ": " + err);
    return out.toString().trim();
  }

  private static int replicaEntries(String inspectJson) {
    Matcher m = Pattern.compile("\"replica_entries\"\\s*:\\s*(\\d+)").matcher(inspectJson);
    assertTrue(m.find(), inspectJson);
    return Integer.parseInt(m.group(1));
  }

  @Test
  void aDeleteAtOneNodeIsSeenEverywhereAndTheKeyComesBackAsAnotherType() throws Exception {
    try (TestCluster cluster = cluster(3);
        LatticeClient c0 = cluster.client(0).build();
        LatticeClient c1 = cluster.client(1).build()) {
      c0.increment("k", 5);
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "k").isPresent()), 10_000) >= 0);
      assertEquals("1", lattice("--connect", cluster.clientAddress(0), "del", "k"));
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "k")
          .map(s -> s.visibleType().isEmpty()).orElse(true)), 10_000) >= 0, "the key still reads somewhere");
      assertEquals(Optional.empty(), c1.get("k"));
      assertEquals("(nil)", lattice("--connect", cluster.clientAddress(2), "get", "k"));

      assertEquals(List.of("x"), c1.addAndGet("k", "x").elementsAsStrings(), "a deleted counter is a set now");
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "k")
          .map(s -> s.elements().size() == 1 && s.lives().size() == 1).orElse(false)), 20_000) >= 0,
          "the counter's tombstone was not collected: " + held(cluster.nodes.get(0), "k"));
      String json = lattice("--connect", cluster.clientAddress(2), "--json", "inspect", "k");
      assertTrue(json.contains("\"type\":\"set\"") || json.contains("\"type\": \"set\""), json);
      LatticeException mismatch = assertThrows(LatticeException.class, () -> c0.increment("k", 1));
      assertEquals(ErrorCode.TYPE_MISMATCH, mismatch.code());
    }
  }

  @Test
  void anIncrementTheDeleteDidNotSeeSurvivesIt() throws Exception {
    try (TestCluster cluster = cluster(3);
        LatticeClient c0 = cluster.client(0).build();
        LatticeClient c2 = cluster.client(2).build()) {
      c0.increment("k", 5);
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "k")
          .map(s -> s.counterValue() == 5).orElse(false)), 10_000) >= 0);
      cutOff(cluster, 2);
      c2.increment("k", 3); // node 2 alone sees it
      assertTrue(c0.delete("k"));
      heal(cluster);
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "k")
          .map(s -> s.counterValue() == 3).orElse(false)), 15_000) >= 0,
          "update wins: the delete took the 5 it saw and left the 3 it did not; node 0 holds "
              + held(cluster.nodes.get(0), "k"));
      assertEquals(3, ((Value.Counter) c0.get("k").orElseThrow()).value());
    }
  }

  @Test
  void aNodeCutOffDuringADeleteDoesNotBringTheKeyBack() throws Exception {
    try (TestCluster cluster = cluster(3);
        LatticeClient c0 = cluster.client(0).build()) {
      c0.add("s", "a", "b");
      assertTrue(ClusterTest.await(() -> cluster.nodes.stream().allMatch(n -> held(n, "s")
          .map(s -> s.elements().size() == 2).orElse(false)), 10_000) >= 0);
      cutOff(cluster, 2);
      assertTrue(c0.delete("s"));
      long epoch = cluster.nodes.get(0).store().epoch();
      // Many exchange rounds, each a chance for the epoch to move: without node 2 it cannot, so the
      // tombstone stays.
      long exchanges = cluster.nodes.get(0).cluster().status().node().exchangesRun();
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).cluster().status().node().exchangesRun() >= exchanges + 15,
          15_000) >= 0);
      assertTrue(cluster.nodes.get(0).store().epoch() <= epoch + 1, "the epoch moved on without a member");
      assertTrue(held(cluster.nodes.get(0), "s").isPresent(), "the tombstone went while node 2 was away");
      heal(cluster);
      assertTrue(ClusterTest.await(() -> absentEverywhere(cluster, "s"), 20_000) >= 0,
          "the deleted set is still held (tombstone not collected, or resurrected): node 2 holds "
              + held(cluster.nodes.get(2), "s"));
      long later = cluster.nodes.get(2).cluster().status().node().exchangesRun();
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(2).cluster().status().node().exchangesRun() >= later + 10,
          15_000) >= 0);
      assertTrue(absentEverywhere(cluster, "s"), "the set came back");
    }
  }

  @Test
  void aNodeRestarted20TimesLeavesOnlyLiveReplicaIdsInTheCounter() throws Exception {
    try (TestCluster cluster = cluster(3)) {
      for (int life = 0; life < 20; life++) {
        try (LatticeClient c1 = cluster.client(1).build()) {
          c1.increment("c", 1);
        }
        cluster.nodes.get(1).close();
        cluster.startNode(1);
        assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0, "life " + life);
      }
      assertTrue(ClusterTest.await(() -> {
        for (int i = 0; i < 3; i++) {
          Optional<Lives> state = held(cluster.nodes.get(i), "c");
          if (state.isEmpty() || state.get().counterValue() != 20 || state.get().replicaIds().size() > 4) {
            return false;
          }
        }
        return true;
      }, 60_000) >= 0, "after the settle period the counter still names "
          + held(cluster.nodes.get(0), "c").map(s -> s.replicaIds().size()).orElse(-1) + " replica ids");
      for (int i = 0; i < 3; i++) {
        String json = lattice("--connect", cluster.clientAddress(i), "--json", "inspect", "c");
        assertTrue(replicaEntries(json) <= 4, json);
        assertEquals("20", lattice("--connect", cluster.clientAddress(i), "get", "c"));
      }
    }
  }

  @Test
  void aRemovedDeadMemberNoLongerCountsForWriteAll() throws Exception {
    try (TestCluster cluster = cluster(3);
        LatticeClient all = cluster.client(0).writeLevel(Level.LEVEL_ALL).build();
        LatticeClient c0 = cluster.client(0).build()) {
      all.increment("k", 1);
      String goneId = cluster.nodes.get(2).store().nodeId().toString();
      cluster.nodes.get(2).halt();
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).cluster().status().node().members().stream()
          .anyMatch(m -> m.id().toString().equals(goneId) && m.status().name().equals("DEAD")), 15_000) >= 0);
      LatticeException refused = assertThrows(LatticeException.class, () -> all.increment("k", 1));
      assertEquals(ErrorCode.UNAVAILABLE, refused.code(), refused.getMessage());

      LatticeException alive = assertThrows(LatticeException.class,
          () -> c0.removeMember(cluster.nodes.get(1).store().nodeId().toString()));
      assertTrue(alive.getMessage().contains("alive"), alive.getMessage());
      assertEquals(ErrorCode.BAD_REQUEST, alive.code());
      String detail = lattice("--connect", cluster.clientAddress(0), "remove-member", goneId);
      assertTrue(detail.contains("removed"), detail);

      assertTrue(ClusterTest.await(() -> cluster.nodes.get(1).cluster().status().node().replicaCount() == 2, 10_000) >= 0,
          "node 1 still counts the removed member");
      assertEquals(3, all.increment("k", 1), "w=all with 2 of 3 members, the third removed");
      String status = lattice("--connect", cluster.clientAddress(1), "status");
      assertTrue(status.contains("removed member " + goneId), status);

      // It comes back with its old identity and data: refused, never merged.
      long refusedBefore = cluster.nodes.get(0).cluster().status().connectionsRefused()
          + cluster.nodes.get(1).cluster().status().connectionsRefused();
      cluster.startNode(2);
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).cluster().status().connectionsRefused()
          + cluster.nodes.get(1).cluster().status().connectionsRefused() > refusedBefore, 15_000) >= 0,
          "the removed node's connections were not refused");
      assertEquals(2, cluster.nodes.get(0).cluster().status().node().replicaCount());
      assertFalse(cluster.nodes.get(0).cluster().status().node().members().stream()
          .anyMatch(m -> m.id().toString().equals(goneId) && m.status().name().equals("ALIVE")));
      assertEquals(3, held(cluster.nodes.get(0), "k").orElseThrow().counterValue());
    }
  }

  @Test
  void decommissionHandsTheDataOverAndLeavesForGood() throws Exception {
    try (TestCluster cluster = cluster(3);
        LatticeClient c2 = cluster.client(2).build();
        LatticeClient all = cluster.client(0).writeLevel(Level.LEVEL_ALL).build()) {
      for (int i = 0; i < 50; i++) {
        c2.increment("d" + i, i + 1);
      }
      String detail = c2.decommissionAsync().get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(detail.contains("handed everything"), detail);
      LatticeException refused = assertThrows(LatticeException.class, () -> c2.increment("d0", 1));
      assertEquals(ErrorCode.UNAVAILABLE, refused.code());
      String goneId = cluster.nodes.get(2).store().nodeId().toString();
      cluster.nodes.get(2).halt();
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).cluster().status().node().replicaCount() == 2, 10_000) >= 0);
      LatticeNode heir = cluster.nodes.stream().filter(n -> n != cluster.nodes.get(2)
          && detail.contains(n.store().nodeId().toString())).findFirst().orElseThrow();
      for (int i = 0; i < 50; i++) {
        assertEquals(i + 1, held(heir, "d" + i).map(Lives::counterValue).orElse(-1L),
            "key d" + i + " is not at the member the data was handed to");
      }
      // The peer it handed over to holds everything; the other gets it from that peer.
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).cluster().tree().root()
          == cluster.nodes.get(1).cluster().tree().root(), 15_000) >= 0, "the two members left do not agree");
      for (int i = 0; i < 50; i++) {
        Optional<Lives> state = held(cluster.nodes.get(0), "d" + i);
        assertEquals(i + 1, state.map(Lives::counterValue).orElse(-1L), "key d" + i + " was not handed over");
      }
      assertEquals(2, all.increment("d0", 1));
      InspectResponse inspect = all.inspect("d0");
      assertTrue(inspect.hasState());
      assertTrue(Lives.of(CrdtCodec.fromProto(inspect.getState())).counterValue() == 2);
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(1).cluster().status().node().lifecycle().removed().stream()
          .anyMatch(u -> u.id().toString().equals(goneId)), 10_000) >= 0, "node 1 does not list the removed node");
    }
  }

  /** Drops all traffic between node {@code i} and the others, both ways (the nodes' fault injection). */
  private static void cutOff(TestCluster cluster, int i) {
    Set<String> others = new java.util.HashSet<>();
    for (int j = 0; j < cluster.nodes.size(); j++) {
      if (j != i) {
        others.add(cluster.nodes.get(j).cluster().peerAddress());
        cluster.nodes.get(j).cluster().dropPeers(Set.of(cluster.nodes.get(i).cluster().peerAddress()));
      }
    }
    cluster.nodes.get(i).cluster().dropPeers(others);
  }

  private static void heal(TestCluster cluster) {
    for (LatticeNode node : cluster.nodes) {
      node.cluster().dropPeers(Set.of());
    }
  }
}
