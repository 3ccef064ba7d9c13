package io.latticekv.server.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.storage.Store;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.ReplicaRead;
import io.latticekv.core.transport.PeerMessage.ReplicaReadReply;
import io.latticekv.core.transport.PeerMessage.ReplicaWrite;
import io.latticekv.core.transport.PeerMessage.ReplicaWriteAck;
import io.latticekv.core.transport.Transport;
import io.latticekv.proto.Level;
import io.latticekv.server.api.Coordinator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes and reads at {@code quorum} and {@code all} (full replication: every node is a replica
 * of every key). The cluster's size n counts every member that has not left, dead ones included:
 * a dead member is still a replica that a write at {@code all} must reach. A quorum is {@code n/2
 * + 1}. Runs on the protocol thread; the state of pending requests is touched nowhere else.
 */
final class ReplicaCoordinator implements Coordinator {

  private static final Logger log = LoggerFactory.getLogger(ReplicaCoordinator.class);

  private final NodeId self;
  private final Store store;
  private final Membership membership;
  private final Transport transport;
  private final ScheduledExecutorService protocol;
  private final long timeoutMs;
  private final Map<Long, PendingWrite> writes = new HashMap<>();
  private final Map<Long, PendingRead> reads = new HashMap<>();
  private long nextId;

  private static final class PendingWrite {
    final int needed;
    final int asked;
    final String level;
    int acks;
    final List<String> errors = new ArrayList<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();

    PendingWrite(int needed, int asked, String level) {
      this.needed = needed;
      this.asked = asked;
      this.level = level;
    }
  }

  private static final class PendingRead {
    final ByteString key;
    final int needed;
    final String level;
    final Map<NodeId, Crdt<?>> states = new HashMap<>();
    final Map<NodeId, String> addresses;
    Optional<Crdt<?>> local;
    int replies;
    final CompletableFuture<Optional<Crdt<?>>> done = new CompletableFuture<>();

    PendingRead(ByteString key, int needed, String level, Optional<Crdt<?>> local, Map<NodeId, String> addresses) {
      this.key = key;
      this.needed = needed;
      this.level = level;
      this.local = local;
      this.addresses = addresses;
    }
  }

  ReplicaCoordinator(NodeId self, Store store, Membership membership, Transport transport,
      ScheduledExecutorService protocol, long timeoutMs) {
    this.self = self;
    this.store = store;
    this.membership = membership;
    this.transport = transport;
    this.protocol = protocol;
    this.timeoutMs = timeoutMs;
  }

  /** Replicas beyond this one that {@code level} needs, for the current membership. */
  private int extraNeeded(Level level) {
    int n = 0;
    for (Member m : membership.members()) {
      if (m.status() != MemberStatus.LEFT) {
        n++;
      }
    }
    return switch (level) {
      case LEVEL_ALL -> n - 1;
      case LEVEL_QUORUM -> n / 2;
      default -> 0;
    };
  }

  private static String name(Level level, String op) {
    return op + "=" + (level == Level.LEVEL_ALL ? "all" : level == Level.LEVEL_QUORUM ? "quorum" : "1");
  }

  @Override
  public CompletableFuture<Void> replicate(ByteString key, Crdt<?> delta, Level level) {
    CompletableFuture<Void> result = new CompletableFuture<>();
    protocol.execute(() -> startWrite(key, delta, level, result));
    return result;
  }

