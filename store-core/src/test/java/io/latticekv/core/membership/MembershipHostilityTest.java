package io.latticekv.core.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.sim.SimCluster;
import io.latticekv.core.sim.SimCluster.Node;
import io.latticekv.core.transport.PeerMessage.Gossip;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Membership bends to no single message: forged gossip injected into a formed cluster, in virtual
 * time. Each case was possible before (a member's traffic redirected, a node evicted or unable to
 * refute for good, a quorum inflated by invented members).
 */
class MembershipHostilityTest {

  private static final MembershipConfig CONFIG = MembershipConfig.DEFAULTS;
  private static final NodeId ATTACKER = new NodeId(0xbad, 0xbad);

  private static SimCluster formed(long seed, int n, MembershipConfig config) {
    SimCluster cluster = new SimCluster(seed, n, config, RumorConfig.DEFAULTS);
    assertTrue(cluster.runUntil(cluster::allAlive, 30_000) >= 0, "the cluster did not form");
    cluster.run(5 * config.probeIntervalMs()); // every member confirmed by a ping of every other
    return cluster;
  }

  /** Forged gossip, as if from a peer nobody knows, delivered to every node but {@code except}. */
  private static void forge(SimCluster cluster, Node except, MemberUpdate... updates) {
    for (Node n : cluster.nodes) {
      if (n != except) {
        n.cluster.receive(new Gossip(ATTACKER, List.of(updates)));
      }
    }
  }

  @Test
  void aMembersIdGossipedAtAnotherAddressDoesNotRedirectItAndTheMemberRefutes() {
    SimCluster cluster = formed(1, 3, CONFIG);
    Node victim = cluster.nodes.get(2);
    long before = victim.membership().incarnation();
    forge(cluster, victim, new MemberUpdate(victim.id, "evil:666", before + 1, MemberStatus.ALIVE));
    for (Node n : cluster.nodes) {
      assertEquals(victim.address, n.membership().member(victim.id).address(), "node " + n.index + " was redirected");
    }
    // The victim itself, told the same (by gossip that reaches it), refutes from its own address.
    victim.cluster.receive(new Gossip(ATTACKER, List.of(new MemberUpdate(victim.id, "evil:666", before + 1,
        MemberStatus.ALIVE))));
    assertTrue(victim.membership().incarnation() > before + 1, "the victim did not refute");
    assertTrue(cluster.runUntil(() -> cluster.nodes.stream().allMatch(n ->
        n.membership().member(victim.id).incarnation() == victim.membership().incarnation()
            && n.membership().member(victim.id).address().equals(victim.address)), 10_000) >= 0);
  }

  @Test
  void aLeaveOrDeathAtAnAbsurdIncarnationIsIgnoredAndTheVictimStaysAlive() {
    SimCluster cluster = formed(2, 3, CONFIG);
    Node victim = cluster.nodes.get(1);
    for (long absurd : new long[] {Long.MAX_VALUE, Membership.INCARNATION_MAX, 1L << 40}) {
      forge(cluster, null, new MemberUpdate(victim.id, victim.address, absurd, MemberStatus.LEFT));
      forge(cluster, null, new MemberUpdate(victim.id, victim.address, absurd, MemberStatus.DEAD));
    }
    long incarnation = victim.membership().incarnation();
    assertTrue(incarnation > 0 && incarnation < 1000, "the victim's incarnation is " + incarnation);
    cluster.run(10_000);
    assertTrue(cluster.allAlive(), cluster.divergence());
  }

  @Test
  void deathAtTheHighestPlausibleIncarnationIsRefutedWithoutOverflow() {
    SimCluster cluster = formed(3, 3, CONFIG);
    Node victim = cluster.nodes.get(1);
    long claim = victim.membership().incarnation() + Membership.INCARNATION_JUMP_MAX;
    forge(cluster, null, new MemberUpdate(victim.id, victim.address, claim, MemberStatus.DEAD));
    assertEquals(claim + 1, victim.membership().incarnation(), "the victim outbids the claim");
    assertTrue(cluster.runUntil(cluster::allAlive, 10_000) >= 0, cluster.divergence());
  }

  @Test
  void inventedMembersDoNotCountAsReplicasAndAreForgotten() {
    SimCluster cluster = formed(4, 3, CONFIG);
    Random random = new Random(4);
    List<MemberUpdate> fakes = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      fakes.add(new MemberUpdate(NodeId.random(random), "fake" + i + ":1", 1, MemberStatus.ALIVE));
    }
    forge(cluster, null, fakes.toArray(MemberUpdate[]::new));
    for (Node n : cluster.nodes) {
      assertEquals(3, n.membership().replicaCount(), "a quorum must still be 2 of the 3 real nodes");
      assertEquals(2, n.membership().knownReachablePeers().size(), "data goes to the real members only");
      assertTrue(n.membership().members().size() > 3, "the fakes were taken in, as gossip is");
    }
  }

  @Test
  void inventedMembersThatNeverAnswerAreForgotten() {
    SimCluster cluster = formed(4, 3, CONFIG);
    Random random = new Random(4);
    List<MemberUpdate> fakes = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      fakes.add(new MemberUpdate(NodeId.random(random), "fake" + i + ":1", 1, MemberStatus.ALIVE));
    }
    forge(cluster, null, fakes.toArray(MemberUpdate[]::new));
    // Each is probed within a round of 22 probe intervals, suspected, dead, then forgotten.
    long forget = CONFIG.probeIntervalMs() * (Membership.FORGET_UNKNOWN_DEAD_AFTER_PROBES + 60);
    assertTrue(cluster.runUntil(() -> cluster.nodes.stream().allMatch(n -> n.membership().members().size() == 3),
        forget) >= 0, "the invented members were never forgotten");
    assertTrue(cluster.allAlive(), cluster.divergence());
  }

  @Test
  void theMemberTableIsBoundedWithALogLine() {
    MembershipConfig small = new MembershipConfig(500, 200, 3, 4, 4, 16, 16);
    SimCluster cluster = formed(5, 3, small);
    Random random = new Random(5);
    List<MemberUpdate> fakes = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      fakes.add(new MemberUpdate(NodeId.random(random), "fake" + i + ":1", 1, MemberStatus.ALIVE));
    }
    forge(cluster, null, fakes.toArray(MemberUpdate[]::new));
    for (Node n : cluster.nodes) {
      assertEquals(16, n.membership().members().size());
      assertEquals(3, n.membership().replicaCount());
    }
  }
}
