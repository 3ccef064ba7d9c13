package io.latticekv.core.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.sim.SimCluster;
import io.latticekv.core.sim.SimCluster.Node;
import org.junit.jupiter.api.Test;

/** SWIM membership in virtual time on a simulated network: no sleeps, every run replayable. */
class MembershipTest {

  private static final MembershipConfig CONFIG = MembershipConfig.DEFAULTS;

  private static SimCluster formed(long seed, int n) {
    SimCluster cluster = new SimCluster(seed, n, CONFIG, RumorConfig.DEFAULTS);
    long took = cluster.runUntil(cluster::allAlive, 30_000);
    assertTrue(took >= 0, "the cluster did not form within 30 s of virtual time (seed " + seed + ")");
    return cluster;
  }

  /**
   * The detection bound: some node probes the silent one within n probe intervals (each node
   * probes every member once per round of n - 1 intervals), then the suspicion timeout, then the
   * gossip of the verdict (a few probe intervals).
   */
  private static long deadBoundMs(int n) {
    return (n + 1) * CONFIG.probeIntervalMs() + CONFIG.suspicionTimeoutMs(n) + 4 * CONFIG.probeIntervalMs();
  }

  @Test
  void nodesFormAClusterThroughOneSeed() {
    SimCluster cluster = formed(1, 8);
    for (Node node : cluster.nodes) {
      assertEquals(8, node.membership().members().size());
    }
  }

  @Test
  void aSilentMemberGoesSuspectThenDeadWithinTheBound() {
    for (long seed = 1; seed <= 20; seed++) {
      SimCluster cluster = formed(seed, 5);
      Node victim = cluster.nodes.get(3);
      cluster.crash(victim);
      long suspectAt = cluster.runUntil(() -> cluster.nodes.stream()
          .anyMatch(n -> n != victim && n.statusOf(victim) != MemberStatus.ALIVE), 60_000);
      long deadAt = cluster.runUntil(() -> cluster.nodes.stream()
          .allMatch(n -> n == victim || n.statusOf(victim) == MemberStatus.DEAD), 60_000);
      assertTrue(suspectAt >= 0 && suspectAt <= 6 * CONFIG.probeIntervalMs(), "seed " + seed + ": suspected after " + suspectAt + " ms");
      assertTrue(deadAt >= 0 && suspectAt + deadAt <= deadBoundMs(5),
          "seed " + seed + ": dead everywhere after " + (suspectAt + deadAt) + " ms, bound " + deadBoundMs(5));
    }
  }

  /** The suspect hears of the suspicion once the partition heals and refutes it before anyone declares it dead. */
  @Test
  void aFalseSuspicionIsRefutedWithAHigherIncarnation() {
    for (long seed = 1; seed <= 10; seed++) {
      SimCluster cluster = formed(seed, 5);
      Node victim = cluster.nodes.get(2);
      cluster.isolate(victim);
      long suspected = cluster.runUntil(() -> cluster.nodes.stream()
          .anyMatch(n -> n != victim && n.statusOf(victim) == MemberStatus.SUSPECT), 10_000);
      assertTrue(suspected >= 0, "nobody suspected the isolated node (seed " + seed + ")");
      cluster.heal();
      boolean[] declaredDead = {false};
      long refuted = cluster.runUntil(() -> {
        declaredDead[0] |= cluster.nodes.stream().anyMatch(n -> n.statusOf(victim) == MemberStatus.DEAD);
        return cluster.allAlive() && victim.membership().incarnation() > 1;
      }, 10_000);
      assertTrue(refuted >= 0, "the suspicion was not refuted (seed " + seed + "): " + cluster.divergence());
      assertTrue(!declaredDead[0], "the suspect was declared dead before it refuted (seed " + seed + ")");
      for (Node n : cluster.nodes) {
        assertEquals(victim.membership().incarnation(), n.membership().member(victim.id).incarnation());
      }
    }
  }

  @Test
  void aMemberThatLeavesIsMarkedLeftEverywhere() {
    SimCluster cluster = formed(3, 5);
    Node leaver = cluster.nodes.get(4);
    leaver.membership().leave();
    cluster.run(100);
    cluster.crash(leaver);
    long took = cluster.runUntil(() -> cluster.nodes.stream()
        .allMatch(n -> n == leaver || n.statusOf(leaver) == MemberStatus.LEFT), 10_000);
    assertTrue(took >= 0 && took <= 1_000, "left marked after " + took + " ms");
    cluster.run(deadBoundMs(5));
    for (Node n : cluster.nodes) {
      if (n != leaver) {
        assertEquals(MemberStatus.LEFT, n.statusOf(leaver), "a leave must not turn into dead");
      }
    }
  }

  @Test
  void aRestartedNodeRejoinsWithAHigherIncarnation() {
    SimCluster cluster = formed(5, 5);
    Node node = cluster.nodes.get(2);
    cluster.crash(node);
    assertTrue(cluster.runUntil(() -> cluster.nodes.get(0).statusOf(node) == MemberStatus.DEAD, 60_000) >= 0);
    cluster.restart(node, 2);
    long took = cluster.runUntil(cluster::allAlive, 30_000);
    assertTrue(took >= 0, "the restarted node was not seen alive again");
    for (Node n : cluster.nodes) {
      assertEquals(2, n.membership().member(node.id).incarnation());
    }
  }

  @Test
  void membershipSurvivesTenPercentMessageLossWithoutFalseDeaths() {
    SimCluster cluster = formed(11, 8);
    cluster.setLossRate(0.10);
    cluster.run(60_000);
    for (Node a : cluster.nodes) {
      for (Node b : cluster.nodes) {
        if (a != b) {
          assertTrue(a.statusOf(b).reachable(), a.index + " thinks " + b.index + " is " + a.statusOf(b));
        }
      }
    }
  }
}
