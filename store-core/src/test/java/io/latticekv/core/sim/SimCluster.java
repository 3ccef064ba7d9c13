package io.latticekv.core.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.clock.HybridLogicalClock;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.membership.KnownMember;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.replication.Level;
import io.latticekv.core.replication.ReplicationConfig;
import io.latticekv.core.transport.PeerMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The deterministic cluster simulator: N nodes, each a real {@link ClusterNode} (membership,
 * rumors, anti-entropy, consistency levels, wired as in the server) over an in-memory durable
 * {@link SimReplica}, on a virtual clock, a network that drops, duplicates, delays, reorders and
 * partitions messages, and disks that may be slow: a node's storage work (and what the protocols do
 * with its result) happens {@code diskDelayMs} later in virtual time, as on a storage thread. Nodes
 * crash, restart and are restored from backups. A run is a function of its seed: every random
 * choice comes from one generator, and events at the same virtual millisecond run in the order
 * they were scheduled.
 */
public final class SimCluster {

  /** One simulated node: its identity, its durable state, and the protocols of its current life. */
  public final class Node {
    public final int index;
    public final NodeId id;
    public final String address;
    public final HybridLogicalClock hlc;
    public final long skewMillis;
    public SimReplica replica;
    public SimReplica backup;
    public ClusterNode cluster;
    /** The known members, as the node last persisted them. */
    public List<KnownMember> known = List.of();
    public NodeId replicaId;
    public long incarnation;
    public boolean up = true;
    /** Removed from the cluster for good (lattice remove-member): left out of every check. */
    public boolean removed;
    /** Virtual milliseconds each storage task of this node takes to run: a slow disk. */
    public long diskDelayMs;
    public long messagesOut;
    /** Bumped at every boot: storage work of an earlier life is dropped, as a crash drops it. */
    private int life;

    Node(int index) {
      this.index = index;
      this.id = NodeId.random(random);
      this.address = "node" + index + ":7479";
      this.skewMillis = clockSkewMaxMs == 0 ? 0 : random.nextInt((int) (2 * clockSkewMaxMs + 1)) - clockSkewMaxMs;
      this.hlc = new HybridLogicalClock(() -> now + skewMillis, new HlcTimestamp(0));
      this.replica = replicas.get();
    }

    void boot(List<String> seeds) {
      incarnation++;
      life++;
      if (replicaId == null || !reuseReplicaIdAfterRestart) {
        replicaId = NodeId.random(random); // a fresh replica id for every life (see Store)
      }
      replica.startLife(replicaId, hlc::now);
      cluster = new ClusterNode(id, address, incarnation, seeds, known, config, () -> now,
          new Random(random.nextLong()), (to, m) -> send(this, to, m), replica, storageOf(this),
          new Membership.Listener() {
            @Override
            public void changed(Member member, MemberStatus previous) {}

            @Override
            public void knownChanged(List<KnownMember> now) {
              known = List.copyOf(now); // durable at once, like the replica
            }
          }, bugs);
    }

    public Membership membership() {
      return cluster.membership();
    }

    public MemberStatus statusOf(Node other) {
      Member m = membership().member(other.id);
      return m == null ? null : m.status();
    }

    public Lives state(ByteString key) {
      return replica.states().get(key);
    }

    /** A client update here, computed as the store computes it, applied, then spread; returns its delta. */
    public Lives update(ByteString key, CrdtUpdate update) {
      Lives delta = replica.update(key, update);
      if (!delta.isEmpty()) {
        cluster.replicated(key, delta);
      }
      return delta;
    }

    /** A client write here: applied to the replica, then spread. */
    public void write(ByteString key, Crdt<?> delta) {
      replica.write(key, delta);
      cluster.replicated(key, delta);
    }

    /** A client write at {@code level}: applied here, then replicated; {@code done} says whether the level was met. */
    public void write(ByteString key, Crdt<?> delta, Level level, BiConsumer<Void, Throwable> done) {
      write(key, delta);
      cluster.write(key, delta, level, done);
    }

    /** A client read at {@code level}. */
    public void read(ByteString key, Level level, BiConsumer<Optional<Crdt<?>>, Throwable> done) {
      cluster.read(key, Optional.ofNullable((Crdt<?>) state(key)), level, done);
    }
  }

