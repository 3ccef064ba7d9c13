package io.latticekv.core.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.gossip.RumorMonger;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.transport.PeerMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;

/**
 * Nodes running the real membership and rumor state machines on a virtual clock and a simulated
 * network that delays, loses and partitions messages. A run is a function of its seed. Each node's
 * replica is a map of keys to CRDT states, merged as the storage engine would.
 */
public final class SimCluster {

  public final class Node {
    public final int index;
    public final NodeId id;
    public final String address;
    public Membership membership;
    public RumorMonger rumors;
    public final Map<ByteString, Crdt<?>> replica = new HashMap<>();
    public boolean up = true;
    long messagesOut;

    Node(int index, NodeId id) {
      this.index = index;
      this.id = id;
      this.address = "sim-" + index + ":7946";
    }

    void boot(long incarnation, List<String> seeds) {
      Random r = new Random(random.nextLong());
      membership = new Membership(id, address, incarnation, seeds, membershipConfig, () -> now, r,
          (to, m) -> send(this, to, m), (member, previous) -> {});
      rumors = new RumorMonger(id, rumorConfig, () -> now, new Random(random.nextLong()),
          (to, m) -> send(this, to, m), membership::reachablePeers,
          () -> membership.reachablePeers().size() + 1, RumorMonger.Sink.oneByOne(this::merge));
    }

    boolean merge(ByteString key, Crdt<?> delta) {
      Crdt<?> current = replica.get(key);
      Crdt<?> next = current == null ? delta : Crdt.join(current, delta);
      if (next.equals(current)) {
        return false;
      }
      replica.put(key, next);
      return true;
    }

    /** A client write here: apply locally, then it becomes a hot rumor. */
    public void write(ByteString key, Crdt<?> delta) {
      merge(key, delta);
      rumors.hot(key, delta);
    }

    public MemberStatus statusOf(Node other) {
      Member m = membership.member(other.id);
      return m == null ? null : m.status();
    }
  }

  private record Delivery(long at, long order, int to, PeerMessage message) {}

  public final List<Node> nodes = new ArrayList<>();
  private final PriorityQueue<Delivery> inFlight = new PriorityQueue<>(
      (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));
  private final Map<String, Integer> byAddress = new HashMap<>();
  private final Set<Long> cut = new HashSet<>();
  private final Random random;
  private final MembershipConfig membershipConfig;
  private final RumorConfig rumorConfig;
  private long now = 1_700_000_000_000L;
  private long order;
  private double lossRate;
  private long delayMs = 1;
  public long messages;

  public SimCluster(long seed, int n, MembershipConfig membershipConfig, RumorConfig rumorConfig) {
    this.random = new Random(seed);
    this.membershipConfig = membershipConfig;
    this.rumorConfig = rumorConfig;
    for (int i = 0; i < n; i++) {
      Node node = new Node(i, NodeId.random(random));
      nodes.add(node);
      byAddress.put(node.address, i);
    }
    for (Node node : nodes) {
      node.boot(1, List.of(nodes.get(0).address));
    }
  }

  public long now() {
    return now;
  }

  public void setLossRate(double rate) {
    this.lossRate = rate;
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

  public void heal() {
    cut.clear();
  }

  private static long pair(int a, int b) {
    return ((long) Math.min(a, b) << 32) | Math.max(a, b);
  }

  private void send(Node from, String to, PeerMessage message) {
    messages++;
    from.messagesOut++;
    Integer target = byAddress.get(to);
    if (target == null || !from.up || cut.contains(pair(from.index, target)) || random.nextDouble() < lossRate) {
      return;
    }
    inFlight.add(new Delivery(now + delayMs, order++, target, message));
  }

  /** Stops a node: it neither sends, receives nor ticks. */
  public void crash(Node node) {
    node.up = false;
  }

  /** Restarts a crashed node with its id, an empty replica and a higher incarnation. */
  public void restart(Node node, long incarnation) {
    node.up = true;
    node.replica.clear();
    node.boot(incarnation, List.of(nodes.get(node.index == 0 ? 1 : 0).address));
  }

  /** Advances virtual time by {@code millis}, one millisecond at a time. */
  public void run(long millis) {
    long end = now + millis;
    while (now < end) {
      now++;
      while (!inFlight.isEmpty() && inFlight.peek().at <= now) {
        Delivery d = inFlight.poll();
        Node target = nodes.get(d.to);
        if (target.up) {
          target.membership.receive(d.message);
          target.rumors.receive(d.message);
        }
      }
      for (Node node : nodes) {
        if (node.up) {
          node.membership.tick();
          node.rumors.tick();
        }
      }
    }
  }

  /** Runs until {@code condition} holds or {@code maxMillis} pass; returns the millis it took, or -1. */
  public long runUntil(java.util.function.BooleanSupplier condition, long maxMillis) {
    long start = now;
    while (now - start < maxMillis) {
      if (condition.getAsBoolean()) {
        return now - start;
      }
      run(1);
    }
    return condition.getAsBoolean() ? now - start : -1;
  }

  /** Whether every up node sees every other node as alive. */
  public boolean allAlive() {
    for (Node a : nodes) {
      for (Node b : nodes) {
        if (a != b && a.up && b.up && a.statusOf(b) != MemberStatus.ALIVE) {
          return false;
        }
      }
    }
    return true;
  }

  public Random random() {
    return random;
  }
}
