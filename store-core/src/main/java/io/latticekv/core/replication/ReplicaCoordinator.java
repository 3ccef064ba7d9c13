package io.latticekv.core.replication;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.KeyState;
import io.latticekv.core.transport.PeerMessage.ReplicaRead;
import io.latticekv.core.transport.PeerMessage.ReplicaReadReply;
import io.latticekv.core.transport.PeerMessage.ReplicaWrite;
import io.latticekv.core.transport.PeerMessage.ReplicaWriteAck;
import io.latticekv.core.transport.Transport;
import io.latticekv.core.util.RateLimitedLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes and reads at {@code quorum} and {@code all}, as an I/O-free state machine (full
 * replication: every node is a replica of every key). The cluster's size n is {@link
 * Membership#replicaCount()}: this node and the members it knows to be replicas, dead ones
 * included — a dead member is still a replica that a write at {@code all} must reach — but not
 * members merely gossiped about. A quorum is {@code n/2 + 1}.
 *
 * <p>A write sends the delta to the reachable replicas and succeeds once enough acknowledge it
 * durably. A read asks them for their states, merges the answers into the local replica (so the
 * state policy applies to them, as to every state from outside, and the local replica is repaired
 * first), answers with the local state after that, and sends it to every replica that answered
 * with less (read repair).
 *
 * <p>Every request ends: with success, with {@link LevelNotMetException} once the error replies
 * leave too few replicas to meet the level (their errors are in the message, and logged), or
 * with it at the timeout. Replica work on behalf of other coordinators, and the merge of a read,
 * runs through the {@link StorageRunner}. Not thread-safe: one driver thread calls it.
 */
public final class ReplicaCoordinator {

  private static final Logger log = LoggerFactory.getLogger(ReplicaCoordinator.class);

  private final NodeId self;
  private final ReplicationConfig config;
  private final Clock clock;
  private final Transport transport;
  private final Membership membership;
  private final Replica replica;
  private final StorageRunner storage;
  private final RateLimitedLog errors;
  private final Map<Long, Pending> pending = new LinkedHashMap<>(); // oldest first: timeouts expire in order
  private long nextId;
  private long timedOut;
  private long errorReplies;

  /** A bug planted for the simulator's self-test: a quorum read that asks one replica fewer. */
  private final boolean plantedReadSkipsAReplica;

  public ReplicaCoordinator(NodeId self, ReplicationConfig config, Clock clock, Transport transport,
      Membership membership, Replica replica, StorageRunner storage) {
    this(self, config, clock, transport, membership, replica, storage, false);
  }

  ReplicaCoordinator(NodeId self, ReplicationConfig config, Clock clock, Transport transport,
      Membership membership, Replica replica, StorageRunner storage, boolean plantedReadSkipsAReplica) {
    this.self = self;
    this.config = config;
    this.clock = clock;
    this.transport = transport;
    this.membership = membership;
    this.replica = replica;
    this.storage = storage;
    this.errors = new RateLimitedLog(log, clock, 10_000);
    this.plantedReadSkipsAReplica = plantedReadSkipsAReplica;
  }

  /** A test seam: the same coordinator with the planted bug. */
  public static ReplicaCoordinator withPlantedReadBug(NodeId self, ReplicationConfig config, Clock clock,
      Transport transport, Membership membership, Replica replica, StorageRunner storage) {
    return new ReplicaCoordinator(self, config, clock, transport, membership, replica, storage, true);
  }

  /** A request waiting for replicas. */
  private abstract class Pending {
    final long id;
    final ByteString key;
    final String what;
    final int needed;
    final Map<NodeId, String> asked; // replica -> its address
    final long deadline;
    final List<String> failures = new ArrayList<>();
    int answered;

    Pending(long id, ByteString key, String what, int needed, Map<NodeId, String> asked) {
      this.id = id;
      this.key = key;
      this.what = what;
      this.needed = needed;
      this.asked = asked;
      this.deadline = clock.millis() + config.timeoutMs();
    }

    abstract void fail(LevelNotMetException e);

    /** An error from one replica; fails the request once the others cannot make up for it. */
    /** Replicas that answered with an error. */
    final java.util.Set<NodeId> failedFrom = new java.util.HashSet<>();

    void failed(NodeId from, String error) {
      if (!failedFrom.add(from)) {
        return; // a duplicated error answer counts once
      }
      errorReplies++;
      failures.add(from + ": " + error);
      errors.warn("replica-error", "replica {} could not serve {} of {}: {}", from, what, printable(key), error);
      if (asked.size() - failures.size() < needed) {
        pending.remove(id);
        fail(new LevelNotMetException(what + " needs " + (needed + 1) + " replicas; " + (answered + 1)
            + " answered and " + failures.size() + " failed (" + String.join("; ", failures) + ")"));
      }
    }
  }

