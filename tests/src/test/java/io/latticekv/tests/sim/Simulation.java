package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.replication.Level;
import io.latticekv.core.sim.SimCluster;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The client side of a simulation: writes and reads at nodes of a {@link SimCluster} (whose nodes
 * run the real {@link ClusterNode}), a naive reference model of what the acknowledged writes add
 * up to, and the checks against it.
 *
 * <p>Besides the convergence checks, reads at {@code r=quorum} are checked as they answer: once an
 * increment was acknowledged at {@code w=quorum}, every quorum read of that counter that starts
 * later sees it (R + W > N), as long as both ends counted every node as a replica and no restore
 * from a backup dropped data meanwhile.
 */
final class Simulation {

  static final long SETTLE_MAX_MS = 60_000;
  static final AntiEntropyConfig ANTI_ENTROPY = new AntiEntropyConfig(200, 256, 1_000, 1 << 20, 2_000);
  static final ClusterConfig CONFIG = ClusterConfig.DEFAULTS.withAntiEntropy(ANTI_ENTROPY);

  final SimCluster cluster;
  final List<SimCluster.Node> nodes;
  final Reference reference = new Reference();
  /** Quorum reads that saw less than was acknowledged at quorum before they began. */
  final List<String> quorumViolations = new ArrayList<>();
  private int restores;

  Simulation(long seed, int n, Bugs bugs) {
    this.cluster = new SimCluster(seed, n, CONFIG, () -> new MemReplica(bugs),
        new ClusterNode.PlantedBugs(bugs.quorumReadSkipsAReplica), 50);
    cluster.minDelayMs = 1;
    cluster.maxDelayMs = 20; // reorders
    cluster.reuseReplicaIdAfterRestart = bugs.reuseReplicaIdAfterRestart;
    this.nodes = cluster.nodes;
  }

  void run(long millis) {
    cluster.run(millis);
  }

  long now() {
    return cluster.now();
  }

  // ---------------------------------------------------------------- faults

  void crash(int i) {
    cluster.crash(nodes.get(i));
  }

  void restart(int i) {
    cluster.restart(nodes.get(i));
  }

  void backup(int i) {
    cluster.backup(nodes.get(i));
  }

