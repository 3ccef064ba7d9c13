package io.latticekv.core.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.antientropy.AntiEntropy;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.RumorMonger;
import io.latticekv.core.lifecycle.Lifecycle;
import io.latticekv.core.membership.KnownMember;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.replication.Level;
import io.latticekv.core.replication.ReplicaCoordinator;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.KeyState;
import io.latticekv.core.transport.PeerMessage.Rumor;
import io.latticekv.core.transport.Transport;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * One node's part in the cluster: its membership (SWIM), rumor mongering, anti-entropy and the
 * coordination of consistency levels, wired together once, for the server and the simulators
 * alike. It owns the dispatch of every peer message to the protocol it belongs to and the order in
 * which the timers run, and it stays I/O-free: time, randomness, the network and the replica come
 * in from the driver, and every use of the replica goes through the driver's {@link
 * StorageRunner}, so the thread that calls this object — the one that answers pings — never waits
 * for a disk.
 *
 * <p>Not thread-safe: one driver thread calls every method (the server's protocol thread, the
 * simulator's loop). The driver calls {@link #tick()} often (every few milliseconds; each protocol
 * keeps its own intervals) and {@link #receive} for each message.
 */
public final class ClusterNode {

  /** Bugs the simulator's self-test plants, to see them caught; {@link #NONE} in every real node. */
  public record PlantedBugs(boolean quorumReadSkipsAReplica) {
    public static final PlantedBugs NONE = new PlantedBugs(false);
  }

  /** What {@code lattice status} and the metrics show, taken on the protocol thread. */
  public record Status(long takenAtMillis, List<Member> members, int replicaCount, int rumorQueue, long rumorsSent,
      long rumorsReceived, long rumorsNew, long rumorsDropped, long rumorMergesFailed,
      List<AntiEntropy.Outcome> exchanges, long exchangesRun, long keysRepaired, long antiEntropyRequestsRefused,
      long merkleRoot, int replicaRequestsPending, long replicaRequestsTimedOut, long replicaErrorReplies,
      Lifecycle.Status lifecycle, boolean selfRemoved, AntiEntropy.Progress catchUp, long aeStateBytesSent,
      long setPartsSent) {}

  private static final Consumer<PeerMessage> IGNORE = m -> {};

  private final Clock clock;
  private final Replica replica;
  private final Membership membership;
  private final RumorMonger rumors;
  private final AntiEntropy antiEntropy;
  private final ReplicaCoordinator replication;
  private final Lifecycle lifecycle;

  public ClusterNode(NodeId self, String address, long incarnation, List<String> seeds, Collection<KnownMember> known,
      ClusterConfig config, Clock clock, Random random, Transport transport, Replica replica, StorageRunner storage,
      Membership.Listener listener) {
    this(self, address, incarnation, seeds, known, config, clock, random, transport, replica, storage, listener,
        PlantedBugs.NONE);
  }

  public ClusterNode(NodeId self, String address, long incarnation, List<String> seeds, Collection<KnownMember> known,
      ClusterConfig config, Clock clock, Random random, Transport transport, Replica replica, StorageRunner storage,
      Membership.Listener listener, PlantedBugs bugs) {
    this.clock = clock;
    this.replica = replica;
    AntiEntropy[] ae = new AntiEntropy[1]; // set below; membership changes reach it once it exists
    Lifecycle[] lc = new Lifecycle[1];
    Transport unstamped = transport;
    // Every message leaves with this node's epoch and replica id (docs/lifecycle.md).
    transport = (to, message) -> unstamped.send(to, lc[0] == null ? message : lc[0].stamp(message));
    this.membership = new Membership(self, address, incarnation, seeds, known, config.membership(), clock,
        new Random(random.nextLong()), transport, new Membership.Listener() {
          @Override
          public void changed(Member member, MemberStatus previous) {
            // A member that appears or comes back is exchanged with first: after a partition the
            // replicas then agree within an exchange, not within the random choice of peers.
            if (ae[0] != null && member.status() == MemberStatus.ALIVE && previous != MemberStatus.ALIVE) {
              ae[0].prioritize(member.id());
            }
            listener.changed(member, previous);
          }

          @Override
          public void knownChanged(List<KnownMember> now) {
            listener.knownChanged(now);
          }

          @Override
          public void removed(PeerMessage.MemberUpdate removal) {
            if (lc[0] != null) {
              lc[0].removed(removal);
            }
            listener.removed(removal);
          }
        });
    this.rumors = config.rumors() == null ? null
        : new RumorMonger(self, config.rumors(), clock, new Random(random.nextLong()), transport,
            membership::knownReachablePeers, () -> membership.knownReachablePeers().size() + 1, membership::member,
            batch -> replica.mergeAll(keyStates(batch)), storage);
    this.antiEntropy = config.antiEntropy() == null ? null
        : new AntiEntropy(self, config.antiEntropy(), clock, new Random(random.nextLong()), transport,
            membership::knownAlivePeers, membership::member, replica, storage);
    ae[0] = antiEntropy;
    RumorMonger spreading = rumors;
    this.lifecycle = new Lifecycle(self, config.lifecycle(), clock, replica, storage, membership,
        (key, delta, epoch) -> {
          if (spreading != null) {
            spreading.hot(key, delta, epoch);
          }
        });
    lifecycle.attach(antiEntropy);
    lc[0] = lifecycle;
    this.replication = bugs.quorumReadSkipsAReplica()
        ? ReplicaCoordinator.withPlantedReadBug(self, config.replication(), clock, transport, membership, replica,
            storage)
        : new ReplicaCoordinator(self, config.replication(), clock, transport, membership, replica, storage);
  }

  // ---------------------------------------------------------------- driving

  /** Advances every protocol's timers to the clock's now, in a fixed order. */
  public void tick() {
    if (membership.selfRemoved()) {
      return; // removed from the cluster: takes no part (the driver stops it)
    }
    lifecycle.tick();
    membership.tick();
    if (rumors != null) {
      rumors.tick();
    }
    if (antiEntropy != null) {
      antiEntropy.tick();
    }
    replication.tick();
  }

  /** Runs {@code wake} on the protocol thread whenever a rumor becomes hot ({@link RumorMonger#onUnsent}). */
  public void onRumorsUnsent(Runnable wake) {
    if (rumors != null) {
      rumors.onUnsent(wake);
    }
  }

  /** Pushes the rumors no peer was sent yet (the driver runs it once per pass after {@link #onRumorsUnsent}). */
  public void pushUnsentRumors() {
    if (rumors != null && !membership.selfRemoved()) {
      rumors.pushUnsent();
    }
  }

  /** Hands one peer message to the protocol it belongs to. */
  public void receive(PeerMessage stamped) {
    if (membership.selfRemoved()) {
      return;
    }
    PeerMessage message = lifecycle.admit(stamped);
    if (message == null) {
      return; // from a removed member, or data from a node two epochs behind
    }
    membership.heard(message.from());
    Consumer<PeerMessage> handler = switch (message.kind()) {
      case JOIN, JOIN_REPLY, PING, ACK, PING_REQ, GOSSIP -> membership::receive;
      case RUMOR_BATCH, RUMOR_PULL, RUMOR_ACK -> rumors == null ? IGNORE : rumors::receive;
      case REPLICA_WRITE, REPLICA_WRITE_ACK, REPLICA_READ, REPLICA_READ_REPLY -> replication::receive;
      case AE_HASHES, AE_HASHES_REPLY, AE_SEGMENTS, AE_SEGMENTS_REPLY, AE_FETCH, AE_STATES, AE_STREAM ->
          antiEntropy == null ? IGNORE : antiEntropy::receive;
    };
    handler.accept(message);
  }

  // ---------------------------------------------------------------- client work

  /** A delta this node applied for a client: it becomes a hot rumor. */
  public void replicated(ByteString key, Crdt<?> delta) {
    if (rumors != null) {
      rumors.hot(key, delta, lifecycle.epoch());
    }
  }

  /** Completes {@code done} once replicas enough for {@code level} hold {@code delta} (this one already does). */
  public void write(ByteString key, Crdt<?> delta, Level level, BiConsumer<Void, Throwable> done) {
    replication.write(key, delta, level, done);
  }

  /** Completes {@code done} with the join of replicas enough for {@code level}, {@code local} included. */
  public void read(ByteString key, Optional<Crdt<?>> local, Level level, BiConsumer<Optional<Crdt<?>>, Throwable> done) {
    replication.read(key, local, level, done);
  }

  /**
   * Removes dead or departed member {@code id} for good, this node pruning its replica ids.
   *
   * @throws IllegalArgumentException when {@code id} is no member known here, or this node
   * @throws IllegalStateException when the member is alive, suspect or already removed
   */
  public void removeMember(NodeId id) {
    membership.remove(id);
  }

  /**
   * Hands this node's data to a peer and announces its removal; {@code done} gets the peer (see
   * {@link Lifecycle#decommission}). The driver stops taking writes first and stops the node after.
   */
  public void decommission(BiConsumer<NodeId, Throwable> done) {
    lifecycle.decommission(done);
  }

  /** The epoch this node writes at (see {@link Lifecycle}). */
  public long epoch() {
    return lifecycle.epoch();
  }

  /** Whether this node is discarding a restored backup's keys: it should not answer clients meanwhile. */
  public boolean discarding() {
    return lifecycle.discarding();
  }

  public boolean selfRemoved() {
    return membership.selfRemoved();
  }

  /** Tells the members this node is leaving; it stops taking part in membership. */
  public void leave() {
    membership.leave();
  }

  // ---------------------------------------------------------------- queries

  public Membership membership() {
    return membership;
  }

  /** The anti-entropy protocol, or null when it is off. */
  public AntiEntropy antiEntropy() {
    return antiEntropy;
  }

  public Status status() {
    return new Status(clock.millis(), membership.members(), membership.replicaCount(),
        rumors == null ? 0 : rumors.queueLength(), rumors == null ? 0 : rumors.rumorsSent(),
        rumors == null ? 0 : rumors.rumorsReceived(), rumors == null ? 0 : rumors.rumorsNew(),
        rumors == null ? 0 : rumors.dropped(), rumors == null ? 0 : rumors.mergesFailed(),
        antiEntropy == null ? List.of() : antiEntropy.lastExchanges(),
        antiEntropy == null ? 0 : antiEntropy.exchangesRun(), antiEntropy == null ? 0 : antiEntropy.keysRepaired(),
        antiEntropy == null ? 0 : antiEntropy.requestsRefused(), replica.tree().root(), replication.pending(),
        replication.timedOut(), replication.errorReplies(), lifecycle.status(), membership.selfRemoved(),
        antiEntropy == null ? null : antiEntropy.progress(), antiEntropy == null ? 0 : antiEntropy.stateBytesSent(),
        antiEntropy == null ? 0 : antiEntropy.setPartsSent());
  }

  /** Rumors as key states, for a replica's batch merge. */
  static List<KeyState> keyStates(List<Rumor> rumors) {
    List<KeyState> states = new ArrayList<>(rumors.size());
    for (Rumor r : rumors) {
      states.add(new KeyState(r.key(), r.delta()));
    }
    return states;
  }
}
