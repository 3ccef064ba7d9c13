package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.KeyContext;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.crdt.TypeMismatch;
import io.latticekv.core.lifecycle.LifecycleConfig;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.replication.Level;
import io.latticekv.core.sim.SimCluster;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The client side of a simulation: writes, deletes and reads at nodes of a {@link SimCluster}
 * (whose nodes run the real {@link ClusterNode}), the {@link Oracle} of what the acknowledged
 * writes and deletes add up to, and the checks against it.
 *
 * <p>Besides the convergence checks, reads at {@code r=quorum} are checked as they answer: once an
 * increment was acknowledged at {@code w=quorum}, every quorum read of that counter that starts
 * later sees it (R + W > N), as long as both ends counted every node as a replica, no restore
 * from a backup dropped data meanwhile, and the counter was never deleted.
 */
final class Simulation {

  static final long SETTLE_MAX_MS = 60_000;
  static final AntiEntropyConfig ANTI_ENTROPY = new AntiEntropyConfig(200, 256, 1_000, 1 << 20, 2_000);
  /** Epochs move every 200 ms at most: a scenario of a few seconds sees tombstones and retired ids go. */
  static final LifecycleConfig LIFECYCLE = new LifecycleConfig(200, 64, 5);
  static final ClusterConfig CONFIG = ClusterConfig.DEFAULTS.withAntiEntropy(ANTI_ENTROPY).withLifecycle(LIFECYCLE);
  /** Virtual time between two looks of the oracle at the replicas' folds (they stay longer than this). */
  private static final long OBSERVE_EVERY_MS = 50;

  final SimCluster cluster;
  final List<SimCluster.Node> nodes;
  final Oracle oracle = new Oracle();
  private final Bugs bugs;
  /** Quorum reads that saw less than was acknowledged at quorum before they began. */
  final List<String> quorumViolations = new ArrayList<>();
  private int restores;
  private int nextElement;

  Simulation(long seed, int n, Bugs bugs) {
    this.bugs = bugs;
    this.cluster = new SimCluster(seed, n, CONFIG, () -> new MemReplica(bugs),
        new ClusterNode.PlantedBugs(bugs.quorumReadSkipsAReplica), 50);
    cluster.minDelayMs = 1;
    cluster.maxDelayMs = 20; // reorders
    cluster.reuseReplicaIdAfterRestart = bugs.reuseReplicaIdAfterRestart;
    this.nodes = cluster.nodes;
  }

  /**
   * Runs until every node knows every other as a replica and all share an epoch, at most 30 s of
   * virtual time: faults start on a formed cluster. (Nodes that form separate clusters and meet
   * later are not one cluster's history: each side's deletes, epochs and tombstones are its own.)
   */
  void formCluster() {
    cluster.runUntil(() -> {
      long epoch = nodes.get(0).cluster.epoch();
      for (SimCluster.Node node : nodes) {
        if (node.membership().known().size() != nodes.size() - 1 || node.cluster.epoch() != epoch
            || node.cluster.status().lifecycle().participants() != nodes.size()) {
          return false;
        }
      }
      return true;
    }, 30_000);
  }

  /** Advances virtual time; the oracle looks at the replicas' folds as it goes. */
  void run(long millis) {
    for (long left = millis; left > 0; left -= OBSERVE_EVERY_MS) {
      cluster.run(Math.min(left, OBSERVE_EVERY_MS));
      observeFolds();
    }
  }

  long now() {
    return cluster.now();
  }

  private void observeFolds() {
    for (SimCluster.Node node : nodes) {
      node.replica.states().forEach((key, state) -> oracle.observe(key.toStringUtf8(), state));
    }
  }

  // ---------------------------------------------------------------- faults

  void crash(int i) {
    cluster.crash(nodes.get(i));
  }

  void restart(int i) {
    if (!nodes.get(i).removed) {
      cluster.restart(nodes.get(i));
    }
  }

  void backup(int i) {
    cluster.backup(nodes.get(i));
  }

  void restore(int i) {
    if (nodes.get(i).backup != null && !nodes.get(i).removed) {
      restores++;
      cluster.restore(nodes.get(i));
    }
  }

  void partition(int mask) {
    int[] groups = new int[nodes.size()];
    for (int i = 0; i < groups.length; i++) {
      groups[i] = (mask >> i) & 1;
    }
    cluster.partition(groups);
  }

  void partitionGroups(int[] groupOf) {
    cluster.partition(groupOf);
  }

  void heal() {
    cluster.heal();
  }

  void lossy(double loss, double duplicates) {
    cluster.lossRate = loss;
    cluster.duplicateRate = duplicates;
  }

