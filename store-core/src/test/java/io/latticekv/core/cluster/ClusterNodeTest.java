package io.latticekv.core.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.replication.Level;
import io.latticekv.core.replication.LevelNotMetException;
import io.latticekv.core.sim.SimCluster;
import io.latticekv.core.sim.SimCluster.Node;
import io.latticekv.core.sim.SimReplica;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The wired protocols of one node, in the simulator with the default settings of a real node. */
class ClusterNodeTest {

  private static SimCluster formed(long seed, int n) {
    SimCluster cluster = new SimCluster(seed, n, ClusterConfig.DEFAULTS, SimReplica::new,
        ClusterNode.PlantedBugs.NONE, 50);
    cluster.maxDelayMs = 5;
    assertTrue(cluster.runUntil(() -> cluster.allAlive()
        && cluster.nodes.stream().allMatch(x -> x.membership().replicaCount() == n), 30_000) >= 0);
    return cluster;
  }

  private static boolean anySuspicion(SimCluster cluster) {
    for (Node a : cluster.nodes) {
      for (Node b : cluster.nodes) {
        if (a != b && a.statusOf(b) != MemberStatus.ALIVE) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Storage work — merging rumors and repairs, listing segments, serving replica reads — used to
   * run on the thread that answers pings, so a slow disk made a healthy node look dead. Here one
   * node's disk takes 3 s per task, longer than the suspicion timeout, while writes pour in.
   */
  @Test
  void aSlowDiskCausesNoFalseSuspicion() {
    SimCluster cluster = formed(1, 5);
    Node slow = cluster.nodes.get(3);
    slow.diskDelayMs = 3_000;
    boolean suspected = false;
    for (int round = 0; round < 200; round++) {
      Node writer = cluster.nodes.get(round % 5);
      ByteString key = ByteString.copyFromUtf8("k" + round % 17);
      writer.write(key, PnCounter.empty().addDelta(writer.replicaId, 1));
      cluster.run(50);
      suspected |= anySuspicion(cluster);
    }
    assertTrue(!suspected, "a member was suspected while one disk was slow");
    slow.diskDelayMs = 0;
    assertTrue(cluster.runUntil(cluster::converged, 30_000) >= 0, cluster.divergence());
  }

  /**
   * After a partition heals, dead members used to wait for the full sync every 10 probe intervals,
   * and anti-entropy for its random choice: replicas agreed 2.9-6.4 s later. Now dead members are
   * pinged, contact from one is answered with the whole view, and a member that comes back is
   * exchanged with first.
   */
  @Test
  void afterAPartitionHealsEveryoneIsAliveAndTheReplicasAgreeWithinAboutASecond() {
    long worst = 0;
    for (long seed = 1; seed <= 10; seed++) {
      SimCluster cluster = formed(seed, 5);
      cluster.partition(new int[] {0, 0, 1, 1, 1});
      for (int w = 0; w < 100; w++) {
        Node writer = cluster.nodes.get(w % 5);
        writer.write(ByteString.copyFromUtf8("k" + w), PnCounter.empty().addDelta(writer.replicaId, 1));
        cluster.run(100);
      }
      assertTrue(cluster.nodes.get(0).statusOf(cluster.nodes.get(4)) == MemberStatus.DEAD, "the partition took");
      cluster.heal();
      long took = cluster.runUntil(cluster::converged, 30_000);
      assertTrue(took >= 0, cluster.divergence());
      worst = Math.max(worst, took);
    }
    System.out.println("healed partitions: worst " + worst + " ms of virtual time to agree");
    assertTrue(worst <= 1_200, "replicas agreed " + worst + " ms after the heal");
  }

  @Test
  void aQuorumWriteFailsFastWhenTheErrorsLeaveTooFewReplicas() {
    SimCluster cluster = formed(3, 3);
    Node writer = cluster.nodes.get(0);
    ByteString key = ByteString.copyFromUtf8("k");
    // The others hold the key as a counter; writing it as a register there fails.
    for (Node n : cluster.nodes) {
      n.replica.merge(key, PnCounter.empty().addDelta(n.replicaId, 1), false);
    }
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    long start = cluster.now();
    writer.cluster.write(key, io.latticekv.core.crdt.LwwRegister.of(ByteString.copyFromUtf8("x"),
        io.latticekv.core.clock.HlcTimestamp.of(cluster.now(), 0), writer.replicaId), Level.ALL,
        (ok, failure) -> outcome.set(failure == null ? new AssertionError("succeeded") : failure));
    assertTrue(cluster.runUntil(() -> outcome.get() != null, 5_000) >= 0, "the write never ended");
    assertTrue(outcome.get() instanceof LevelNotMetException, String.valueOf(outcome.get()));
    assertTrue(outcome.get().getMessage().contains("failed"), outcome.get().getMessage());
    assertTrue(cluster.now() - start < ClusterConfig.DEFAULTS.replication().timeoutMs(),
        "it waited out the timeout instead of failing on the errors");
  }

  @Test
  void everyCoordinatedRequestEndsEvenWhenNoReplicaAnswers() {
    SimCluster cluster = formed(4, 3);
    Node reader = cluster.nodes.get(0);
    cluster.isolate(reader);
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    reader.read(ByteString.copyFromUtf8("k"), Level.QUORUM, (state, failure) -> outcome.set(failure));
    assertTrue(cluster.runUntil(() -> outcome.get() != null, 5_000) >= 0, "the read never ended");
    assertEquals(LevelNotMetException.class, outcome.get().getClass());
  }

  /** A read whose merge failed with anything but a type clash used to stay pending for ever. */
  @Test
  void aQuorumReadWhoseMergeFailsEndsWithTheFailure() {
    boolean[] failMerges = {false};
    SimCluster cluster = new SimCluster(5, 3, ClusterConfig.DEFAULTS, () -> new SimReplica() {
      @Override
      public boolean[] mergeAll(java.util.List<io.latticekv.core.transport.PeerMessage.KeyState> states) {
        if (failMerges[0]) {
          throw new IllegalStateException("disk on fire");
        }
        return super.mergeAll(states);
      }
    }, ClusterNode.PlantedBugs.NONE, 0);
    assertTrue(cluster.runUntil(() -> cluster.allAlive()
        && cluster.nodes.stream().allMatch(x -> x.membership().replicaCount() == 3), 30_000) >= 0);
    Node other = cluster.nodes.get(1);
    other.replica.merge(ByteString.copyFromUtf8("k"), PnCounter.empty().addDelta(other.replicaId, 1), false);
    failMerges[0] = true;
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    cluster.nodes.get(0).read(ByteString.copyFromUtf8("k"), Level.ALL, (state, failure) ->
        outcome.set(failure == null ? new AssertionError("answered " + state) : failure));
    assertTrue(cluster.runUntil(() -> outcome.get() != null, 5_000) >= 0, "the read never ended");
    assertEquals("disk on fire", outcome.get().getMessage());
  }
}