  private record Event(long at, long order, Runnable action) {}

  public final List<Node> nodes = new ArrayList<>();
  private final PriorityQueue<Event> events = new PriorityQueue<>(
      (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));
  private final Map<String, Integer> byAddress = new HashMap<>();
  private final Set<Long> cut = new HashSet<>();
  private final Random random;
  private final ClusterConfig config;
  private final Supplier<? extends SimReplica> replicas;
  private final ClusterNode.PlantedBugs bugs;
  private final long clockSkewMaxMs;
  private long now = 1_700_000_000_000L;
  private long order;
  private int[] partition; // node -> group; messages cross groups only when null
  public double lossRate;
  public double duplicateRate;
  /** Network delay of each message: uniform in [minDelayMs, maxDelayMs]; a spread reorders. */
  public long minDelayMs = 1;
  public long maxDelayMs = 1;
  /** A planted bug: a restarted node writes under its old replica id (riak_kv#679). */
  public boolean reuseReplicaIdAfterRestart;
  public long messages;

  /** Membership and rumors only, the replicas' clocks in step: for protocol tests. */
  public SimCluster(long seed, int n, MembershipConfig membership, RumorConfig rumors) {
    this(seed, n, new ClusterConfig(membership, rumors, null, ReplicationConfig.DEFAULTS), SimReplica::new,
        ClusterNode.PlantedBugs.NONE, 0);
  }

  /**
   * @param replicas makes each node's replica (a planted bug subclasses {@link SimReplica})
   * @param clockSkewMaxMs each node's clock is off by up to this much, either way
   */
  public SimCluster(long seed, int n, ClusterConfig config, Supplier<? extends SimReplica> replicas,
      ClusterNode.PlantedBugs bugs, long clockSkewMaxMs) {
    this.random = new Random(seed);
    this.config = config;
    this.replicas = replicas;
    this.bugs = bugs;
    this.clockSkewMaxMs = clockSkewMaxMs;
    for (int i = 0; i < n; i++) {
      Node node = new Node(i);
      nodes.add(node);
      byAddress.put(node.address, i);
    }
    for (Node node : nodes) {
      node.boot(List.of(nodes.get(0).address));
    }
  }

  public long now() {
    return now;
  }

  public Random random() {
    return random;
  }

  public void setLossRate(double rate) {
    this.lossRate = rate;
  }

  // ---------------------------------------------------------------- events

  private void schedule(long at, Runnable action) {
    events.add(new Event(at, order++, action));
  }

  private void send(Node from, String to, PeerMessage message) {
    messages++;
    from.messagesOut++;
    Integer target = byAddress.get(to);
    if (target == null || !from.up || random.nextDouble() < lossRate || blocked(from.index, target)) {
      return;
    }
    int copies = random.nextDouble() < duplicateRate ? 2 : 1;
    for (int c = 0; c < copies; c++) {
      long delay = minDelayMs + (maxDelayMs > minDelayMs ? random.nextInt((int) (maxDelayMs - minDelayMs + 1)) : 0);
      Node to2 = nodes.get(target);
      schedule(now + delay, () -> {
        if (to2.up) {
          to2.cluster.receive(message);
        }
      });
    }
  }

  private boolean blocked(int a, int b) {
    return cut.contains(pair(a, b)) || (partition != null && partition[a] != partition[b]);
  }

  /** Storage work of {@code node}: it and its continuation run {@code diskDelayMs} later, if the node lives. */
  private StorageRunner storageOf(Node node) {
    int life = node.life;
    return new StorageRunner() {
      @Override
      public <T> void runAsync(Supplier<? extends CompletionStage<T>> work, BiConsumer<? super T, Throwable> then) {
        schedule(now + node.diskDelayMs, () -> {
          if (node.up && node.life == life) { // else it crashed meanwhile: the work never happened
            StorageRunner.runHere(work, then);
          }
        });
      }
    };
  }

  /** Advances virtual time by {@code millis}, one millisecond at a time. */
  public void run(long millis) {
    long end = now + millis;
    while (now < end) {
      now++;
      while (!events.isEmpty() && events.peek().at <= now) {
        events.poll().action.run();
      }
      for (Node node : nodes) {
        if (node.up) {
          node.cluster.tick();
        }
      }
    }
  }

