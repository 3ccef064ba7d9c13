package io.latticekv.core.membership;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.TransmitLimitedQueue;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.Ack;
import io.latticekv.core.transport.PeerMessage.Gossip;
import io.latticekv.core.transport.PeerMessage.Join;
import io.latticekv.core.transport.PeerMessage.JoinReply;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import io.latticekv.core.transport.PeerMessage.Ping;
import io.latticekv.core.transport.PeerMessage.PingReq;
import io.latticekv.core.transport.Transport;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * SWIM membership (Das, Gupta and Motivala, "SWIM: Scalable Weakly-consistent Infection-style
 * Process Group Membership Protocol", 2002) as an I/O-free state machine, after HashiCorp's
 * memberlist: {@link #tick()} drives the timers from the injected {@link Clock}, {@link #receive}
 * takes messages, and everything it sends goes through the injected {@link Transport}. It never
 * reads the wall clock, starts a thread or draws from a global random source, so the simulator can
 * drive it in virtual time and replay it from a seed.
 *
 * <p>Each probe interval one member is pinged (round-robin over a shuffled list, SWIM section
 * 4.3). No ack within the probe timeout: {@code indirectProbes} others are asked to ping it. No
 * ack by the end of the interval: it becomes suspect, and the suspicion is gossiped. A suspect
 * that does not refute within the suspicion timeout becomes dead. A member refutes by raising its
 * incarnation and gossiping itself alive (section 4.2). Updates ride on pings and acks, each sent
 * a bounded number of times (section 4.4).
 *
 * <p>Precedence of updates about one member, as in SWIM and memberlist: alive with a higher
 * incarnation overrides anything but a later leave; suspect overrides alive of the same or a lower
 * incarnation; dead and left override alive and suspect of the same or a lower incarnation.
 *
 * <p>Not thread-safe: one driver thread calls it.
 */
public final class Membership {

  /** Told of every status change, for logs, metrics and the rumor layer. */
  public interface Listener {
    void changed(Member member, MemberStatus previous);
  }

  private final NodeId selfId;
  private final String selfAddress;
  private long incarnation;
  private final List<String> seeds;
  private final MembershipConfig config;
  private final Clock clock;
  private final Random random;
  private final Transport transport;
  private final Listener listener;

  private final Map<NodeId, Member> members = new HashMap<>();
  private final TransmitLimitedQueue<NodeId, MemberUpdate> broadcasts;
  private final List<NodeId> probeOrder = new ArrayList<>();
  private int probeIndex;
  private long nextProbeAt;
  private long nextJoinAt;
  private long nextSyncAt;

  /**
   * A full view exchange with one random member every this many probe intervals (memberlist's
   * push-pull sync). Piggybacked updates are sent a bounded number of times; a node cut off
   * while one was spreading (a death notice, a restart's new incarnation) would otherwise never
   * hear it, and two views could stay split forever (found by the cluster simulator). Dead
   * members are candidates too, so a node wrongly declared dead learns it and refutes.
   */
  static final int SYNC_EVERY_PROBES = 10;
  private long seq;
  private boolean left;

  /** The probe in progress, if any. */
  private NodeId probing;
  private long probeSeq;
  private long probeStartedAt;
  private boolean indirectSent;

  /** Pings we sent on behalf of a PingReq: our seq -> (requester address, requester's seq). */
  private final Map<Long, Relay> relays = new HashMap<>();

  private record Relay(String requesterAddress, long requesterSeq, long expiresAt) {}

  public Membership(NodeId selfId, String selfAddress, long incarnation, List<String> seeds,
      MembershipConfig config, Clock clock, Random random, Transport transport, Listener listener) {
    this.selfId = selfId;
    this.selfAddress = selfAddress;
    this.incarnation = incarnation;
    this.seeds = seeds.stream().filter(s -> !s.equals(selfAddress)).toList();
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.listener = listener;
    this.broadcasts = new TransmitLimitedQueue<>(config.retransmitMult(), this::knownCount, 4096, (a, b) -> b);
    long now = clock.millis();
    members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.ALIVE, now, now));
    broadcasts.add(selfId, selfUpdate());
    this.nextProbeAt = now + config.probeIntervalMs();
    this.nextJoinAt = now;
    this.nextSyncAt = now + config.probeIntervalMs() * SYNC_EVERY_PROBES;
  }

  // ---------------------------------------------------------------- queries

  public NodeId selfId() {
    return selfId;
  }

  public long incarnation() {
    return incarnation;
  }

  /** Every member known, this node included, sorted by id. */
  public List<Member> members() {
    List<Member> all = new ArrayList<>(members.values());
    all.sort((a, b) -> a.id().compareTo(b.id()));
    return all;
  }

  public Member member(NodeId id) {
    return members.get(id);
  }

  /** Other members that are alive or suspect: who gets rumors and probes. */
  public List<Member> reachablePeers() {
    List<Member> peers = new ArrayList<>();
    for (Member m : members.values()) {
      if (!m.id().equals(selfId) && m.status().reachable()) {
        peers.add(m);
      }
    }
    peers.sort((a, b) -> a.id().compareTo(b.id()));
    return peers;
  }

  /** Members not known to be dead or gone, this node included: the n of the log n bounds. */
  private int knownCount() {
    int n = 0;
    for (Member m : members.values()) {
      if (m.status().reachable()) {
        n++;
      }
    }
    return Math.max(1, n);
  }

  // ---------------------------------------------------------------- timers

  /** Advances the timers to the clock's now: joins, probes, suspicion timeouts. */
  public void tick() {
    if (left) {
      return;
    }
    long now = clock.millis();
    if (reachablePeers().isEmpty() && !seeds.isEmpty() && now >= nextJoinAt) {
      for (String seed : seeds) {
        transport.send(seed, new Join(selfId, selfAddress, incarnation));
      }
      nextJoinAt = now + config.probeIntervalMs();
    }
    if (probing != null) {
      continueProbe(now);
    }
    if (probing == null && now >= nextProbeAt) {
      startProbe(now);
      nextProbeAt = now + config.probeIntervalMs();
    }
    expireSuspects(now);
    relays.values().removeIf(r -> r.expiresAt() <= now);
    if (now >= nextSyncAt) {
      nextSyncAt = now + config.probeIntervalMs() * SYNC_EVERY_PROBES;
      syncWithRandomMember();
    }
  }

  /** Push our whole view to a random member, and pull its view back (its answer to a Join). */
  private void syncWithRandomMember() {
    List<Member> candidates = new ArrayList<>();
    for (Member m : members.values()) {
      if (!m.id().equals(selfId) && m.status() != MemberStatus.LEFT) {
        candidates.add(m);
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    candidates.sort((a, b) -> a.id().compareTo(b.id()));
    Member target = candidates.get(random.nextInt(candidates.size()));
    transport.send(target.address(), new Gossip(selfId, fullView()));
    transport.send(target.address(), new Join(selfId, selfAddress, incarnation));
  }

  private List<MemberUpdate> fullView() {
    List<MemberUpdate> view = new ArrayList<>();
    for (Member m : members()) {
      view.add(new MemberUpdate(m.id(), m.address(), m.incarnation(), m.status()));
    }
    return view;
  }

  private void startProbe(long now) {
    NodeId target = nextProbeTarget();
    if (target == null) {
      return;
    }
    probing = target;
    probeSeq = ++seq;
    probeStartedAt = now;
    indirectSent = false;
    transport.send(members.get(target).address(), new Ping(selfId, probeSeq, piggyback()));
  }

  private void continueProbe(long now) {
    Member target = members.get(probing);
    if (target == null || !target.status().reachable()) {
      probing = null;
      return;
    }
    if (!indirectSent && now - probeStartedAt >= config.probeTimeoutMs()) {
      indirectSent = true;
      List<Member> helpers = new ArrayList<>(reachablePeers());
      helpers.removeIf(m -> m.id().equals(probing));
      Collections.shuffle(helpers, random);
      for (Member helper : helpers.subList(0, Math.min(config.indirectProbes(), helpers.size()))) {
        transport.send(helper.address(), new PingReq(selfId, probeSeq, probing, target.address()));
      }
    }
    if (now - probeStartedAt >= config.probeIntervalMs()) {
      // Neither the member nor anyone on our behalf heard back within the interval.
      if (target.status() == MemberStatus.ALIVE) {
        update(new MemberUpdate(target.id(), target.address(), target.incarnation(), MemberStatus.SUSPECT), now);
      }
      probing = null;
    }
  }

  private NodeId nextProbeTarget() {
    for (int attempts = 0; attempts < 2; attempts++) {
      while (probeIndex < probeOrder.size()) {
        NodeId candidate = probeOrder.get(probeIndex++);
        Member m = members.get(candidate);
        if (m != null && m.status().reachable() && !candidate.equals(selfId)) {
          return candidate;
        }
      }
      // A round over every member is done: reshuffle (SWIM 4.3, round-robin probe selection).
      probeOrder.clear();
      reachablePeers().forEach(m -> probeOrder.add(m.id()));
      Collections.shuffle(probeOrder, random);
      probeIndex = 0;
    }
    return null;
  }

  private void expireSuspects(long now) {
    long timeout = config.suspicionTimeoutMs(knownCount());
    for (Member m : new ArrayList<>(members.values())) {
      if (m.status() == MemberStatus.SUSPECT && now - m.statusSinceMillis() >= timeout) {
        update(new MemberUpdate(m.id(), m.address(), m.incarnation(), MemberStatus.DEAD), now);
      }
    }
  }

  // ---------------------------------------------------------------- messages

  /** Handles one message from a peer. */
  public void receive(PeerMessage message) {
    if (left) {
      return;
    }
    long now = clock.millis();
    Member sender = members.get(message.from());
    if (sender != null) {
      members.put(sender.id(), sender.heardAt(now));
    }
    if (message instanceof Join join) {
      onJoin(join, now);
    } else if (message instanceof JoinReply reply) {
      reply.members().forEach(u -> update(u, now));
    } else if (message instanceof Ping ping) {
      onPing(ping, now);
    } else if (message instanceof Ack ack) {
      onAck(ack, now);
    } else if (message instanceof PingReq req) {
      onPingReq(req);
    } else if (message instanceof Gossip gossip) {
      gossip.gossip().forEach(u -> update(u, now));
    }
    // Rumors are the rumor monger's.
  }

  private void onJoin(Join join, long now) {
    update(new MemberUpdate(join.from(), join.address(), join.incarnation(), MemberStatus.ALIVE), now);
    transport.send(join.address(), new JoinReply(selfId, fullView()));
  }

  private void onPing(Ping ping, long now) {
    ping.gossip().forEach(u -> update(u, now));
    Member from = members.get(ping.from());
    if (from != null) {
      List<MemberUpdate> gossip = piggyback();
      if (from.status() == MemberStatus.SUSPECT || from.status() == MemberStatus.DEAD) {
        // Tell the prober what we think of it. The suspicion or death notice may have finished
        // its broadcast while the prober was cut off; without this it would never refute, and
        // we would never probe it again (found by the cluster simulator).
        gossip.add(new MemberUpdate(from.id(), from.address(), from.incarnation(), from.status()));
      }
      transport.send(from.address(), new Ack(selfId, ping.seq(), gossip));
    }
  }

  private void onAck(Ack ack, long now) {
    ack.gossip().forEach(u -> update(u, now));
    Relay relay = relays.remove(ack.seq());
    if (relay != null) {
      transport.send(relay.requesterAddress(), new Ack(selfId, relay.requesterSeq(), List.of()));
      return;
    }
    if (probing != null && ack.seq() == probeSeq) {
      probing = null; // the probed member, or a helper on its behalf, answered in time
    }
  }

  private void onPingReq(PingReq req) {
    Member requester = members.get(req.from());
    if (requester == null) {
      return;
    }
    long relaySeq = ++seq;
    relays.put(relaySeq, new Relay(requester.address(), req.seq(), clock.millis() + config.probeIntervalMs()));
    transport.send(req.targetAddress(), new Ping(selfId, relaySeq, piggyback()));
  }

  /** Applies one membership update with SWIM's precedence rules; gossips it on if it changed anything. */
  void update(MemberUpdate u, long now) {
    if (u.id().equals(selfId)) {
      refuteIfNeeded(u);
      return;
    }
    Member current = members.get(u.id());
    if (current == null) {
      Member fresh = new Member(u.id(), u.address(), u.incarnation(), u.status(), now, now);
      members.put(u.id(), fresh);
      broadcasts.add(u.id(), u);
      listener.changed(fresh, null);
      return;
    }
    if (!overrides(u, current)) {
      return;
    }
    Member next = new Member(u.id(), u.address(), u.incarnation(), u.status(),
        u.status() == current.status() ? current.statusSinceMillis() : now, current.lastHeardMillis());
    members.put(u.id(), next);
    broadcasts.add(u.id(), u);
    if (u.status() != current.status()) {
      listener.changed(next, current.status());
    }
  }

  private static boolean overrides(MemberUpdate u, Member current) {
    if (current.status() == MemberStatus.LEFT && u.incarnation() <= current.incarnation()) {
      return false; // a leave is final for its incarnation
    }
    return switch (u.status()) {
      case ALIVE -> u.incarnation() > current.incarnation();
      case SUSPECT -> current.status() == MemberStatus.ALIVE
          ? u.incarnation() >= current.incarnation()
          : current.status() == MemberStatus.SUSPECT && u.incarnation() > current.incarnation();
      case DEAD -> u.incarnation() >= current.incarnation()
          && (current.status() == MemberStatus.ALIVE || current.status() == MemberStatus.SUSPECT
              || u.incarnation() > current.incarnation());
      case LEFT -> u.incarnation() >= current.incarnation() && current.status() != MemberStatus.LEFT;
    };
  }

  /** Someone says we are suspect, dead or left: outbid them with a higher incarnation. */
  private void refuteIfNeeded(MemberUpdate about) {
    if (about.status() == MemberStatus.ALIVE || about.incarnation() < incarnation) {
      return;
    }
    incarnation = about.incarnation() + 1;
    long now = clock.millis();
    members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.ALIVE, now, now));
    broadcasts.add(selfId, selfUpdate());
  }

  private MemberUpdate selfUpdate() {
    return new MemberUpdate(selfId, selfAddress, incarnation, MemberStatus.ALIVE);
  }

  /**
   * Updates to piggyback: this node's own, always (so that any contact introduces us, even to a
   * member that never heard of us), then the least-sent queued ones.
   */
  private List<MemberUpdate> piggyback() {
    List<MemberUpdate> out = new ArrayList<>(config.gossipPerMessageMax() + 1);
    out.add(selfUpdate());
    for (MemberUpdate u : broadcasts.take(config.gossipPerMessageMax(), Long.MAX_VALUE, x -> 1, 1)) {
      if (!u.id().equals(selfId)) {
        out.add(u);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- leaving

  /**
   * Announces a graceful leave to every reachable member directly (not only by piggybacking:
   * the node is about to stop answering), then stops taking part.
   */
  public void leave() {
    if (left) {
      return;
    }
    MemberUpdate leaving = new MemberUpdate(selfId, selfAddress, incarnation, MemberStatus.LEFT);
    for (Member peer : reachablePeers()) {
      transport.send(peer.address(), new Gossip(selfId, List.of(leaving)));
    }
    left = true;
  }
}
