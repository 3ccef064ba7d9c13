package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropy;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.clock.HybridLogicalClock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.gossip.RumorMonger;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.transport.PeerMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.TreeSet;

/**
 * A deterministic cluster simulator: N nodes running the real membership, rumor and anti-entropy
 * state machines over in-memory durable replicas, on a virtual clock and a network that drops,
 * duplicates, delays, reorders and partitions messages, with crashes, restarts and restores from
 * backups. A run is a function of its seed: every random choice comes from one seeded generator,
 * and events at the same virtual millisecond are ordered by sequence number.
 */
final class Simulation {

  static final MembershipConfig MEMBERSHIP = MembershipConfig.DEFAULTS;
  static final RumorConfig RUMORS = RumorConfig.DEFAULTS;
  static final long SETTLE_MAX_MS = 60_000;
  static final AntiEntropyConfig ANTI_ENTROPY = new AntiEntropyConfig(200, 256, 1_000, 1 << 20, 2_000);

  final class Node {
    final int index;
    final NodeId id;
    final String address;
    MemReplica replica;
    MemReplica backup;
    Membership membership;
    RumorMonger rumors;
    AntiEntropy antiEntropy;
    final HybridLogicalClock hlc;
    final long skewMillis;
    NodeId replicaId;
    long incarnation;
    boolean up = true;

    Node(int index) {
      this.index = index;
      this.id = NodeId.random(random);
      this.address = "node" + index + ":7479";
      this.skewMillis = random.nextInt(101) - 50; // clocks disagree by up to 100 ms
      this.hlc = new HybridLogicalClock(() -> now + skewMillis, new HlcTimestamp(0), 60_000);
      this.replica = new MemReplica(bugs);
    }

    void boot(List<String> seeds) {
      incarnation++;
      if (replicaId == null || !bugs.reuseReplicaIdAfterRestart) {
        replicaId = NodeId.random(random); // a fresh replica id for every life (see Store)
      }
      membership = new Membership(id, address, incarnation, seeds, MEMBERSHIP, () -> now, new Random(random.nextLong()),
          (to, m) -> send(this, to, m), (m, previous) -> {});
      rumors = new RumorMonger(id, RUMORS, () -> now, new Random(random.nextLong()), (to, m) -> send(this, to, m),
          membership::reachablePeers, () -> membership.reachablePeers().size() + 1,
          RumorMonger.Sink.oneByOne((key, delta) -> replica.merge(key, delta, true)));
      antiEntropy = new AntiEntropy(id, ANTI_ENTROPY, () -> now, new Random(random.nextLong()),
          (to, m) -> send(this, to, m), membership::reachablePeers, replica);
    }

    Crdt<?> state(ByteString key) {
      return replica.states().get(key);
    }

    void receive(PeerMessage m) {
      if (!antiEntropy.receive(m)) {
        membership.receive(m);
        rumors.receive(m);
      }
    }

    void tick() {
      membership.tick();
      rumors.tick();
      antiEntropy.tick();
    }
  }

  private record Delivery(long at, long order, int to, PeerMessage message) {}

  final Random random;
  final Bugs bugs;
  final List<Node> nodes = new ArrayList<>();
  private final PriorityQueue<Delivery> inFlight = new PriorityQueue<>(
      (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));
  private final Map<String, Integer> byAddress = new HashMap<>();
  private long order;
  long now = 1_700_000_000_000L;
  double lossRate;
  double duplicateRate;
  int[] partition; // node -> group; messages cross groups only when null
  final Reference reference = new Reference();
  long messages;

  Simulation(long seed, int n, Bugs bugs) {
    this.random = new Random(seed);
    this.bugs = bugs;
    for (int i = 0; i < n; i++) {
      Node node = new Node(i);
      nodes.add(node);
      byAddress.put(node.address, i);
    }
    for (Node node : nodes) {
      node.boot(List.of(nodes.get(0).address));
    }
  }

  // ---------------------------------------------------------------- network

  private void send(Node from, String to, PeerMessage message) {
    messages++;
    Integer target = byAddress.get(to);
    if (target == null || !from.up || random.nextDouble() < lossRate) {
      return;
    }
    if (partition != null && partition[from.index] != partition[target]) {
      return;
    }
    int copies = random.nextDouble() < duplicateRate ? 2 : 1;
    for (int c = 0; c < copies; c++) {
      inFlight.add(new Delivery(now + 1 + random.nextInt(20), order++, target, message)); // 1-20 ms: reorders
    }
  }

  void run(long millis) {
    long end = now + millis;
    while (now < end) {
      now++;
      while (!inFlight.isEmpty() && inFlight.peek().at <= now) {
        Delivery d = inFlight.poll();
        Node target = nodes.get(d.to);
        if (target.up) {
          target.receive(d.message);
        }
      }
      for (Node node : nodes) {
        if (node.up) {
          node.tick();
        }
      }
    }
  }

  // ---------------------------------------------------------------- faults

  void crash(int i) {
    nodes.get(i).up = false;
  }

  /** Restarts a crashed node: its durable replica survives; rumors, membership and probes do not. */
  void restart(int i) {
    Node node = nodes.get(i);
    if (node.up) {
      return;
    }
    node.up = true;
    node.boot(List.of(nodes.get(i == 0 ? 1 : 0).address));
  }

  void backup(int i) {
    Node node = nodes.get(i);
    node.backup = node.replica.copy();
  }

  /** Replaces a node's replica by its backup (crash, restore the directory, restart). */
  void restore(int i) {
    Node node = nodes.get(i);
    if (node.backup == null) {
      return;
    }
    crash(i);
    node.replica = node.backup.copy();
    restart(i);
  }