  private final class PendingWrite extends Pending {
    final BiConsumer<Void, Throwable> done;
    /** Replicas that acknowledged: a duplicated ack (the network may duplicate) counts once. */
    final java.util.Set<NodeId> acked = new java.util.HashSet<>();

    PendingWrite(long id, ByteString key, String what, int needed, Map<NodeId, String> asked,
        BiConsumer<Void, Throwable> done) {
      super(id, key, what, needed, asked);
      this.done = done;
    }

    @Override
    void fail(LevelNotMetException e) {
      done.accept(null, e);
    }
  }

  private final class PendingRead extends Pending {
    final Optional<Crdt<?>> local;
    final BiConsumer<Optional<Crdt<?>>, Throwable> done;
    final Map<NodeId, Crdt<?>> states = new HashMap<>(); // null values: the replica has nothing

    PendingRead(long id, ByteString key, String what, int needed, Map<NodeId, String> asked,
        Optional<Crdt<?>> local, BiConsumer<Optional<Crdt<?>>, Throwable> done) {
      super(id, key, what, needed, asked);
      this.local = local;
      this.done = done;
    }

    @Override
    void fail(LevelNotMetException e) {
      done.accept(null, e);
    }
  }

  // ---------------------------------------------------------------- coordinating

  /**
   * The reachable replicas to ask, or null (after failing {@code done}) when fewer are reachable
   * than {@code needed}, or too many requests are waiting already.
   */
  private Map<NodeId, String> targets(String what, int needed, BiConsumer<?, Throwable> done) {
    Map<NodeId, String> asked = new LinkedHashMap<>();
    for (Member m : membership.reachablePeers()) {
      if (membership.isKnown(m.id())) {
        asked.put(m.id(), m.address());
      }
    }
    if (asked.size() < needed) {
      done.accept(null, new LevelNotMetException(what + " needs " + (needed + 1) + " replicas; only "
          + (asked.size() + 1) + " of " + membership.replicaCount() + " are reachable (the others are dead or suspect)"));
      return null;
    }
    if (pending.size() >= config.pendingMax()) {
      done.accept(null, new LevelNotMetException(what + " refused: " + pending.size()
          + " requests are already waiting for replicas, the limit"));
      return null;
    }
    return asked;
  }

  /** Completes {@code done} once replicas enough for {@code level}, this one included, hold {@code delta} durably. */
  public void write(ByteString key, Crdt<?> delta, Level level, BiConsumer<Void, Throwable> done) {
    int needed = level.othersNeeded(membership.replicaCount());
    if (needed == 0) {
      done.accept(null, null);
      return;
    }
    String what = level.describe("w");
    Map<NodeId, String> asked = targets(what, needed, done);
    if (asked == null) {
      return;
    }
    long id = ++nextId;
    pending.put(id, new PendingWrite(id, key, what, needed, asked, done));
    for (String address : asked.values()) {
      transport.send(address, new ReplicaWrite(self, id, key, delta));
    }
  }

  /** Completes {@code done} with the join of replicas enough for {@code level}, {@code local} included. */
  public void read(ByteString key, Optional<Crdt<?>> local, Level level, BiConsumer<Optional<Crdt<?>>, Throwable> done) {
    int needed = level.othersNeeded(membership.replicaCount());
    if (plantedReadSkipsAReplica && needed > 0) {
      needed--;
    }
    if (needed == 0) {
      done.accept(local, null);
      return;
    }
    String what = level.describe("r");
    Map<NodeId, String> asked = targets(what, needed, done);
    if (asked == null) {
      return;
    }
    long id = ++nextId;
    pending.put(id, new PendingRead(id, key, what, needed, asked, local, done));
    for (String address : asked.values()) {
      transport.send(address, new ReplicaRead(self, id, key));
    }
  }

