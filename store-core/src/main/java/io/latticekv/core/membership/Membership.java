package io.latticekv.core.membership;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.NodeId;
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
import java.util.Collection;
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
 * <p>What one message cannot do, since gossip is believed without proof:
 *
 * <ul>
 *   <li>Move a live member: an update naming another address for a member that is alive or
 *       suspect is ignored (memberlist's "conflicting address" rule); only a dead or departed
 *       member may come back elsewhere. A node that hears its own id at another address refutes.
 *   <li>Exhaust incarnations: an incarnation above {@link #INCARNATION_MAX}, or more than {@link
 *       #INCARNATION_JUMP_MAX} above the one known, is ignored. Honest incarnations grow by one per
 *       restart or refutation, so a node can always outbid a claim about itself: raising one past
 *       the cap takes more than 2^46 forged messages.
 *   <li>Inflate the cluster: at most {@code membersMax} members are kept, and only {@link
 *       KnownMember known} ones — members that answered a ping of ours from their own address —
 *       count as replicas for {@code quorum} and {@code all}. Members only gossiped about that die
 *       are forgotten.
 * </ul>
 *
 * <p>Healing: dead members are pinged too, one every {@link #DEAD_PROBE_EVERY} probe intervals,
 * with the verdict, so that one cut off refutes as soon as the network heals; and a message from a
 * member we hold dead is answered with our whole view. Not thread-safe: one driver thread calls it.
 */
public final class Membership {


  /** Told of every status change, for logs, metrics and the other protocols. */
  public interface Listener {
    void changed(Member member, MemberStatus previous);

    /** The set of {@link KnownMember known members} changed: the driver persists it. */
    default void knownChanged(List<KnownMember> known) {}

    /** A member was removed for good (first heard here); {@code removal.adopter()} prunes its replica ids. */
    default void removed(MemberUpdate removal) {}
  }

  /** Incarnations stay far from overflow: refuting adds one, and 2^62 + 1 is still positive. */
  public static final long INCARNATION_MAX = 1L << 62;

  /**
   * The largest rise of a member's incarnation one update may bring. A real member raises it by
   * one per restart or refutation, so a jump this large is a forgery; capping it means a forger
   * needs 2^62 / 2^16 = 2^46 messages to push a member to {@link #INCARNATION_MAX}.
   */
  public static final long INCARNATION_JUMP_MAX = 1L << 16;

  /**
   * A full view exchange with one random member every this many probe intervals (memberlist's
   * push-pull sync). Piggybacked updates are sent a bounded number of times; a node cut off
   * while one was spreading (a death notice, a restart's new incarnation) would otherwise never
   * hear it, and two views could stay split forever (found by the cluster simulator). Dead
   * members are candidates too, so a node wrongly declared dead learns it and refutes.
   */
  static final int SYNC_EVERY_PROBES = 10;

  /**
   * A dead member is pinged every this many probe intervals (one dead member at a time, in turn),
   * so that after a partition heals each side finds the other within an interval instead of
   * waiting for the next full sync (2.9-6.4 s before), at one extra ping per interval while some
   * member is dead.
   */
  static final int DEAD_PROBE_EVERY = 1;

  /**
   * Pending updates are also pushed every {@link #GOSSIP_INTERVAL_PERCENT} % of a probe interval
   * (200 ms at the default 500) to {@link #GOSSIP_FANOUT} random members and one dead one, as
   * memberlist gossips apart from probing: piggybacking on probes alone spreads a refutation or a
   * return at one hop per probe interval. Only while updates are pending; an idle cluster sends
   * nothing extra.
   */
  static final int GOSSIP_INTERVAL_PERCENT = 40;

  static final int GOSSIP_FANOUT = 3;

  /**
   * Members heard of but not yet {@link KnownMember known} are pinged soon after they appear, up to
   * this many per probe interval, so a new member becomes a replica within about an interval
   * instead of waiting for its turn in the probe order (a round of n intervals). The cap bounds
   * the pings a flood of invented members draws.
   */
  static final int CONFIRMS_PER_INTERVAL = 4;

  /**
   * A member that is dead and was never {@link KnownMember known} is forgotten after this many
   * probe intervals (a minute at the default interval): long enough for the verdict to spread,
   * short enough that invented members do not hold the table's slots.
   */
  static final int FORGET_UNKNOWN_DEAD_AFTER_PROBES = 120;

  private final NodeId selfId;
  private final String selfAddress;
  private final List<String> seeds;
  private final MembershipConfig config;
  private final Clock clock;
  private final Random random;
  private final Transport transport;
  private final MemberTable table;
  private final List<NodeId> probeOrder = new ArrayList<>();
  private int probeIndex;
  private long nextProbeAt;
  private long nextJoinAt;
  private long nextSyncAt;
  private long nextGossipAt;
  private long probeRounds;
  private int deadProbeIndex;
  private boolean left;

  /** The probe in progress, if any. */
  private NodeId probing;
  private long probeSeq;
  private long probeStartedAt;
  private boolean indirectSent;

  /** Pings of ours awaiting an ack: seq -> the member pinged, for {@link KnownMember confirmation}. */
  private final Map<Long, Pinged> pings = new HashMap<>();

  private record Pinged(NodeId target, long expiresAt) {}

  /** Pings we sent on behalf of a PingReq: our seq -> (requester address, requester's seq). */
  private final Map<Long, Relay> relays = new HashMap<>();

  private record Relay(String requesterAddress, long requesterSeq, long expiresAt) {}

  /** When our whole view last went to a member we hold dead, so that its chatter is answered once per interval. */
  private final Map<NodeId, Long> viewSentTo = new HashMap<>();

  public Membership(NodeId selfId, String selfAddress, long incarnation, List<String> seeds,
      MembershipConfig config, Clock clock, Random random, Transport transport, Listener listener) {
    this(selfId, selfAddress, incarnation, seeds, List.of(), config, clock, random, transport, listener);
  }

  /**
   * @param known the members this node knew when it last ran (persisted by the driver): they
   *     count as replicas at once, are pinged as dead members are, and join the table with their
   *     first word
   */
  public Membership(NodeId selfId, String selfAddress, long incarnation, List<String> seeds,
      Collection<KnownMember> known, MembershipConfig config, Clock clock, Random random, Transport transport,
      Listener listener) {
    if (incarnation < 1 || incarnation > INCARNATION_MAX) {
      throw new IllegalArgumentException("incarnation out of range: " + incarnation);
    }
    this.selfId = selfId;
    this.selfAddress = selfAddress;
    this.seeds = seeds.stream().filter(s -> !s.equals(selfAddress)).toList();
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.table = new MemberTable(selfId, selfAddress, incarnation, known, config, clock, listener);
    long now = clock.millis();
    this.nextProbeAt = now + config.probeIntervalMs();
    this.nextJoinAt = now;
    this.nextSyncAt = now + config.probeIntervalMs() * SYNC_EVERY_PROBES;
  }

  // ---------------------------------------------------------------- queries

  public NodeId selfId() {
    return selfId;
  }

  public long incarnation() {
    return table.incarnation();
  }

  /** Every member known, this node included, sorted by id. */
  public List<Member> members() {
    return table.members();
  }

  public Member member(NodeId id) {
    return table.member(id);
  }

  /** Whether {@code id} is in the member table, in any state. */
  public boolean isMember(NodeId id) {
    return table.isMember(id);
  }

  /** Other members that are alive or suspect: who gets probes. */
  public List<Member> reachablePeers() {
    return table.reachablePeers();
  }

  /**
   * Reachable members that are {@link KnownMember known}: who gets rumors, exchanges and replica
   * requests. Members only gossiped about are pinged first; a real one becomes known within about
   * a probe interval, an invented one never draws the data.
   */
  public List<Member> knownReachablePeers() {
    return table.knownReachablePeers();
  }

  /**
   * Known members that are alive: whom anti-entropy exchanges with. A suspect is likely cut off, and
   * an exchange with it would wait out its timeout, holding up the one with a member that comes back.
   */
  public List<Member> knownAlivePeers() {
    List<Member> peers = table.knownReachablePeers();
    peers.removeIf(m -> m.status() != MemberStatus.ALIVE);
    return peers;
  }

  /** The members other than this node that are {@link KnownMember known}: the other replicas. */
  public List<KnownMember> known() {
    return table.known();
  }

  public boolean isKnown(NodeId id) {
    return table.isKnown(id);
  }

  /** The replicas of every key as this node counts them for {@code quorum} and {@code all}: itself and the known members. */
  public int replicaCount() {
    return table.replicaCount();
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
        transport.send(seed, new Join(selfId, selfAddress, table.incarnation()));
      }
      nextJoinAt = now + config.probeIntervalMs();
    }
    if (probing != null) {
      continueProbe(now);
    }
    if (probing == null && now >= nextProbeAt) {
      startProbe(now);
      nextProbeAt = now + config.probeIntervalMs();
      if (++probeRounds % DEAD_PROBE_EVERY == 0) {
        probeADeadMember(now);
      }
      confirmNewMembers(now);
    }
    if (now >= nextGossipAt) {
      nextGossipAt = now + config.probeIntervalMs() * GOSSIP_INTERVAL_PERCENT / 100;
      gossipRound();
    }
    expireSuspects(now);
    forgetUnknownDead(now);
    relays.values().removeIf(r -> r.expiresAt() <= now);
    pings.values().removeIf(p -> p.expiresAt() <= now);
    if (now >= nextSyncAt) {
      nextSyncAt = now + config.probeIntervalMs() * SYNC_EVERY_PROBES;
      syncWithRandomMember();
    }
  }

  /** Push our whole view to a random member, and pull its view back (its answer to a Join). */
  private void syncWithRandomMember() {
    List<Member> candidates = new ArrayList<>();
    for (Member m : table.members()) {
      if (!m.id().equals(selfId) && m.status() != MemberStatus.LEFT && m.status() != MemberStatus.REMOVED) {
        candidates.add(m);
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    Member target = candidates.get(random.nextInt(candidates.size()));
    transport.send(target.address(), new Gossip(selfId, table.fullView()));
    transport.send(target.address(), new Join(selfId, selfAddress, table.incarnation()));
  }

  /** Pushes pending updates to a few random members and one dead one, if any are pending. */
  private void gossipRound() {
    if (!table.pending()) {
      return;
    }
    List<Member> targets = new ArrayList<>(reachablePeers());
    Collections.shuffle(targets, random);
    targets = new ArrayList<>(targets.subList(0, Math.min(GOSSIP_FANOUT, targets.size())));
    List<Member> dead = table.deadMembers(clock.millis());
    dead.removeIf(m -> !table.isMember(m.id()));
    if (!dead.isEmpty()) {
      targets.add(dead.get(random.nextInt(dead.size())));
    }
    for (Member target : targets) {
      List<MemberUpdate> gossip = table.piggyback();
      if (target.status() == MemberStatus.DEAD) {
        gossip.add(new MemberUpdate(target.id(), target.address(), target.incarnation(), MemberStatus.DEAD));
      }
      transport.send(target.address(), new Gossip(selfId, gossip));
    }
  }

  private void startProbe(long now) {
    NodeId target = nextProbeTarget();
    if (target == null) {
      return;
    }
    probing = target;
    probeSeq = ping(table.member(target), table.piggyback(), now);
    probeStartedAt = now;
    indirectSent = false;
  }

  /**
   * Pings {@code target} directly; an ack from it confirms it as a known member. The sequence is
   * random, not a counter: an ack can then only come from whoever received the ping.
   */
  private long ping(Member target, List<MemberUpdate> gossip, long now) {
    long s = nextSeq();
    pings.put(s, new Pinged(target.id(), now + config.probeIntervalMs()));
    transport.send(target.address(), new Ping(selfId, s, gossip));
    return s;
  }

  /**
   * Pings one dead member, in turn, telling it the verdict so that it refutes if it can hear us;
   * known members not heard from since this node started are pinged the same way.
   */
  private void probeADeadMember(long now) {
    List<Member> dead = table.deadMembers(now);
    if (dead.isEmpty()) {
      return;
    }
    Member target = dead.get(Math.floorMod(deadProbeIndex++, dead.size()));
    List<MemberUpdate> gossip = table.piggyback();
    if (table.isMember(target.id())) {
      gossip.add(new MemberUpdate(target.id(), target.address(), target.incarnation(), MemberStatus.DEAD));
    }
    ping(target, gossip, now);
  }

  /** Pings a few members heard of since the last interval and not yet known, for confirmation. */
  private void confirmNewMembers(long now) {
    Member m;
    for (int sent = 0; sent < CONFIRMS_PER_INTERVAL && (m = table.nextToConfirm()) != null; sent++) {
      ping(m, table.piggyback(), now);
    }
  }

  private void continueProbe(long now) {
    Member target = table.member(probing);
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
        table.update(new MemberUpdate(target.id(), target.address(), target.incarnation(), MemberStatus.SUSPECT), now);
      }
      probing = null;
    }
  }

  private NodeId nextProbeTarget() {
    for (int attempts = 0; attempts < 2; attempts++) {
      while (probeIndex < probeOrder.size()) {
        NodeId candidate = probeOrder.get(probeIndex++);
        Member m = table.member(candidate);
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
    long timeout = config.suspicionTimeoutMs(table.knownCount());
    for (Member m : table.members()) {
      if (m.status() == MemberStatus.SUSPECT && now - m.statusSinceMillis() >= timeout) {
        table.update(new MemberUpdate(m.id(), m.address(), m.incarnation(), MemberStatus.DEAD), now);
      }
    }
  }

  private void forgetUnknownDead(long now) {
    for (NodeId forgotten : table.forgetUnknownDead(now, config.probeIntervalMs() * FORGET_UNKNOWN_DEAD_AFTER_PROBES)) {
      viewSentTo.remove(forgotten);
    }
  }

  // ---------------------------------------------------------------- messages

  /**
   * Notes that {@code from} sent us something, whatever the protocol: when it was last heard, and,
   * if we hold it dead, our view goes to it. The driver calls it for every message.
   */
  public void heard(NodeId from) {
    if (left) {
      return;
    }
    long now = clock.millis();
    Member sender = table.member(from);
    if (sender != null && !sender.id().equals(selfId)) {
      table.heard(from, now);
      if (sender.status() == MemberStatus.DEAD) {
        sendViewToDead(sender, now);
      }
    }
  }

  /** Handles one membership message from a peer (after {@link #heard}); other messages are ignored. */
  public void receive(PeerMessage message) {
    if (left) {
      return;
    }
    long now = clock.millis();
    switch (message.kind()) {
      case JOIN -> onJoin((Join) message, now);
      case JOIN_REPLY -> ((JoinReply) message).members().forEach(u -> table.update(u, now));
      case PING -> onPing((Ping) message, now);
      case ACK -> onAck((Ack) message, now);
      case PING_REQ -> onPingReq((PingReq) message, now);
      case GOSSIP -> ((Gossip) message).gossip().forEach(u -> table.update(u, now));
      default -> {
        // another protocol's
      }
    }
  }

  /**
   * A member we hold dead is talking to us: it does not know, or it came back. Our whole view tells
   * it (it refutes if it is alive) and tells it everything else it missed; once per probe interval.
   */
  private void sendViewToDead(Member member, long now) {
    Long last = viewSentTo.get(member.id());
    if (last != null && now - last < config.probeIntervalMs()) {
      return;
    }
    viewSentTo.put(member.id(), now);
    transport.send(member.address(), new Gossip(selfId, table.fullView()));
  }

  private void onJoin(Join join, long now) {
    table.update(new MemberUpdate(join.from(), join.address(), join.incarnation(), MemberStatus.ALIVE), now);
    Member joined = table.member(join.from());
    // Only a member we hold at the address it gives gets our view: a Join naming someone else's
    // id, or an address we refused, is not answered (it would send our view to anyone named).
    if (joined != null && joined.address().equals(join.address())) {
      transport.send(join.address(), new JoinReply(selfId, table.fullView()));
    }
  }

  private void onPing(Ping ping, long now) {
    ping.gossip().forEach(u -> table.update(u, now));
    Member from = table.member(ping.from());
    if (from != null) {
      List<MemberUpdate> gossip = table.piggyback();
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
    ack.gossip().forEach(u -> table.update(u, now));
    Relay relay = relays.remove(ack.seq());
    if (relay != null) {
      transport.send(relay.requesterAddress(), new Ack(selfId, relay.requesterSeq(), List.of()));
      return;
    }
    Pinged pinged = pings.get(ack.seq());
    if (pinged != null && pinged.target().equals(ack.from())) {
      pings.remove(ack.seq());
      table.confirm(ack.from());
    }
    if (probing != null && ack.seq() == probeSeq) {
      probing = null; // the probed member, or a helper on its behalf, answered in time
    }
  }

  private void onPingReq(PingReq req, long now) {
    Member requester = table.member(req.from());
    Member target = table.member(req.target());
    if (requester == null || target == null || target.id().equals(selfId)) {
      return;
    }
    // Pinged at the address we hold, not the one the request names: a request cannot make this
    // node send to an address of its choosing.
    long relaySeq = nextSeq();
    relays.put(relaySeq, new Relay(requester.address(), req.seq(), now + config.probeIntervalMs()));
    transport.send(target.address(), new Ping(selfId, relaySeq, table.piggyback()));
  }

  private long nextSeq() {
    long s;
    do {
      s = random.nextLong() & Long.MAX_VALUE;
    } while (s == 0 || pings.containsKey(s) || relays.containsKey(s));
    return s;
  }

  // ---------------------------------------------------------------- removing

  /** Whether this node was removed from the cluster: it takes no part any more. */
  public boolean selfRemoved() {
    return table.selfRemoved();
  }

  /** Takes in the members removed before this node last stopped (see {@link MemberTable#restoreRemoved}). */
  public void restoreRemoved(List<MemberUpdate> removed) {
    table.restoreRemoved(removed, clock.millis());
  }

  /**
   * Removes member {@code id} for good, with this node as the one that prunes its replica ids;
   * gossiped like any update. Only a member that is dead, gone or known but not heard from since
   * this node started can be removed: a live one is decommissioned instead.
   *
   * @throws IllegalArgumentException when {@code id} is this node or no member this node knows
   * @throws IllegalStateException when the member is alive or suspect
   */
  public MemberUpdate remove(NodeId id) {
    if (id.equals(selfId)) {
      throw new IllegalArgumentException("a node does not remove itself: use lattice decommission");
    }
    Member m = table.member(id);
    KnownMember k = table.known().stream().filter(x -> x.id().equals(id)).findFirst().orElse(null);
    if (m == null && k == null) {
      throw new IllegalArgumentException("no member " + id + " is known here");
    }
    if (m != null && m.status() == MemberStatus.REMOVED) {
      throw new IllegalStateException("member " + id + " is already removed");
    }
    if (m != null && m.status().reachable()) {
      throw new IllegalStateException("member " + id + " is " + m.status().name().toLowerCase()
          + ": only a dead or departed member can be removed (decommission a live one)");
    }
    MemberUpdate removal = m != null
        ? new MemberUpdate(id, m.address(), m.incarnation(), MemberStatus.REMOVED, selfId)
        : new MemberUpdate(id, k.address(), k.incarnation(), MemberStatus.REMOVED, selfId);
    table.update(removal, clock.millis());
    for (Member peer : reachablePeers()) {
      transport.send(peer.address(), new Gossip(selfId, List.of(removal)));
    }
    return removal;
  }

  /**
   * Announces this node's own removal (the last step of a decommission) to every reachable member
   * directly, with {@code adopter} as the member that prunes its replica ids; then stops taking part.
   */
  public void removeSelf(NodeId adopter) {
    table.removeSelf(adopter, clock.millis());
    MemberUpdate removal = table.selfUpdate();
    for (Member peer : reachablePeers()) {
      transport.send(peer.address(), new Gossip(selfId, List.of(removal)));
    }
    left = true;
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
    MemberUpdate leaving = new MemberUpdate(selfId, selfAddress, table.incarnation(), MemberStatus.LEFT);
    for (Member peer : reachablePeers()) {
      transport.send(peer.address(), new Gossip(selfId, List.of(leaving)));
    }
    left = true;
  }
}
