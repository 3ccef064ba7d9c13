package io.latticekv.core.lifecycle;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropy;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.KnownMember;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.storage.Store;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import io.latticekv.core.transport.PeerMessage.Rumor;
import io.latticekv.core.transport.PeerMessage.RumorBatch;
import io.latticekv.core.transport.PeerMessage.Stamped;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster epoch and what hangs on it (docs/lifecycle.md): when tombstones and retired replica
 * ids may leave the states, which messages are too old to merge, and the sweep that applies both
 * to keys nobody writes.
 *
 * <p>The epoch is a counter every node persists. A node moves from {@code e} to {@code e+1} only
 * when, for every participant (every member that was ever a replica and was not removed), it heard
 * that participant at {@code e} or later and then completed an anti-entropy exchange with it — it
 * holds every state the participant held at {@code e}. So no two nodes' epochs differ by more than
 * one; a node at {@code e+2} knows every participant holds what anyone held at {@code e}; and what
 * was written at epoch {@code t} is everywhere once any node is at {@code t+2}. Tombstones and
 * retired entries made at {@code t} leave the states at {@code t+3} ({@link
 * io.latticekv.core.crdt.Life#COLLECT_AFTER_EPOCHS}), identically everywhere since the rule reads
 * only the state and the epoch. Data sent by a node two or more epochs behind (or a rumor made
 * then) is refused: it may be what those tombstones deleted. No wall clock decides anything; the
 * interval only paces the advances.
 *
 * <p>A node that hears participants two epochs ahead of its own persisted one was restored from a
 * backup (an away node, partitioned or down, holds the epoch back instead): everything it holds,
 * the others hold (they exchanged with it after it was at that epoch), and some of it they deleted.
 * It discards its keys and catches up by anti-entropy.
 *
 * <p>Not thread-safe: the protocol thread calls every method; disk work goes through the {@link
 * StorageRunner}.
 */
public final class Lifecycle {

  private static final Logger log = LoggerFactory.getLogger(Lifecycle.class);

  /** Spreads a delta the sweep made (a pruning moves value between ids, which the others must learn). */
  @FunctionalInterface
  public interface Spreader {
    void spread(ByteString key, Crdt<?> delta, long epoch);
  }

  /**
   * An epoch claimed this far above ours is a forgery or a bug, not a restore: it is not acted on
   * (the stamp still counts for the fence). Honest epochs move by one per interval.
   */
  static final long EPOCH_JUMP_MAX = 1L << 20;

  /** What {@code lattice status} shows. */
  public record Status(long epoch, int participants, List<NodeId> waitingFor, List<MemberUpdate> removed,
      long fencedMessages, long fencedRumors, long epochsAdvanced, long sweepPasses, long lastPassKeys,
      long lastPassDeadLives, long lastPassRetiredMarks, int retiredToPrune, long keysDiscarded, boolean discarding,
      String decommission) {}

  private final NodeId self;
  private final LifecycleConfig config;
  private final Clock clock;
  private final Replica replica;
  private final StorageRunner storage;
  private final Membership membership;
  private final Spreader spreader;
  private AntiEntropy antiEntropy;

  private long epoch;
  private boolean epochWriting;
  /**
   * This directory never had a participant beside itself (a new node, or one that ran alone): its
   * epoch binds nobody, so it takes the first one a member stamps, up or down.
   */
  private boolean loner;
  private long nextAdvanceAt;
  private final long startedAt;
  /** The highest epoch heard from each member in its current life. */
  private final Map<NodeId, Long> heard = new HashMap<>();
  /** The replica id of each member's current life, as its stamps say. */
  private final Map<NodeId, NodeId> lifeOf = new HashMap<>();
  /** The epoch heard from the peer when this node's current exchange with it started. */
  private final Map<NodeId, Long> exchangeFrom = new HashMap<>();
  /** Per participant, the highest epoch {@code e} such that a complete exchange started after it was heard at e. */
  private final Map<NodeId, Long> synced = new HashMap<>();

  private final SortedSet<NodeId> participants;
  private final Map<NodeId, MemberUpdate> removed = new TreeMap<>();
  private final Map<NodeId, List<NodeId>> replicaIds;
  private boolean recordDirty;
  private boolean recordSaving;

  private boolean discarding;
  private long keysDiscarded;
  /** Restored from a too old backup, with too many writes since the boot to keep: out of service. */
  private boolean staleStuck;

  // the sweep
  private boolean sweepNeeded = true;
  /** Something the sweep must revisit once the epoch moves: tombstones, marks, ids not yet pruned. */
  private boolean workPending = true;
  private boolean sweeping;
  private long nextStepAt;
  private byte[] cursor;
  private boolean passActive;
  private List<NodeId> passRetire = List.of();
  private final Set<NodeId> passSeen = new HashSet<>();
  private long passKeys;
  private long passDead;
  private long passMarks;
  private long passStartedEpoch;

  // decommissioning
  private BiConsumer<NodeId, Throwable> decommissioned;
  private long decommissionSince;
  private String decommissionState = "";

  private long fencedMessages;
  private long fencedRumors;
  private long epochsAdvanced;
  private long sweepPasses;
  private long lastPassKeys;
  private long lastPassDead;
  private long lastPassMarks;
  private int retiredCount;

  public Lifecycle(NodeId self, LifecycleConfig config, Clock clock, Replica replica, StorageRunner storage,
      Membership membership, Spreader spreader) {
    this.self = self;
    this.config = config;
    this.clock = clock;
    this.replica = replica;
    this.storage = storage;
    this.membership = membership;
    this.spreader = spreader;
    this.epoch = replica.epoch();
    LifecycleRecord record = replica.lifecycleRecord();
    this.participants = new TreeSet<>(record.participants());
    this.replicaIds = new TreeMap<>();
    record.replicaIds().forEach((member, ids) -> replicaIds.put(member, new ArrayList<>(ids)));
    for (MemberUpdate u : record.removed()) {
      removed.put(u.id(), u);
      participants.remove(u.id());
    }
    if (membership != null) {
      membership.restoreRemoved(new ArrayList<>(removed.values()));
    }
    this.loner = participants.isEmpty() && removed.isEmpty();
    if (!loner) {
      // Kept until this node first moves its epoch on, after which no participant can be two
      // epochs ahead of it and a discard cannot come; kept through a discard, which another may follow.
      replica.keepOwnWrites();
    }
    this.startedAt = clock.millis();
    this.nextAdvanceAt = startedAt + config.epochIntervalMs();
  }

  /** The anti-entropy protocol whose complete exchanges the barrier counts; null when it is off. */
  public void attach(AntiEntropy antiEntropy) {
    this.antiEntropy = antiEntropy;
    if (antiEntropy != null) {
      antiEntropy.setListener(new AntiEntropy.Listener() {
        @Override
        public void started(NodeId peer) {
          exchangeFrom.put(peer, heard.getOrDefault(peer, -1L));
        }

        @Override
        public void finished(NodeId peer, boolean complete, boolean matched) {
          Long from = exchangeFrom.remove(peer);
          if (complete && from != null && from >= 0) {
            synced.merge(peer, from, Math::max);
          }
          if (matched && decommissioned != null && from != null) {
            finishDecommission(peer);
          }
        }
      });
    }
  }

  /** The epoch this node writes and stamps at (0 before it takes one). */
  public long epoch() {
    return Math.max(0, epoch);
  }

  /** Whether this node is dropping its keys (restored from a backup older than the cluster's horizon). */
  public boolean discarding() {
    return discarding;
  }

  // ---------------------------------------------------------------- messages

  /** {@code message} as it leaves this node: with its epoch and replica id. */
  public PeerMessage stamp(PeerMessage message) {
    NodeId writer = replica.replicaId();
    return message instanceof Stamped || writer == null ? message : new Stamped(message, epoch(), writer, loner);
  }

  /**
   * {@code message} as it arrives: unwrapped, noted (where its sender is), and fenced; null when it
   * is not to be handled (from a removed member, or data from a node two epochs behind).
   */
  public PeerMessage admit(PeerMessage message) {
    PeerMessage inner = PeerMessage.unstamped(message);
    Member sender = membership.member(inner.from());
    if (sender != null && sender.status() == MemberStatus.REMOVED) {
      fencedMessages++;
      return null;
    }
    if (!(message instanceof Stamped stamped)) {
      return inner; // tests that drive one protocol
    }
    long theirs = stamped.epoch();
    note(inner.from(), theirs, stamped.replica(), stamped.alone());
    if (stamped.alone()) {
      return inner; // its data is new to the cluster: nothing it holds can be what a tombstone deleted
    }
    long floor = epoch() - 2;
    if (theirs <= floor && carriesData(inner.kind())) {
      fencedMessages++;
      return null;
    }
    if (inner instanceof RumorBatch batch) {
      List<Rumor> kept = null;
      for (int i = 0; i < batch.rumors().size(); i++) {
        Rumor r = batch.rumors().get(i);
        if (r.epoch() <= floor) {
          if (kept == null) {
            kept = new ArrayList<>(batch.rumors().subList(0, i));
          }
          fencedRumors++;
        } else if (kept != null) {
          kept.add(r);
        }
      }
      if (kept != null) {
        return new RumorBatch(batch.from(), batch.batchId(), kept, batch.digest(), batch.alsoSentTo());
      }
    }
    return inner;
  }

  /** Messages whose states would be merged: what the fence refuses from a node two epochs behind. */
  private static boolean carriesData(PeerMessage.Kind kind) {
    return switch (kind) {
      case RUMOR_BATCH, REPLICA_WRITE, REPLICA_READ_REPLY, AE_STATES -> true;
      default -> false;
    };
  }

  private void note(NodeId from, long theirs, NodeId replicaId, boolean alone) {
    if (membership.member(from) == null && !participants.contains(from)) {
      return; // not a member yet (a join): what it says counts once it is one; keeps the map bounded
    }
    if (alone) {
      // Two nodes that never took part in an epoch meet (a new cluster forms): the one with the
      // smaller id takes the other's epoch and is bound by it from then on; the other takes it
      // back from the first once it is (as from any bound member).
      if (loner && !epochWriting && !discarding && self.compareTo(from) < 0 && theirs < EPOCH_JUMP_MAX) {
        settle(from, theirs);
      }
      return;
    }
    NodeId life = lifeOf.put(from, replicaId);
    if (life != null && !life.equals(replicaId)) {
      // The member restarted (a new replica id each life), maybe from a backup: what it held and
      // where it was are news; the exchanges done with its earlier life vouch for nothing now.
      synced.remove(from);
      exchangeFrom.remove(from);
      heard.put(from, theirs);
    } else {
      heard.merge(from, theirs, Math::max);
    }
    if (!participants.contains(from) && !removed.containsKey(from)) {
      // A member bound by the epoch that talks to this node counts on it for its own barrier:
      // it is a participant here too, whether or not this node has confirmed it yet.
      participants.add(from);
      recordDirty = true;
    }
    if (replicaId != null && participants.contains(from)) {
      List<NodeId> ids = replicaIds.computeIfAbsent(from, x -> new ArrayList<>());
      if (!ids.contains(replicaId)) {
        if (ids.size() >= LifecycleRecord.REPLICA_IDS_PER_MEMBER_MAX) {
          ids.remove(0);
        }
        ids.add(replicaId);
        recordDirty = true;
      }
    }
    if (epochWriting || discarding) {
      return;
    }
    if (loner) {
      if (theirs < EPOCH_JUMP_MAX) {
        settle(from, theirs);
      }
    } else if (theirs >= epoch + 2 && theirs - epoch < EPOCH_JUMP_MAX && participants.contains(from)
        && mostParticipantsAhead()) {
      discardAndCatchUp(from, theirs);
    }
  }

  /** A node that never took part in an epoch takes {@code theirs} (up or down); bound by epochs once it is durable. */
  private void settle(NodeId from, long theirs) {
    if (theirs != epoch) {
      log.info("taking the cluster's epoch {} (heard from {}; this directory was at {} and never took part in "
          + "a cluster's epoch)", theirs, from, epoch);
    }
    writeEpoch(theirs, true);
  }

  /**
   * Whether most participants were heard two epochs or more ahead: one member cannot make this node
   * discard its keys (a bug, or a member that ran its own epoch apart), the cluster can.
   */
  private boolean mostParticipantsAhead() {
    int ahead = 0;
    for (NodeId p : participants) {
      if (heard.getOrDefault(p, -1L) >= epoch + 2) {
        ahead++;
      }
    }
    return 2 * ahead > participants.size();
  }

  /** This node was restored from a backup the cluster has moved two epochs past: see the class comment. */
  private void discardAndCatchUp(NodeId from, long theirs) {
    discarding = true;
    if (replica.ownWritesOverflowed()) {
      if (!staleStuck) {
        staleStuck = true;
        log.error("member {} is at epoch {}, this node at {}: its data directory was restored from a backup older "
            + "than the cluster's horizon, and it took more writes since it started than it can keep while it "
            + "discards its keys. It serves no data: stop it, wipe its data directory and start it again "
            + "(docs/lifecycle.md)", from, theirs, epoch);
      }
      return;
    }
    // One below the furthest epoch most participants have reached (not the furthest any has: one
    // buggy member must not make this node skip epochs and collect tombstones the others need).
    // A member further on fences this node until its barrier moves it up; the majority does not.
    List<Long> reached = new ArrayList<>();
    for (NodeId p : participants) {
      long e = heard.getOrDefault(p, -1L);
      if (e - epoch < EPOCH_JUMP_MAX) {
        reached.add(e);
      }
    }
    reached.sort(java.util.Comparator.reverseOrder());
    long majority = reached.isEmpty() ? theirs : reached.get(reached.size() / 2);
    long target = majority - 1; // at least epoch + 1: most participants were heard at epoch + 2 or more
    log.error("member {} is at epoch {}, this node at {}: its data directory was restored from a backup older than "
        + "the cluster's horizon. Everything it holds, the others hold, and some of it was deleted since: discarding "
        + "its keys and catching up from the others (docs/lifecycle.md)", from, theirs, epoch);
    storage.run(() -> {
      Replica.Discarded d = replica.discardAll(); // keeps what this life wrote, key by key
      replica.setEpoch(target);
      return d;
    }, (d, failure) -> {
      discarding = false;
      if (failure != null) {
        log.error("could not discard the keys of the restored backup: {}", failure.getMessage());
        return;
      }
      keysDiscarded += d.dropped();
      epoch = target;
      synced.clear();
      sweepNeeded = true;
      // Their rumors left stamped with the old epoch, which the others fenced: spread them again.
      for (Map.Entry<ByteString, Lives> w : d.kept()) {
        spreader.spread(w.getKey(), w.getValue(), target);
      }
      log.warn("discarded {} keys and kept the writes of this life to {} keys; at epoch {} now, catching up by "
          + "anti-entropy", d.dropped(), d.kept().size(), target);
    });
  }

  // ---------------------------------------------------------------- timers

  public void tick() {
    long now = clock.millis();
    if (replica.takeLifecycleWork()) {
      workPending = true;
    }
    trackParticipants();
    saveRecordIfDirty();
    if (!epochWriting && !discarding && now >= nextAdvanceAt) {
      maybeAdvance(now);
    }
    if (!sweeping && !discarding && now >= nextStepAt && (passActive || sweepNeeded)) {
      sweepStep();
    }
  }

  /** Every member that becomes a replica is a participant from then on, until it is removed. */
  private void trackParticipants() {
    if (membership == null) {
      return;
    }
    for (KnownMember k : membership.known()) {
      if (!participants.contains(k.id()) && !removed.containsKey(k.id())) {
        participants.add(k.id());
        recordDirty = true;
      }
    }
  }

  private void saveRecordIfDirty() {
    if (!recordDirty || recordSaving) {
      return;
    }
    recordDirty = false;
    recordSaving = true;
    Map<NodeId, List<NodeId>> ids = new TreeMap<>();
    replicaIds.forEach((k, v) -> ids.put(k, List.copyOf(v)));
    LifecycleRecord record = new LifecycleRecord(new TreeSet<>(participants), List.copyOf(removed.values()), ids);
    storage.run(() -> {
      replica.saveLifecycleRecord(record);
      return null;
    }, (ok, failure) -> {
      recordSaving = false;
      if (failure != null) {
        recordDirty = true;
        log.error("could not save the lifecycle record: {}", failure.getMessage());
      }
    });
  }

  /** Participants this node has not yet completed an exchange with at its epoch. */
  private List<NodeId> waitingFor() {
    List<NodeId> waiting = new ArrayList<>();
    for (NodeId p : participants) {
      if (!p.equals(self) && synced.getOrDefault(p, -1L) < epoch) {
        waiting.add(p);
      }
    }
    return waiting;
  }

  private void maybeAdvance(long now) {
    if (loner && membership != null) {
      // In a cluster, a node that has met nobody yet keeps its tombstones: a delete it took may be
      // of data it never held (a context read elsewhere), which only the others can drop.
      return;
    }
    if (epoch < 0) {
      if (participants.isEmpty() && now - startedAt >= config.epochIntervalMs()) {
        writeEpoch(0, false); // a new cluster (or a node alone): nobody else to hear an epoch from
      }
      return;
    }
    if (participants.isEmpty() && !loner && removed.isEmpty()) {
      return; // met a member that does not know it yet: wait for it to be a participant
    }
    List<NodeId> waiting = waitingFor();
    if (waiting.isEmpty()) {
      writeEpoch(epoch + 1, false);
      return;
    }
    nextAdvanceAt = now + config.epochIntervalMs();
    if (antiEntropy != null) {
      for (NodeId p : waiting) {
        Member m = membership.member(p);
        if (m != null && m.status() == MemberStatus.ALIVE && heard.getOrDefault(p, -1L) >= epoch) {
          antiEntropy.prioritize(p); // the barrier waits on it: exchange with it next
        }
      }
    }
  }

  /** Persists epoch {@code next}, then takes it; {@code reset}: a loner's, which may go down. */
  private void writeEpoch(long next, boolean reset) {
    epochWriting = true;
    storage.run(() -> {
      if (reset) {
        replica.resetEpoch(next);
      } else {
        replica.setEpoch(next);
      }
      return null;
    }, (ok, failure) -> {
      epochWriting = false;
      nextAdvanceAt = clock.millis() + config.epochIntervalMs();
      if (failure != null) {
        log.error("could not persist epoch {}: {}", next, failure.getMessage());
        return;
      }
      if (reset) {
        loner = false; // stamps say so from now on: the epoch is durable
      }
      if (next > epoch && epoch >= 0 && !reset && !loner) {
        // This node moved on: every participant has heard this life of it (the barrier's
        // exchanges), so none can leave it two epochs behind any more, and a discard cannot come.
        replica.forgetOwnWrites(); // after the first advance, a no-op
      }
      if (next > epoch || reset) {
        epoch = next;
        epochsAdvanced++;
        sweepNeeded |= workPending;
        log.debug("at cluster epoch {}", next);
      }
    });
  }

  // ---------------------------------------------------------------- the sweep

  private void sweepStep() {
    sweeping = true;
    boolean starting = !passActive;
    long at = epoch();
    List<NodeId> fixed = passRetire;
    byte[] from = cursor;
    storage.run(() -> {
      List<NodeId> retire = starting ? replica.retiredToPrune(at) : fixed;
      boolean later = starting && !replica.retiredToPrune(Long.MAX_VALUE).isEmpty();
      return new Step(retire, later, replica.sweep(from, config.sweepStepKeys(), retire));
    }, (step, failure) -> {
      sweeping = false;
      nextStepAt = clock.millis() + config.sweepStepIntervalMs();
      if (failure != null) {
        log.error("lifecycle sweep failed: {}", failure.getMessage());
        passActive = false;
        cursor = null;
        nextStepAt = clock.millis() + config.epochIntervalMs();
        return;
      }
      if (starting) {
        passActive = true;
        sweepNeeded = false;
        workPending = step.retireLater();
        passRetire = step.retire();
        retiredCount = passRetire.size();
        passSeen.clear();
        passKeys = 0;
        passDead = 0;
        passMarks = 0;
        passStartedEpoch = at;
      }
      io.latticekv.core.storage.SweepStep s = step.step();
      passKeys += s.keysVisited();
      passDead += s.deadLives();
      passMarks += s.retiredMarks();
      passSeen.addAll(s.retiredSeen());
      for (Map.Entry<ByteString, Lives> delta : s.deltas()) {
        spreader.spread(delta.getKey(), delta.getValue(), epoch());
      }
      cursor = s.next();
      if (cursor == null) {
        endPass();
      }
    });
  }

  private record Step(List<NodeId> retire, boolean retireLater, io.latticekv.core.storage.SweepStep step) {}

  private void endPass() {
    passActive = false;
    sweepPasses++;
    lastPassKeys = passKeys;
    lastPassDead = passDead;
    lastPassMarks = passMarks;
    List<NodeId> done = new ArrayList<>();
    for (NodeId id : passRetire) {
      if (!passSeen.contains(id)) {
        done.add(id);
      }
    }
    if (!done.isEmpty()) {
      storage.run(() -> {
        done.forEach(replica::markPruned);
        return null;
      }, (ok, failure) -> {
        if (failure == null) {
          log.info("pruned replica ids {} from every key", done);
        }
      });
    }
    // Another pass once the epoch moves, while anything is left to drop; none while the store is clean.
    workPending |= passDead > 0 || passMarks > 0 || !passSeen.isEmpty();
    sweepNeeded |= workPending && epoch() > passStartedEpoch;
    nextStepAt = clock.millis() + config.epochIntervalMs();
  }

  // ---------------------------------------------------------------- members

  /** A member was removed (here or elsewhere): it leaves the epoch; its adopter prunes its replica ids. */
  public void removed(MemberUpdate removal) {
    if (removed.containsKey(removal.id())) {
      return;
    }
    removed.put(removal.id(), removal);
    participants.remove(removal.id());
    synced.remove(removal.id());
    recordDirty = true;
    List<NodeId> ids = replicaIds.remove(removal.id());
    log.info("member {} was removed from the cluster{}", removal.id(),
        self.equals(removal.adopter()) ? "; this node prunes its replica ids " + (ids == null ? "[]" : ids) : "");
    if (self.equals(removal.adopter()) && ids != null && !ids.isEmpty()) {
      long at = epoch();
      List<NodeId> adopted = List.copyOf(ids);
      storage.run(() -> {
        adopted.forEach(id -> replica.adopt(id, at));
        return null;
      }, (ok, failure) -> {
        if (failure != null) {
          log.error("could not adopt the replica ids of removed member {}: {}", removal.id(), failure.getMessage());
        }
        sweepNeeded = true;
      });
    }
  }

  /**
   * Decommissions this node: once an exchange this node starts from now on finds the peer's tree
   * equal to its own (the peer holds everything this one does), it announces its removal, with
   * that peer as the one that prunes its replica ids, and calls {@code done} with the peer. The
   * caller stops taking writes first.
   */
  public void decommission(BiConsumer<NodeId, Throwable> done) {
    if (antiEntropy == null || membership == null) {
      done.accept(null, new IllegalStateException("anti-entropy is off: nothing can show a peer holds this node's data"));
      return;
    }
    if (membership.knownAlivePeers().isEmpty()) {
      done.accept(null, new IllegalStateException("no other member is alive to hand this node's data to"));
      return;
    }
    decommissioned = done;
    decommissionSince = clock.millis();
    decommissionState = "waiting for an exchange that finds a peer holding everything this node holds";
    exchangeFrom.clear(); // exchanges already under way began before the writes stopped
    for (Member m : membership.knownAlivePeers()) {
      antiEntropy.prioritize(m.id());
    }
  }

  private void finishDecommission(NodeId peer) {
    BiConsumer<NodeId, Throwable> done = decommissioned;
    decommissioned = null;
    decommissionState = "handed over to " + peer + " after " + (clock.millis() - decommissionSince) + " ms";
    membership.removeSelf(peer);
    done.accept(peer, null);
  }

  public Status status() {
    return new Status(epoch, participants.size() + 1, waitingFor(), List.copyOf(removed.values()), fencedMessages,
        fencedRumors, epochsAdvanced, sweepPasses, lastPassKeys, lastPassDead, lastPassMarks, retiredCount,
        keysDiscarded, discarding, decommissionState);
  }
}