  private void startWrite(ByteString key, Crdt<?> delta, Level level, CompletableFuture<Void> result) {
    int needed = extraNeeded(level);
    if (needed == 0) {
      result.complete(null);
      return;
    }
    List<Member> peers = membership.reachablePeers();
    String what = name(level, "w");
    if (peers.size() < needed) {
      result.completeExceptionally(new LevelNotMetException(what + " needs " + (needed + 1)
          + " replicas; only " + (peers.size() + 1) + " are reachable (the others are dead or suspect)"));
      return;
    }
    long id = ++nextId;
    PendingWrite pending = new PendingWrite(needed, peers.size(), what);
    writes.put(id, pending);
    pending.done.whenComplete((ok, failure) -> {
      if (failure == null) {
        result.complete(null);
      } else {
        result.completeExceptionally(failure);
      }
    });
    for (Member peer : peers) {
      transport.send(peer.address(), new ReplicaWrite(self, id, key, delta));
    }
    protocol.schedule(() -> {
      PendingWrite p = writes.remove(id);
      if (p != null) {
        p.done.completeExceptionally(new LevelNotMetException(p.level + " needs " + (p.needed + 1)
            + " replicas; " + (p.acks + 1) + " acknowledged within " + timeoutMs + " ms"
            + (p.errors.isEmpty() ? "" : " (" + String.join("; ", p.errors) + ")")));
      }
    }, timeoutMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public CompletableFuture<Optional<Crdt<?>>> read(ByteString key, Optional<Crdt<?>> local, Level level) {
    CompletableFuture<Optional<Crdt<?>>> result = new CompletableFuture<>();
    protocol.execute(() -> startRead(key, local, level, result));
    return result;
  }

  private void startRead(ByteString key, Optional<Crdt<?>> local, Level level,
      CompletableFuture<Optional<Crdt<?>>> result) {
    int needed = extraNeeded(level);
    if (needed == 0) {
      result.complete(local);
      return;
    }
    List<Member> peers = membership.reachablePeers();
    String what = name(level, "r");
    if (peers.size() < needed) {
      result.completeExceptionally(new LevelNotMetException(what + " needs " + (needed + 1)
          + " replicas; only " + (peers.size() + 1) + " are reachable"));
      return;
    }
    long id = ++nextId;
    Map<NodeId, String> addresses = new HashMap<>();
    peers.forEach(p -> addresses.put(p.id(), p.address()));
    PendingRead pending = new PendingRead(key, needed, what, local, addresses);
    reads.put(id, pending);
    pending.done.whenComplete((value, failure) -> {
      if (failure == null) {
        result.complete(value);
      } else {
        result.completeExceptionally(failure);
      }
    });
    for (Member peer : peers) {
      transport.send(peer.address(), new ReplicaRead(self, id, key));
    }
    protocol.schedule(() -> {
      PendingRead p = reads.remove(id);
      if (p != null) {
        p.done.completeExceptionally(new LevelNotMetException(p.level + " needs " + (p.needed + 1)
            + " replicas; " + (p.replies + 1) + " answered within " + timeoutMs + " ms"));
      }
    }, timeoutMs, TimeUnit.MILLISECONDS);
  }

  /** Handles replica traffic; returns false for messages that are not its own. */
  boolean receive(PeerMessage message) {
    if (message instanceof ReplicaWrite write) {
      onReplicaWrite(write);
    } else if (message instanceof ReplicaWriteAck ack) {
      onWriteAck(ack);
    } else if (message instanceof ReplicaRead read) {
      onReplicaRead(read);
    } else if (message instanceof ReplicaReadReply reply) {
      onReadReply(reply);
    } else {
      return false;
    }
    return true;
  }

  private void onReplicaWrite(ReplicaWrite write) {
    Member from = membership.member(write.from());
    try {
      store.apply(write.key(), new CrdtUpdate.JoinState(write.state())).durable().whenComplete((ok, failure) -> {
        if (from != null && write.id() != 0) {
          transport.send(from.address(), new ReplicaWriteAck(self, write.id(),
              failure == null ? "" : String.valueOf(failure.getMessage())));
        }
      });
    } catch (RuntimeException e) {
      if (from != null && write.id() != 0) {
        transport.send(from.address(), new ReplicaWriteAck(self, write.id(), e.getMessage()));
      }
    }
  }

  private void onWriteAck(ReplicaWriteAck ack) {
    PendingWrite p = writes.get(ack.id());
    if (p == null) {
      return;
    }
    if (!ack.error().isEmpty()) {
      p.errors.add(ack.from() + ": " + ack.error());
      return;
    }
    if (++p.acks >= p.needed) {
      writes.remove(ack.id());
      p.done.complete(null);
    }
  }

  private void onReplicaRead(ReplicaRead read) {
    Member from = membership.member(read.from());
    if (from == null) {
      return;
    }
    try {
      transport.send(from.address(), new ReplicaReadReply(self, read.id(), store.get(read.key()).orElse(null), ""));
    } catch (RuntimeException e) {
      transport.send(from.address(), new ReplicaReadReply(self, read.id(), null, e.getMessage()));
    }
  }

  private void onReadReply(ReplicaReadReply reply) {
    PendingRead p = reads.get(reply.id());
    if (p == null || !reply.error().isEmpty()) {
      return;
    }
    if (reply.state() != null) {
      p.states.put(reply.from(), reply.state());
    } else {
      p.states.put(reply.from(), null);
    }
    if (++p.replies < p.needed) {
      return;
    }
    reads.remove(reply.id());
    try {
      Crdt<?> merged = p.local.orElse(null);
      for (Crdt<?> state : p.states.values()) {
        if (state != null) {
          merged = merged == null ? state : Crdt.join(merged, state);
        }
      }
      repair(p, merged);
      p.done.complete(Optional.ofNullable(merged));
    } catch (IllegalArgumentException typesDiffer) {
      p.done.completeExceptionally(new LevelNotMetException("replicas hold different types for this key: "
          + typesDiffer.getMessage()));
    }
  }

  /** Read repair: the merged state goes to every replica that answered with less. */
  private void repair(PendingRead p, Crdt<?> merged) {
    if (merged == null) {
      return;
    }
    if (!merged.equals(p.local.orElse(null))) {
      store.apply(p.key, new CrdtUpdate.JoinState(merged));
    }
    p.states.forEach((id, state) -> {
      if (!merged.equals(state)) {
        String address = p.addresses.get(id);
        if (address != null) {
          log.debug("read repair of {} at {}", Store.printable(p.key), address);
          transport.send(address, new ReplicaWrite(self, 0, p.key, merged));
        }
      }
    });
  }
}