  /**
   * Removes node {@code gone} for good, by an admin at node {@code by}: the cluster first settles
   * (so the writes it took are everywhere: a removed member's unreplicated writes are lost by
   * design), then it stops, and once {@code by} holds it dead it is removed. At most one per run,
   * and never below 3 members left.
   */
  void removeMember(int gone, int by) {
    SimCluster.Node node = nodes.get(gone);
    SimCluster.Node admin = nodes.get(by);
    long members = nodes.stream().filter(n -> !n.removed).count();
    if (gone == by || node.removed || admin.removed || members <= 3 || nodes.stream().anyMatch(n -> n.removed)) {
      return;
    }
    quiesce(SETTLE_MAX_MS);
    cluster.crash(node);
    cluster.runUntil(() -> admin.statusOf(node) == MemberStatus.DEAD, 30_000);
    if (admin.statusOf(node) != MemberStatus.DEAD) {
      return;
    }
    admin.cluster.removeMember(node.id);
    node.removed = true;
  }

  /** A removed node comes back with its old identity and data: it must be refused, never merged. */
  void comeBack(int i) {
    SimCluster.Node node = nodes.get(i);
    if (node.removed && !node.up) {
      cluster.restart(node);
    }
  }

  // ---------------------------------------------------------------- client writes

  private static ByteString k(String key) {
    return ByteString.copyFromUtf8(key);
  }

  /** Applies {@code update} at node {@code i} as a client write; its delta, or null when refused (a type mismatch). */
  private Lives write(SimCluster.Node node, String key, CrdtUpdate update) {
    if (!node.up || node.removed) {
      return null;
    }
    try {
      return node.update(k(key), update);
    } catch (TypeMismatch mismatch) {
      return null; // the client gets TYPE_MISMATCH: nothing acknowledged
    }
  }

  private Lives stateAt(SimCluster.Node node, String key) {
    Lives state = node.state(k(key));
    return state == null ? Lives.empty() : state;
  }

  /** A counter increment at node {@code i}; acknowledged when the node is up. */
  void increment(int i, String key, long amount) {
    SimCluster.Node node = nodes.get(i);
    Lives delta = write(node, key, new CrdtUpdate.CounterAdd(amount));
    if (delta != null) {
      oracle.increment(key, delta, node.replicaId, amount);
    }
  }

  /**
   * An increment at {@code w=quorum}: once the level is met the increment is acknowledged, and
   * quorum reads that start later must see it. One that fails may still have been applied.
   */
  void incrementAtQuorum(int i, String key, long amount) {
    incrementAtQuorum(i, key, amount, new boolean[1]);
  }

  /** As {@link #incrementAtQuorum(int, String, long)}; {@code answered[0]} turns true once it answers. */
  private void incrementAtQuorum(int i, String key, long amount, boolean[] answered) {
    SimCluster.Node node = nodes.get(i);
    boolean everyReplica = node.membership().replicaCount() == nodes.size();
    Lives delta = write(node, key, new CrdtUpdate.CounterAdd(amount));
    if (delta == null) {
      answered[0] = true;
      return;
    }
    oracle.increment(key, delta, node.replicaId, amount);
    int epoch = restores;
    node.cluster.write(k(key), delta, Level.QUORUM, (ok, failure) -> {
      answered[0] = true;
      if (failure == null && everyReplica && epoch == restores) {
        oracle.quorumAcked.merge(key, amount, Long::sum);
      }
    });
  }

  /**
   * A quorum increment at node {@code i} and, the moment it answers, a quorum read of the same
   * counter at node {@code j}: the read must see the write, rumors or not (R + W > N).
   */
  void incrementThenReadElsewhere(int i, int j, String key, long amount) {
    boolean[] answered = {false};
    incrementAtQuorum(i, key, amount, answered);
    cluster.runUntil(() -> answered[0], ANSWER_WAIT_MAX_MS);
    readAtQuorum(j, key);
  }

  /** A coordinated request answers within the replica timeout; waits for one are bounded by it. */
  static final long ANSWER_WAIT_MAX_MS = CONFIG.replication().timeoutMs() + 100;

  /** A read at {@code r=quorum}, checked when it answers against what quorum writes had acknowledged. */
  void readAtQuorum(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    if (!node.up || node.removed || node.membership().replicaCount() != nodes.size() || oracle.rewritten(key)) {
      return;
    }
    long mustSee = oracle.quorumAcked.getOrDefault(key, 0L);
    int epoch = restores;
    node.read(k(key), Level.QUORUM, (state, failure) -> {
      if (failure != null || epoch != restores || oracle.rewritten(key)) {
        return;
      }
      long seen = state.map(s -> Lives.of(s).visibleType().orElse(null) == CrdtType.PN_COUNTER
          ? Lives.of(s).counterValue() : 0L).orElse(0L);
      if (seen < mustSee) {
        quorumViolations.add("a quorum read of " + key + " at node " + i + " returned " + seen + ", but " + mustSee
            + " had been acknowledged at w=quorum before it began");
      }
    });
  }