  /** Runs until {@code condition} holds or {@code maxMillis} pass; returns the millis it took, or -1. */
  public long runUntil(BooleanSupplier condition, long maxMillis) {
    long start = now;
    while (now - start < maxMillis) {
      if (condition.getAsBoolean()) {
        return now - start;
      }
      run(1);
    }
    return condition.getAsBoolean() ? now - start : -1;
  }

  // ---------------------------------------------------------------- faults

  /** Stops a node: it neither sends, receives, ticks nor finishes storage work. */
  public void crash(Node node) {
    node.up = false;
  }

  /** Restarts a crashed node: its replica and known members survive; rumors, probes and pending work do not. */
  public void restart(Node node) {
    if (node.up) {
      return;
    }
    node.up = true;
    node.boot(List.of(firstOtherMember(node).address));
  }

  private Node firstOtherMember(Node node) {
    for (Node other : nodes) {
      if (other != node && !other.removed) {
        return other;
      }
    }
    return nodes.get(node.index == 0 ? 1 : 0);
  }

  /** Restarts a crashed node at a given incarnation with an empty replica (a wiped directory). */
  public void restart(Node node, long incarnation) {
    node.replica = replicas.get();
    node.known = List.of();
    node.incarnation = incarnation - 1;
    node.up = false;
    restart(node);
  }

  public void backup(Node node) {
    node.backup = node.replica.copyInto(replicas.get());
  }

  /** Replaces a node's replica by its backup (crash, restore the directory, restart). */
  public void restore(Node node) {
    if (node.backup == null) {
      return;
    }
    crash(node);
    node.replica = node.backup.copyInto(replicas.get());
    restart(node);
  }

  /** Drops every message between a and b, both ways, until {@link #heal}. */
  public void cut(Node a, Node b) {
    cut.add(pair(a.index, b.index));
  }

  public void isolate(Node a) {
    for (Node b : nodes) {
      if (b != a) {
        cut(a, b);
      }
    }
  }

  /** Cuts the network into groups: {@code groupOf[i]} is node i's side. */
  public void partition(int[] groupOf) {
    partition = groupOf.clone();
  }

  public void heal() {
    cut.clear();
    partition = null;
  }

  private static long pair(int a, int b) {
    return ((long) Math.min(a, b) << 32) | Math.max(a, b);
  }

  // ---------------------------------------------------------------- checks

  /** Whether every up node sees every other up node as alive. */
  public boolean allAlive() {
    for (Node a : nodes) {
      for (Node b : nodes) {
        if (a != b && a.up && b.up && !a.removed && !b.removed && a.statusOf(b) != MemberStatus.ALIVE) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether every node holds the same data and tree, and sees every other as alive. */
  public boolean converged() {
    Node first = firstMember();
    for (Node node : nodes) {
      if (node.removed) {
        continue;
      }
      if (!node.replica.states().equals(first.replica.states()) || node.replica.tree().root() != first.replica.tree().root()) {
        return false;
      }
    }
    return allAlive();
  }

  /** Why the cluster has not converged, for failure messages; empty when it has. */
  /** The first node that was not removed: what the others are compared with. */
  public Node firstMember() {
    for (Node node : nodes) {
      if (!node.removed) {
        return node;
      }
    }
    throw new IllegalStateException("every node was removed");
  }

  public String divergence() {
    StringBuilder out = new StringBuilder();
    Node first = firstMember();
    for (Node node : nodes) {
      if (node.removed) {
        continue;
      }
      if (!node.replica.states().equals(first.replica.states())) {
        out.append("node ").append(node.index).append(" data differs from node ").append(first.index).append("; ");
      }
      if (node.replica.tree().root() != first.replica.tree().root()) {
        out.append("node ").append(node.index).append(" tree differs from node ").append(first.index).append("; ");
      }
      for (Node other : nodes) {
        Member m = node.membership().member(other.id);
        if (other != node && !other.removed && (m == null || m.status() != MemberStatus.ALIVE)) {
          out.append("node ").append(node.index).append(" sees node ").append(other.index).append(" as ")
              .append(m == null ? "unknown" : m.status() + " (incarnation " + m.incarnation() + ", actual "
                  + other.membership().incarnation() + ")").append("; ");
        }
      }
    }
    return out.toString();
  }
}
