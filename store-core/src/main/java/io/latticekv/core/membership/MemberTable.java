package io.latticekv.core.membership;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.TransmitLimitedQueue;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import io.latticekv.core.util.RateLimitedLog;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one node believes about the members: the table of members with SWIM's precedence rules
 * for updates about them, the {@link KnownMember known} ones (the replicas), this node's own
 * incarnation and the refutations that raise it, and the queue of updates still to gossip.
 * {@link Membership} drives it with probes and messages; the rules that keep one forged message
 * from bending it live here (see {@link Membership}'s class comment). Not thread-safe.
 */
final class MemberTable {

  private static final Logger log = LoggerFactory.getLogger(Membership.class);

  private final NodeId selfId;
  private final String selfAddress;
  private long incarnation;
  private final MembershipConfig config;
  private final Clock clock;
  private final Membership.Listener listener;
  private final RateLimitedLog hostile;
  private final Map<NodeId, Member> members = new HashMap<>();
  private final Map<NodeId, KnownMember> known = new TreeMap<>();
  private final TransmitLimitedQueue<NodeId, MemberUpdate> broadcasts;
  /** Members to ping soon for confirmation, oldest first; bounded by the member table. */
  private final ArrayDeque<NodeId> toConfirm = new ArrayDeque<>();
  /** Someone removed this node from the cluster: it refutes nothing and takes no part. */
  private boolean selfRemoved;
  /** Who takes over this node's replica ids, when it decommissioned itself. */
  private NodeId selfAdopter;

  MemberTable(NodeId selfId, String selfAddress, long incarnation, Collection<KnownMember> known,
      MembershipConfig config, Clock clock, Membership.Listener listener) {
    this.selfId = selfId;
    this.selfAddress = selfAddress;
    this.incarnation = incarnation;
    this.config = config;
    this.clock = clock;
    this.listener = listener;
    this.hostile = new RateLimitedLog(log, clock, 10_000);
    // Queued updates beyond the members there can be are stale: one per member suffices, since a
    // newer update about a member replaces the older one.
    this.broadcasts = new TransmitLimitedQueue<>(config.retransmitMult(), this::knownCount, config.membersMax(),
        (a, b) -> b);
    long now = clock.millis();
    members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.ALIVE, now, now));
    for (KnownMember k : known) {
      if (!k.id().equals(selfId) && this.known.size() < config.membersMax()) {
        this.known.put(k.id(), k); // not in the table until heard from; pinged like the dead meanwhile
      }
    }
    broadcasts.add(selfId, selfUpdate());
  }

  long incarnation() {
    return incarnation;
  }

  boolean selfRemoved() {
    return selfRemoved;
  }

  /**
   * Takes in members removed before this node last stopped (persisted by the driver), so none of
   * them comes back: they count for nothing and are gossiped as removed.
   */
  void restoreRemoved(Collection<MemberUpdate> removed, long now) {
    for (MemberUpdate u : removed) {
      if (!u.id().equals(selfId)) {
        members.put(u.id(), new Member(u.id(), u.address(), u.incarnation(), MemberStatus.REMOVED, now, now));
        known.remove(u.id());
      }
    }
  }

  /** This node gossips its own removal (a decommission) and stops refuting. */
  void removeSelf(NodeId adopter, long now) {
    selfRemoved = true;
    selfAdopter = adopter;
    members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.REMOVED, now, now));
    broadcasts.add(selfId, new MemberUpdate(selfId, selfAddress, incarnation, MemberStatus.REMOVED, adopter));
  }

  List<Member> members() {
    List<Member> all = new ArrayList<>(members.values());
    all.sort((a, b) -> a.id().compareTo(b.id()));
    return all;
  }

  Member member(NodeId id) {
    return members.get(id);
  }

  /** Whether {@code id} is in the member table, in any state. */
  boolean isMember(NodeId id) {
    return members.containsKey(id);
  }

  /** Other members that are alive or suspect: who gets probes. */
  List<Member> reachablePeers() {
    List<Member> peers = new ArrayList<>();
    for (Member m : members.values()) {
      if (!m.id().equals(selfId) && m.status().reachable()) {
        peers.add(m);
      }
    }
    peers.sort((a, b) -> a.id().compareTo(b.id()));
    return peers;
  }

  /**
   * Reachable members that are {@link KnownMember known}: who gets rumors, exchanges and replica
   * requests. Members only gossiped about are probed first; a real one becomes known within a probe
   * round, an invented one never draws the data.
   */
  List<Member> knownReachablePeers() {
    List<Member> peers = reachablePeers();
    peers.removeIf(m -> !known.containsKey(m.id()));
    return peers;
  }

  /** The members other than this node that are {@link KnownMember known}: the other replicas. */
  List<KnownMember> known() {
    return new ArrayList<>(known.values());
  }

  boolean isKnown(NodeId id) {
    return known.containsKey(id);
  }

  /** The replicas of every key as this node counts them for {@code quorum} and {@code all}: itself and the known members. */
  int replicaCount() {
    return 1 + known.size();
  }

  /** Members not known to be dead or gone, this node included: the n of the log n bounds. */
  int knownCount() {
    int n = 0;
    for (Member m : members.values()) {
      if (m.status().reachable()) {
        n++;
      }
    }
    return Math.max(1, n);
  }

  /** Members held dead, and known members not heard from since this node started (as dead), by id. */
  List<Member> deadMembers(long now) {
    List<Member> dead = new ArrayList<>();
    for (Member m : members.values()) {
      if (m.status() == MemberStatus.DEAD) {
        dead.add(m);
      }
    }
    for (KnownMember k : known.values()) {
      if (!members.containsKey(k.id())) {
        dead.add(new Member(k.id(), k.address(), k.incarnation(), MemberStatus.DEAD, now, now));
      }
    }
    dead.sort((a, b) -> a.id().compareTo(b.id()));
    return dead;
  }

  /** Every member as an update: a full view for a sync. */
  List<MemberUpdate> fullView() {
    List<MemberUpdate> view = new ArrayList<>();
    for (Member m : members()) {
      view.add(new MemberUpdate(m.id(), m.address(), m.incarnation(), m.status()));
    }
    return view;
  }

  /** The next member heard of but not yet known, to ping for confirmation; null when none waits. */
  Member nextToConfirm() {
    while (!toConfirm.isEmpty()) {
      Member m = members.get(toConfirm.poll());
      if (m != null && m.status().reachable() && !known.containsKey(m.id())) {
        return m;
      }
    }
    return null;
  }

  void heard(NodeId id, long now) {
    Member m = members.get(id);
    if (m != null && !id.equals(selfId)) {
      members.put(id, m.heardAt(now));
    }
  }

  boolean pending() {
    return broadcasts.pending();
  }

  /** Applies one membership update with SWIM's precedence rules; gossips it on if it changed anything. */
  void update(MemberUpdate u, long now) {
    if (u.incarnation() < 0 || u.incarnation() > Membership.INCARNATION_MAX) {
      hostile.warn("incarnation-range", "ignored an update about {} with incarnation {} (the limit is 2^62)",
          u.id(), Long.toUnsignedString(u.incarnation()));
      return;
    }
    if (u.id().equals(selfId)) {
      if (u.status() == MemberStatus.REMOVED) {
        if (!selfRemoved) {
          log.error("this node was removed from the cluster (lattice remove-member): it takes no part any more; "
              + "to bring the machine back, wipe its data directory and start it as a new member");
          selfRemoved = true;
          Member self = members.get(selfId);
          members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.REMOVED, now, now));
          listener.changed(members.get(selfId), self.status());
        }
      } else if (!selfRemoved) {
        refuteIfNeeded(u);
      }
      return;
    }
    Member current = members.get(u.id());
    if (current == null) {
      admit(u, now);
      return;
    }
    if (u.incarnation() - current.incarnation() > Membership.INCARNATION_JUMP_MAX) {
      hostile.warn("incarnation-jump", "ignored an update raising member {}'s incarnation from {} to {}: "
          + "more than 2^16 at once is a forgery", u.id(), current.incarnation(), u.incarnation());
      return;
    }
    if (!u.address().equals(current.address()) && current.status().reachable() && u.status() != MemberStatus.REMOVED) {
      hostile.warn("conflicting-address", "ignored an update placing live member {} at {}: it is at {}",
          u.id(), u.address(), current.address());
      return;
    }
    if (!overrides(u, current)) {
      return;
    }
    Member next = new Member(u.id(), u.address(), u.incarnation(), u.status(),
        u.status() == current.status() ? current.statusSinceMillis() : now, current.lastHeardMillis());
    members.put(u.id(), next);
    broadcasts.add(u.id(), u);
    if ((u.status() == MemberStatus.LEFT || u.status() == MemberStatus.REMOVED) && known.remove(u.id()) != null) {
      listener.knownChanged(known());
    }
    if (u.status() != current.status()) {
      listener.changed(next, current.status());
    }
    if (u.status() == MemberStatus.REMOVED) {
      listener.removed(u);
    }
  }

  /**
   * A member heard of for the first time, if the table has room for it. One that is dead or gone
   * is not taken in: it matters only to those who knew it, and taking it in would let full views
   * bring back members this node has forgotten.
   */
  private void admit(MemberUpdate u, long now) {
    if (!u.status().reachable() && u.status() != MemberStatus.REMOVED) {
      return; // a removal is taken in all the same: it must never come back
    }
    if (members.size() >= config.membersMax()) {
      hostile.warn("members-max", "ignored new member {} at {}: {} members are known, the limit (--members-max)",
          u.id(), u.address(), members.size());
      return;
    }
    KnownMember k = known.get(u.id());
    if (k != null && u.incarnation() - k.incarnation() > Membership.INCARNATION_JUMP_MAX) {
      hostile.warn("incarnation-jump", "ignored an update raising known member {}'s incarnation from {} to {}: "
          + "more than 2^16 at once is a forgery", u.id(), k.incarnation(), u.incarnation());
      return;
    }
    Member fresh = new Member(u.id(), u.address(), u.incarnation(), u.status(), now, now);
    members.put(u.id(), fresh);
    if (u.status() == MemberStatus.REMOVED) {
      if (known.remove(u.id()) != null) {
        listener.knownChanged(known());
      }
    } else if (!known.containsKey(u.id())) {
      toConfirm.add(u.id());
    }
    broadcasts.add(u.id(), u);
    listener.changed(fresh, null);
    if (u.status() == MemberStatus.REMOVED) {
      listener.removed(u);
    }
  }

  private static boolean overrides(MemberUpdate u, Member current) {
    if (current.status() == MemberStatus.REMOVED) {
      return false; // final
    }
    if (current.status() == MemberStatus.LEFT && u.incarnation() <= current.incarnation() && u.status() != MemberStatus.REMOVED) {
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
      case REMOVED -> true;
    };
  }

  /**
   * Someone says we are suspect, dead or left, or places us at another address: outbid them with
   * a higher incarnation. A claim more than {@link #Membership.INCARNATION_JUMP_MAX} above ours is a forgery
   * that no member holding our real incarnation accepts, so it needs no answer.
   */
  private void refuteIfNeeded(MemberUpdate about) {
    boolean elsewhere = !about.address().equals(selfAddress);
    if ((about.status() == MemberStatus.ALIVE && !elsewhere) || about.incarnation() < incarnation) {
      return;
    }
    if (about.incarnation() - incarnation > Membership.INCARNATION_JUMP_MAX) {
      hostile.warn("self-jump", "ignored a claim that this node is {} at {} with incarnation {} (ours is {})",
          about.status().name().toLowerCase(), about.address(), about.incarnation(), incarnation);
      return;
    }
    if (elsewhere) {
      hostile.warn("self-address", "a peer places this node at {} with incarnation {}: refuting from {}",
          about.address(), about.incarnation(), selfAddress);
    }
    incarnation = Math.min(about.incarnation() + 1, Membership.INCARNATION_MAX);
    long now = clock.millis();
    members.put(selfId, new Member(selfId, selfAddress, incarnation, MemberStatus.ALIVE, now, now));
    broadcasts.add(selfId, selfUpdate());
  }

  MemberUpdate selfUpdate() {
    return selfRemoved
        ? new MemberUpdate(selfId, selfAddress, incarnation, MemberStatus.REMOVED, selfAdopter)
        : new MemberUpdate(selfId, selfAddress, incarnation, MemberStatus.ALIVE);
  }

  /**
   * Updates to piggyback: this node's own, always (so that any contact introduces us, even to a
   * member that never heard of us), then the least-sent queued ones.
   */
  List<MemberUpdate> piggyback() {
    List<MemberUpdate> out = new ArrayList<>(config.gossipPerMessageMax() + 2);
    out.add(selfUpdate());
    for (MemberUpdate u : broadcasts.take(config.gossipPerMessageMax(), Long.MAX_VALUE, x -> 1, 1)) {
      if (!u.id().equals(selfId)) {
        out.add(u);
      }
    }
    return out;
  }

  /** {@code id} answered a ping of ours, sent to the address we hold for it: it is a replica. */
  void confirm(NodeId id) {
    Member m = members.get(id);
    if (m == null || !m.status().reachable()) {
      return;
    }
    KnownMember k = known.get(id);
    // Persisted again when the incarnation moved by a quarter of the jump limit, so that the one a
    // restarted node checks against never lags the member's by more than the limit allows.
    if (k == null || !k.address().equals(m.address()) || m.incarnation() - k.incarnation() >= Membership.INCARNATION_JUMP_MAX / 4) {
      known.put(id, new KnownMember(id, m.address(), m.incarnation()));
      listener.knownChanged(known());
    }
  }

  /** Forgets members dead for {@code afterMs} that were never known; returns their ids. */
  List<NodeId> forgetUnknownDead(long now, long afterMs) {
    List<NodeId> forgotten = new ArrayList<>();
    for (Iterator<Member> it = members.values().iterator(); it.hasNext(); ) {
      Member m = it.next();
      if (m.status() == MemberStatus.DEAD && !known.containsKey(m.id()) && now - m.statusSinceMillis() >= afterMs) {
        it.remove();
        toConfirm.remove(m.id());
        forgotten.add(m.id());
        log.info("forgot member {} at {}: dead for {} s and never heard from directly", m.id(), m.address(),
            afterMs / 1000);
      }
    }
    return forgotten;
  }
}