  void partition(int mask) {
    partition = new int[nodes.size()];
    for (int i = 0; i < nodes.size(); i++) {
      partition[i] = (mask >> i) & 1;
    }
  }

  /** Cuts the network into groups: {@code groupOf[i]} is node i's side. */
  void partitionGroups(int[] groupOf) {
    partition = groupOf.clone();
  }

  void heal() {
    partition = null;
  }

  // ---------------------------------------------------------------- client writes

  /** A counter increment at node {@code i}; acknowledged when the node is up. */
  void increment(int i, String key, long amount) {
    Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    ByteString k = ByteString.copyFromUtf8(key);
    PnCounter current = node.state(k) instanceof PnCounter c ? c : PnCounter.empty();
    apply(node, k, current.addDelta(node.replicaId, amount));
    reference.counters.merge(key, amount, Long::sum);
  }

  /** Adds a fresh element to a set at node {@code i}. */
  void add(int i, String key) {
    Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    ByteString k = ByteString.copyFromUtf8(key);
    String element = "e" + (reference.nextElement++);
    OrSet current = node.state(k) instanceof OrSet s ? s : OrSet.empty();
    apply(node, k, current.addAllDelta(node.replicaId, List.of(ByteString.copyFromUtf8(element))));
    reference.sets.computeIfAbsent(key, x -> new TreeSet<>()).add(element);
  }

  /** Removes one element present at node {@code i} (the remove sees its only add). */
  void remove(int i, String key) {
    Node node = nodes.get(i);
    ByteString k = ByteString.copyFromUtf8(key);
    if (!node.up || !(node.state(k) instanceof OrSet current) || current.size() == 0) {
      return;
    }
    ByteString element = current.elements().get(random.nextInt(current.size()));
    apply(node, k, current.removeAllDelta(List.of(element)));
    reference.sets.get(key).remove(element.toStringUtf8());
  }

  void assign(int i, String key, String value) {
    Node node = nodes.get(i);
    if (!node.up) {
      return;
    }
    ByteString k = ByteString.copyFromUtf8(key);
    LwwRegister current = node.state(k) instanceof LwwRegister r ? r : LwwRegister.empty();
    if (!current.isEmpty()) {
      node.hlc.observe(current.timestamp());
    }
    HlcTimestamp ts = node.hlc.now();
    apply(node, k, current.assignDelta(node.replicaId, ts, ByteString.copyFromUtf8(value)));
    reference.assign(key, value, ts, node.replicaId);
  }

  private void apply(Node node, ByteString key, Crdt<?> delta) {
    node.replica.merge(key, delta, false);
    node.rumors.hot(key, delta);
  }

  // ---------------------------------------------------------------- quiescence and checks

  /**
   * Stops the faults (heal, no loss, every node back up) and runs until the replicas agree with
   * each other and members agree on who is alive, at most {@code maxMillis}; returns the virtual
   * milliseconds it took, or -1.
   */
  long quiesce(long maxMillis) {
    heal();
    lossRate = 0;
    duplicateRate = 0;
    for (int i = 0; i < nodes.size(); i++) {
      restart(i);
    }
    long start = now;
    while (now - start < maxMillis) {
      if (converged()) {
        return now - start;
      }
      run(10);
    }
    return converged() ? now - start : -1;
  }

  /** Why the cluster has not converged, for failure messages; empty when it has. */
  String divergence() {
    StringBuilder out = new StringBuilder();
    Node first = nodes.get(0);
    for (Node node : nodes) {
      if (!node.replica.states().equals(first.replica.states())) {
        out.append("node ").append(node.index).append(" data differs from node 0; ");
      }
      if (node.replica.tree().root() != first.replica.tree().root()) {
        out.append("node ").append(node.index).append(" tree differs from node 0; ");
      }
      for (Node other : nodes) {
        Member m = node.membership.member(other.id);
        if (other != node && (m == null || m.status() != MemberStatus.ALIVE)) {
          out.append("node ").append(node.index).append(" sees node ").append(other.index).append(" as ")
              .append(m == null ? "unknown" : m.status() + " (incarnation " + m.incarnation() + ", actual "
                  + other.membership.incarnation() + ")").append("; ");
        }
      }
    }
    return out.toString();
  }

  boolean converged() {
    Node first = nodes.get(0);
    for (Node node : nodes) {
      if (!node.replica.states().equals(first.replica.states())
          || node.replica.tree().root() != first.replica.tree().root()) {
        return false;
      }
      for (Node other : nodes) {
        Member m = node.membership.member(other.id);
        if (other != node && (m == null || m.status() != MemberStatus.ALIVE)) {
          return false;
        }
      }
    }
    return true;
  }

  /** What the replicas must hold: checked against node 0 once they agree. Empty when they do. */
  List<String> violations() {
    List<String> out = new ArrayList<>();
    Node node = nodes.get(0);
    reference.counters.forEach((key, sum) -> {
      Crdt<?> s = node.state(ByteString.copyFromUtf8(key));
      long value = s instanceof PnCounter c ? c.value() : 0;
      if (value != sum) {
        out.add("counter " + key + " = " + value + ", acknowledged sum " + sum);
      }
    });
    reference.sets.forEach((key, expected) -> {
      Crdt<?> s = node.state(ByteString.copyFromUtf8(key));
      TreeSet<String> actual = new TreeSet<>();
      if (s instanceof OrSet set) {
        set.elements().forEach(e -> actual.add(e.toStringUtf8()));
      }
      if (!actual.equals(expected)) {
        out.add("set " + key + " = " + actual + ", add-wins reference " + expected);
      }
    });
    reference.registers.forEach((key, w) -> {
      Crdt<?> s = node.state(ByteString.copyFromUtf8(key));
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