  /** Fails the requests whose replicas did not answer in time. */
  public void tick() {
    long now = clock.millis();
    for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (p.deadline > now) {
        break; // later ones were started later
      }
      it.remove();
      timedOut++;
      p.fail(new LevelNotMetException(p.what + " needs " + (p.needed + 1) + " replicas; " + (p.answered + 1)
          + " answered within " + config.timeoutMs() + " ms"
          + (p.failures.isEmpty() ? "" : " (" + String.join("; ", p.failures) + ")")));
    }
  }

  // ---------------------------------------------------------------- messages

  /** Handles replica traffic; other messages are ignored. */
  public void receive(PeerMessage message) {
    switch (message.kind()) {
      case REPLICA_WRITE -> onReplicaWrite((ReplicaWrite) message);
      case REPLICA_WRITE_ACK -> onWriteAck((ReplicaWriteAck) message);
      case REPLICA_READ -> onReplicaRead((ReplicaRead) message);
      case REPLICA_READ_REPLY -> onReadReply((ReplicaReadReply) message);
      default -> {
        // another protocol's
      }
    }
  }

  private void onReplicaWrite(ReplicaWrite write) {
    Member from = membership.member(write.from());
    if (from == null) {
      return; // not a member: nobody to answer, and nothing to take from it
    }
    storage.runAsync(() -> replica.mergeDurable(write.key(), write.state()), (ok, failure) -> {
      if (write.id() != 0) { // id 0 is a read repair, which nobody waits for
        transport.send(from.address(), new ReplicaWriteAck(self, write.id(),
            failure == null ? "" : String.valueOf(failure.getMessage())));
      }
    });
  }

  private void onWriteAck(ReplicaWriteAck ack) {
    if (!(pending.get(ack.id()) instanceof PendingWrite p) || !p.asked.containsKey(ack.from())
        || p.acked.contains(ack.from())) {
      return;
    }
    if (!ack.error().isEmpty()) {
      p.failed(ack.from(), ack.error());
      return;
    }
    p.acked.add(ack.from());
    if (++p.answered >= p.needed) {
      pending.remove(ack.id());
      p.done.accept(null, null);
    }
  }

  private void onReplicaRead(ReplicaRead read) {
    Member from = membership.member(read.from());
    if (from == null) {
      return;
    }
    storage.run(() -> replica.get(read.key()), (state, failure) -> transport.send(from.address(), failure == null
        ? new ReplicaReadReply(self, read.id(), state.orElse(null), "")
        : new ReplicaReadReply(self, read.id(), null, String.valueOf(failure.getMessage()))));
  }

  private void onReadReply(ReplicaReadReply reply) {
    if (!(pending.get(reply.id()) instanceof PendingRead p) || !p.asked.containsKey(reply.from())
        || p.states.containsKey(reply.from())) {
      return;
    }
    if (!reply.error().isEmpty()) {
      p.failed(reply.from(), reply.error());
      return;
    }
    p.states.put(reply.from(), reply.state());
    if (++p.answered < p.needed) {
      return;
    }
    pending.remove(reply.id());
    storage.run(() -> mergeAnswers(p), (merged, failure) -> {
      if (failure != null) {
        p.done.accept(null, failure);
        return;
      }
      p.done.accept(merged, null);
      repairStale(p, merged);
    });
  }

  /**
   * Joins the answers into the local replica, and returns its state after. Runs on a storage
   * thread.
   *
   * @throws LevelNotMetException when the replicas hold different types for the key
   */
  private Optional<Crdt<?>> mergeAnswers(PendingRead p) {
    List<KeyState> answers = new ArrayList<>();
    Crdt<?> first = p.local.orElse(null);
    for (Crdt<?> state : p.states.values()) {
      if (state == null) {
        continue;
      }
      if (first != null && first.type() != state.type()) {
        throw new LevelNotMetException("replicas hold different types for " + printable(p.key) + ": a "
            + first.type().displayName() + " and a " + state.type().displayName());
      }
      first = first == null ? state : first;
      answers.add(new KeyState(p.key, state));
    }
    if (!answers.isEmpty()) {
      replica.mergeAll(answers);
    }
    return replica.get(p.key);
  }

  /** Read repair: the merged state goes to every replica that answered with less. */
  private void repairStale(PendingRead p, Optional<Crdt<?>> merged) {
    if (merged.isEmpty()) {
      return;
    }
    p.states.forEach((id, state) -> {
      if (!merged.get().equals(state)) {
        log.debug("read repair of {} at {}", printable(p.key), id);
        transport.send(p.asked.get(id), new ReplicaWrite(self, 0, p.key, merged.get()));
      }
    });
  }

  // ---------------------------------------------------------------- stats

  /** Requests waiting for replicas now. */
  public int pending() {
    return pending.size();
  }

  public long timedOut() {
    return timedOut;
  }

  /** Error replies received from replicas. */
  public long errorReplies() {
    return errorReplies;
  }

  private static String printable(ByteString key) {
    return io.latticekv.core.storage.Store.printable(key);
  }
}