  void restore(int i) {
    if (nodes.get(i).backup != null) {
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

  // ---------------------------------------------------------------- client writes

  private static ByteString k(String key) {
    return ByteString.copyFromUtf8(key);
  }

  /** A counter increment at node {@code i}; acknowledged when the node is up. */
  void increment(int i, String key, long amount) {
    SimCluster.Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    node.write(k(key), counterDelta(node, key, amount));
    reference.counters.merge(key, amount, Long::sum);
  }

  private static Crdt<?> counterDelta(SimCluster.Node node, String key, long amount) {
    PnCounter current = node.state(k(key)) instanceof PnCounter c ? c : PnCounter.empty();
    return current.addDelta(node.replicaId, amount);
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
    if (!node.up) {
      answered[0] = true;
      return;
    }
    boolean everyReplica = node.membership().replicaCount() == nodes.size();
    int epoch = restores;
    node.write(k(key), counterDelta(node, key, amount), Level.QUORUM, (ok, failure) -> {
      answered[0] = true;
      if (failure == null && everyReplica && epoch == restores) {
        reference.quorumAcked.merge(key, amount, Long::sum);
      }
    });
    reference.counters.merge(key, amount, Long::sum);
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
    if (!node.up || node.membership().replicaCount() != nodes.size()) {
      return;
    }
    long mustSee = reference.quorumAcked.getOrDefault(key, 0L);
    int epoch = restores;
    node.read(k(key), Level.QUORUM, (state, failure) -> {
      if (failure != null || epoch != restores) {
        return;
      }
      long seen = state.map(s -> ((PnCounter) s).value()).orElse(0L);
      if (seen < mustSee) {
        quorumViolations.add("a quorum read of " + key + " at node " + i + " returned " + seen + ", but " + mustSee
            + " had been acknowledged at w=quorum before it began");
      }
    });
  }

  /** Adds a fresh element to a set at node {@code i}. */
  void add(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    String element = "e" + (reference.nextElement++);
    OrSet current = node.state(k(key)) instanceof OrSet s ? s : OrSet.empty();
    node.write(k(key), current.addAllDelta(node.replicaId, List.of(k(element))));
    reference.sets.computeIfAbsent(key, x -> new TreeSet<>()).add(element);
  }

  /** Removes one element present at node {@code i} (the remove sees its only add). */
  void remove(int i, String key) {
    SimCluster.Node node = nodes.get(i);
    if (!node.up || !(node.state(k(key)) instanceof OrSet current) || current.size() == 0) {
      return;
    }
    ByteString element = current.elements().get(cluster.random().nextInt(current.size()));
    node.write(k(key), current.removeAllDelta(List.of(element)));
    reference.sets.get(key).remove(element.toStringUtf8());
  }

  /** A register assignment at node {@code i}, stamped as the store stamps it (above the stored write). */
  void assign(int i, String key, String value) {
    SimCluster.Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    LwwRegister current = node.state(k(key)) instanceof LwwRegister r ? r : LwwRegister.empty();
    LwwRegister delta = (LwwRegister) new CrdtUpdate.RegisterAssign(k(value)).delta(current, node.replicaId, node.hlc::now);
    node.write(k(key), delta);
    reference.assign(key, value, delta.timestamp(), node.replicaId);
  }

  // ---------------------------------------------------------------- quiescence and checks

  /**
   * Stops the faults (heal, no loss, every node back up) and runs until the replicas agree with
   * each other and members agree on who is alive, at most {@code maxMillis}; returns the virtual
   * milliseconds it took, or -1.
   */
  long quiesce(long maxMillis) {
    heal();
    lossy(0, 0);
    for (SimCluster.Node node : nodes) {
      cluster.restart(node);
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

  /** What the replicas must hold: checked against node 0 once they agree. Empty when they do. */
  List<String> violations() {
    List<String> out = new ArrayList<>(quorumViolations);
    SimCluster.Node node = nodes.get(0);
    reference.counters.forEach((key, sum) -> {
      Crdt<?> s = node.state(k(key));
      long value = s instanceof PnCounter c ? c.value() : 0;
      if (value != sum) {
        out.add("counter " + key + " = " + value + ", acknowledged sum " + sum);
      }
    });
    reference.sets.forEach((key, expected) -> {
      Crdt<?> s = node.state(k(key));
      TreeSet<String> actual = new TreeSet<>();
      if (s instanceof OrSet set) {
        set.elements().forEach(e -> actual.add(e.toStringUtf8()));
      }
      if (!actual.equals(expected)) {
        out.add("set " + key + " = " + actual + ", add-wins reference " + expected);
      }
    });
    reference.registers.forEach((key, w) -> {
      Crdt<?> s = node.state(k(key));
      if (!(s instanceof LwwRegister r) || !r.value().toStringUtf8().equals(w.value())) {
        out.add("register " + key + " = " + (s == null ? "nothing" : ((LwwRegister) s).value().toStringUtf8())
            + ", latest acknowledged " + w.value());
      }
    });
    return out;
  }

  /** The naive model: what acknowledged writes add up to. */
  static final class Reference {
    final Map<String, Long> counters = new HashMap<>();
    /** Per counter, the sum of increments acknowledged at w=quorum by a node that counted every replica. */
    final Map<String, Long> quorumAcked = new HashMap<>();
    final Map<String, TreeSet<String>> sets = new HashMap<>();
    final Map<String, Write> registers = new HashMap<>();
    int nextElement;

    record Write(String value, long timestamp, NodeId writer) {}

    void assign(String key, String value, HlcTimestamp ts, NodeId writer) {
      Write w = new Write(value, ts.packed(), writer);
      registers.merge(key, w, (a, b) -> {
        int byTime = Long.compareUnsigned(a.timestamp(), b.timestamp());
        return byTime > 0 || (byTime == 0 && a.writer().compareTo(b.writer()) > 0) ? a : b;
      });
    }
  }
}
