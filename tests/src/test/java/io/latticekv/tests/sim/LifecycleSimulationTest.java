package io.latticekv.tests.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.replication.Level;
import io.latticekv.core.sim.SimCluster;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle's promises in fixed simulated schedules (docs/lifecycle.md), beside the random
 * ones of {@link SimulationProperties}: deletes that stay deleted through partitions, retired
 * replica ids that leave the states after restarts, removed members that stop counting.
 */
@DisplayName("Key lifecycle in the simulator")
class LifecycleSimulationTest {

  private static final ByteString KEY = ByteString.copyFromUtf8("k");
  /** Virtual time to wait for something the lifecycle does within a few epochs (200 ms each here). */
  private static final long SETTLE_MS = 30_000;

  private static Simulation formed(long seed, int n) {
    Simulation sim = new Simulation(seed, n, Bugs.NONE);
    sim.formCluster();
    return sim;
  }

  private static boolean everywhere(Simulation sim, java.util.function.Predicate<Lives> test) {
    for (SimCluster.Node node : sim.nodes) {
      if (node.removed) {
        continue;
      }
      Lives state = node.state(KEY);
      if (!test.test(state == null ? Lives.empty() : state)) {
        return false;
      }
    }
    return true;
  }

  @Test
  @DisplayName("a node cut off during a delete comes back and the key stays deleted, its tombstone collected")
  void aPartitionedNodeDoesNotResurrectADeletedKey() {
    for (long seed = 1; seed <= 5; seed++) {
      Simulation sim = formed(seed, 3);
      sim.increment(0, "k", 5);
      assertTrue(sim.cluster.runUntil(() -> everywhere(sim, s -> s.visibleType().isPresent()), SETTLE_MS) >= 0);
      sim.partition(0b100); // node 2 alone, holding the counter
      sim.run(2_000);
      sim.delete(0, "k");
      sim.run(3_000); // the majority cannot move its epoch without node 2: the tombstone stays
      assertTrue(sim.nodes.get(0).state(KEY) != null, "the tombstone was collected while a member was away");
      sim.heal();
      long took = sim.cluster.runUntil(() -> sim.cluster.converged()
          && everywhere(sim, s -> s.isEmpty()), SETTLE_MS);
      assertTrue(took >= 0, "seed " + seed + ": the key did not leave every replica: " + sim.divergence()
          + " node 2 holds " + sim.nodes.get(2).state(KEY));
      assertEquals(List.of(), sim.violations(), "seed " + seed);
    }
  }

  @Test
  @DisplayName("a counter written by a node in each of 20 lives ends up naming the members' live ids only")
  void retiredReplicaIdsArePrunedAfterRestarts() {
    Simulation sim = formed(7, 3);
    for (int life = 0; life < 20; life++) {
      sim.increment(0, "k", 1);
      sim.run(300);
      sim.crash(0);
      sim.run(50);
      sim.restart(0);
      sim.run(300);
    }
    assertTrue(sim.quiesce(SETTLE_MS) >= 0, sim.divergence());
    long took = sim.cluster.runUntil(() -> sim.retiredIdsLeft().isEmpty() && sim.cluster.converged(), 60_000);
    assertTrue(took >= 0, "retired replica ids remain: " + sim.retiredIdsLeft());
    for (SimCluster.Node node : sim.nodes) {
      Lives state = node.state(KEY);
      assertEquals(20, state.counterValue());
      int entries = 0;
      for (Life life : state.lives()) {
        entries += life.type() == CrdtType.PN_COUNTER ? life.replicaIds().size() : 0;
      }
      assertTrue(entries <= sim.nodes.size() + 1, entries + " replica entries in " + state);
    }
    assertEquals(List.of(), sim.violations());
  }

  @Test
  @DisplayName("a dead member removed no longer counts for w=all, and its data comes back to nobody")
  void aRemovedMemberNoLongerCountsAndIsRefused() {
    Simulation sim = formed(11, 4);
    sim.increment(3, "k", 4);
    assertTrue(sim.quiesce(SETTLE_MS) >= 0, sim.divergence());
    sim.removeMember(3, 0);
    assertTrue(sim.nodes.get(3).removed, "the member was not removed");
    SimCluster.Node admin = sim.nodes.get(0);
    assertEquals(MemberStatus.REMOVED, admin.statusOf(sim.nodes.get(3)));
    assertTrue(sim.cluster.runUntil(() -> sim.nodes.stream().filter(n -> !n.removed)
        .allMatch(n -> n.membership().replicaCount() == 3), SETTLE_MS) >= 0, "the others still count it");

    AtomicReference<Throwable> outcome = new AtomicReference<>();
    boolean[] done = {false};
    Lives delta = admin.update(KEY, new CrdtUpdate.CounterAdd(1));
    admin.cluster.write(KEY, delta, Level.ALL, (ok, failure) -> {
      done[0] = true;
      outcome.set(failure);
    });
    assertTrue(sim.cluster.runUntil(() -> done[0], 5_000) >= 0, "the write never answered");
    assertEquals(null, outcome.get(), "w=all failed with 3 of 4 members up and the fourth removed");

    // The removed node comes back with its old identity and data, and writes: nobody takes it.
    SimCluster.Node gone = sim.nodes.get(3);
    sim.comeBack(3);
    gone.update(KEY, new CrdtUpdate.CounterAdd(100));
    sim.run(5_000);
    for (SimCluster.Node node : sim.nodes) {
      if (!node.removed) {
        assertEquals(5, node.state(KEY).counterValue(), "the removed node's write reached node " + node.index);
        assertFalse(node.statusOf(gone) == MemberStatus.ALIVE, "the removed node is alive again to node " + node.index);
      }
    }
    List<String> left = new ArrayList<>();
    assertTrue(sim.cluster.runUntil(() -> {
      left.clear();
      left.addAll(sim.retiredIdsLeft());
      return left.isEmpty();
    }, 60_000) >= 0, "the removed member's replica ids were not pruned: " + left);
  }
}