  /** Adds a fresh element to a set at node {@code i}. */
  void add(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    String element = "e" + (nextElement++);
    Lives delta = write(node, key, new CrdtUpdate.SetUpdate(List.of(k(element)), List.of(), Optional.empty()));
    if (delta != null) {
      oracle.add(key, delta, k(element));
    }
  }

  /** Removes one element present at node {@code i}: the adds of it that node has seen. */
  void remove(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    Lives before = stateAt(node, key);
    List<ByteString> present = before.visibleType().orElse(null) == CrdtType.OR_SET ? before.elements() : List.of();
    if (!node.up || node.removed || present.isEmpty()) {
      return;
    }
    ByteString element = present.get(cluster.random().nextInt(present.size()));
    if (write(node, key, new CrdtUpdate.SetUpdate(List.of(), List.of(element), Optional.empty())) != null) {
      oracle.remove(key, element, before);
    }
  }

  /** A register assignment at node {@code i}, stamped as the store stamps it. */
  void assign(int i, String key, String value) {
    SimCluster.Node node = nodes.get(i);
    Lives delta = write(node, key, new CrdtUpdate.RegisterAssign(k(value)));
    if (delta != null) {
      oracle.assign(key, delta, value);
    }
  }

  /**
   * Deletes the key at node {@code i}, as that node holds it: what it has seen goes, what it has not
   * survives. With the planted bug, the delete takes out what every replica holds.
   */
  void delete(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    Lives seen = stateAt(node, key);
    Optional<KeyContext> context = Optional.empty();
    if (bugs.deleteSeesEverything) {
      Lives all = Lives.empty();
      for (SimCluster.Node n : nodes) {
        all = all.merge(stateAt(n, key));
      }
      context = Optional.of(all.context());
    }
    if (write(node, key, new CrdtUpdate.Delete(context)) != null) {
      oracle.delete(key, seen);
    }
  }

  /** Deletes the key at node {@code i} with the context of a read at node {@code j}: what j had seen goes. */
  void deleteAsReadAt(int i, int j, String key) {
    SimCluster.Node reader = nodes.get(j);
    if (!reader.up || reader.removed) {
      return;
    }
    Lives seen = stateAt(reader, key);
    if (write(nodes.get(i), key, new CrdtUpdate.Delete(Optional.of(seen.context()))) != null) {
      oracle.delete(key, seen);
    }
  }

  // ---------------------------------------------------------------- quiescence and checks

  /**
   * Stops the faults (heal, no loss, every member back up) and runs until the replicas agree with
   * each other and members agree on who is alive, at most {@code maxMillis}; returns the virtual
   * milliseconds it took, or -1.
   */
  long quiesce(long maxMillis) {
    heal();
    lossy(0, 0);
    for (SimCluster.Node node : nodes) {
      if (!node.removed) {
        cluster.restart(node);
      }
    }
    long start = now();
    while (now() - start < maxMillis) {
      if (cluster.converged()) {
        return now() - start;
      }
      run(10);
    }
    return cluster.converged() ? now() - start : -1;
  }

  String divergence() {
    return cluster.divergence();
  }

  /** What the replicas must hold: checked against the first member once they agree. Empty when they do. */
  List<String> violations() {
    List<String> out = new ArrayList<>(quorumViolations);
    observeFolds();
    out.addAll(oracle.check(key -> stateAt(cluster.firstMember(), key)));
    return out;
  }

  /** The replica ids of the members' current lives: the only ones a settled counter may name. */
  Set<NodeId> liveReplicaIds() {
    Set<NodeId> ids = new HashSet<>();
    for (SimCluster.Node node : nodes) {
      if (!node.removed) {
        ids.add(node.replicaId);
      }
    }
    return ids;
  }

  /** Counter lives, by key, that still name replica ids of no member's current life. */
  List<String> retiredIdsLeft() {
    Set<NodeId> live = liveReplicaIds();
    List<String> left = new ArrayList<>();
    for (SimCluster.Node node : nodes) {
      if (node.removed) {
        continue;
      }
      node.replica.states().forEach((key, state) -> {
        for (Life life : state.lives()) {
          if (life.type() == CrdtType.PN_COUNTER) {
            for (NodeId id : life.replicaIds()) {
              if (!live.contains(id)) {
                left.add("node " + node.index + " key " + key.toStringUtf8() + " names " + id + " in " + life
                    + " (" + life.replicaIds().size() + " ids)");
                return;
              }
            }
          }
        }
      });
    }
    return left;
  }
}
