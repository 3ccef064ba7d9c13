package io.latticekv.server.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.cluster.StoreReplica;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.membership.KnownMember;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.replication.Level;
import io.latticekv.core.replication.LevelNotMetException;
import io.latticekv.core.storage.Store;
import io.latticekv.server.api.Coordinator;
import io.latticekv.server.peer.PeerCodec;
import io.latticekv.server.peer.PeerNetwork;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives a {@link ClusterNode} for a server: one protocol thread runs every tick and every received
 * message, so the protocols stay single-threaded as they expect; the peer network carries their
 * messages; a bounded pool of replication threads runs the storage work they hand out, so the
 * protocol thread — the one that answers pings — never waits for the disk.
 *
 * <p>The protocol thread's task queue has no bound of its own because everything that feeds it is
 * bounded: peer messages by the peer port's inbox budget (past it the port stops reading), client
 * requests at {@code w} or {@code r} above one by the clients' in-flight limits, client deltas by
 * {@link #HOT_QUEUE_MAX}, storage continuations by {@link #STORAGE_QUEUE_MAX}, and ticks by the
 * fixed rate (a late tick is not run twice).
 *
 * <p>Every task on the protocol thread is guarded: an exception is logged with its context
 * ("bug:"), never lost in a future. Status is a snapshot the protocol thread publishes every
 * {@link #SNAPSHOT_EVERY_MS}; reading it never waits for that thread, so a busy protocol thread
 * cannot stall the client event loop that asks.
 */
public final class ClusterService implements Coordinator, io.latticekv.server.api.MemberAdmin, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ClusterService.class);

  /** How often the timers are driven: well under the shortest interval (the gossip round). */
  private static final long TICK_MILLIS = 5;
  /** Status snapshots are this fresh at most; status answers never wait for a newer one. */
  static final long SNAPSHOT_EVERY_MS = 50;
  /**
   * Storage tasks waiting for a replication thread, at most: several seconds of peer work at the
   * rates measured. Past it, new work is refused at once — a rumor batch goes unacknowledged (the
   * sender keeps it hot), an exchange ends, a replica write answers an error — instead of queueing
   * without end behind a slow disk.
   */
  static final int STORAGE_QUEUE_MAX = 4_096;
  /**
   * Client deltas waiting to become rumors, at most. Past it (a protocol thread that cannot keep
   * up) they are not spread by rumor; anti-entropy repairs them.
   */
  static final int HOT_QUEUE_MAX = 100_000;

  /** Everything the cluster layer needs to know. */
  public record Settings(InetSocketAddress peerListen, String advertise, List<String> seeds, String cluster,
      ClusterConfig config, int frameBytesMax, int keyBytesMax, UnaryOperator<Replica> replicaWrapper) {

    public Settings(InetSocketAddress peerListen, String advertise, List<String> seeds, String cluster,
        ClusterConfig config, int frameBytesMax, int keyBytesMax) {
      this(peerListen, advertise, seeds, cluster, config, frameBytesMax, keyBytesMax, UnaryOperator.identity());
    }

    public Settings withConfig(ClusterConfig newConfig) {
      return new Settings(peerListen, advertise, seeds, cluster, newConfig, frameBytesMax, keyBytesMax, replicaWrapper);
    }

    /** Test-only: the replica the protocols see, wrapped (to make it slow, say). */
    public Settings withReplicaWrapper(UnaryOperator<Replica> wrapper) {
      return new Settings(peerListen, advertise, seeds, cluster, config, frameBytesMax, keyBytesMax, wrapper);
    }
  }

  /**
   * A status snapshot: the node's (with the time it was taken, which falls behind if the protocol
   * thread stalls) and the network's and this driver's counters.
   */
  public record Status(ClusterNode.Status node, long messagesSent, long bytesSent, long antiEntropyBytesSent,
      long messagesDropped, long connectionsRefused, long connectionsAccepted, long storageTasksRefused,
      long rumorsShed) {}

  private final Store store;
  private final ScheduledExecutorService protocol;
  private final ThreadPoolExecutor storage;
  private final PeerNetwork network;
  /** Set once built; peer messages that arrive before are dropped. */
  private volatile ClusterNode node;
  private final AtomicInteger hotPending = new AtomicInteger();
  private final AtomicLong rumorsShed = new AtomicLong();
  private final AtomicLong storageRefused = new AtomicLong();
  private volatile Status snapshot;
  private volatile boolean stopping;
  private long snapshotAt;
  private boolean left;
  /** Whether a push of new rumors is queued on the protocol thread (read and written there only). */
  private boolean pushQueued;

  public ClusterService(Store store, Settings settings) throws InterruptedException {
    this(store, settings, null);
  }

  /** @param tls TLS for the peer port, both ways, with peer certificates required; null for plaintext */
  public ClusterService(Store store, Settings settings, io.latticekv.server.security.TlsContexts tls)
      throws InterruptedException {
    this.store = store;
    this.protocol = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "lattice-protocol"));
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    AtomicInteger n = new AtomicInteger();
    this.storage = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(STORAGE_QUEUE_MAX), r -> daemon(r, "lattice-replication-" + n.incrementAndGet()));
    int segments = store.tree().segments();
    this.network = new PeerNetwork(settings.peerListen(), settings.advertise(), store.nodeId(), settings.cluster(),
        settings.frameBytesMax(), segments,
        new PeerCodec.Limits(settings.config().membership().membersMax(), settings.keyBytesMax(), segments), tls,
        (message, processed) -> execute(() -> {
          try {
            ClusterNode built = node;
            if (built != null) {
              built.receive(message);
            }
          } finally {
            processed.run();
          }
        }, processed));
    long incarnation = store.nextIncarnation();
    List<KnownMember> known = store.knownMembers();
    Replica replica = settings.replicaWrapper().apply(new StoreReplica(store));
    this.node = new ClusterNode(store.nodeId(), network.address(), incarnation, settings.seeds(), known,
        settings.config(), Clock.system(), new Random(new SecureRandom().nextLong()), network, replica,
        new PoolRunner(), new Membership.Listener() {
          @Override
          public void changed(Member member, MemberStatus previous) {
            log.info("member {} at {} is {} (incarnation {}{})", member.id(), member.address(),
                member.status().name().toLowerCase(), member.incarnation(),
                previous == null ? ", new" : ", was " + previous.name().toLowerCase());
          }

          @Override
          public void knownChanged(List<KnownMember> now) {
            saveKnownMembers(now);
          }

          @Override
          public void removed(io.latticekv.core.transport.PeerMessage.MemberUpdate removal) {
            network.refuse(removal.id());
          }
        });
    for (io.latticekv.core.transport.PeerMessage.MemberUpdate removal : node.status().lifecycle().removed()) {
      network.refuse(removal.id());
    }
    // A rumor that became hot leaves once the protocol thread has run the tasks already queued:
    // one push for all the writes and relays of that pass, not a wait for the next tick.
    node.onRumorsUnsent(() -> {
      if (!pushQueued) {
        pushQueued = true;
        execute(() -> {
          pushQueued = false;
          node.pushUnsentRumors();
        });
      }
    });
    publish(System.currentTimeMillis());
    protocol.scheduleAtFixedRate(guarded(this::tick), TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    log.info("joining cluster '{}' as {} (incarnation {}, {} known members) through seeds {}", settings.cluster(),
        network.address(), incarnation, known.size(), settings.seeds());
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Runs {@code task} on the protocol thread; when it cannot (stopping), runs {@code onRefused}. */
  private void execute(Runnable task, Runnable onRefused) {
    try {
      protocol.execute(guarded(task));
    } catch (RejectedExecutionException stopped) {
      log.debug("protocol thread stopped; dropped a task");
      onRefused.run();
    }
  }

  private void execute(Runnable task) {
    execute(task, () -> {});
  }

  /** Logs what a protocol task throws: a scheduled executor would keep it in a future nobody reads. */
  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | AssertionError e) {
        log.error("bug: a protocol task failed", e);
      }
    };
  }

  private void tick() {
    node.tick();
    long now = System.currentTimeMillis();
    if (now - snapshotAt >= SNAPSHOT_EVERY_MS) {
      publish(now);
    }
  }

  private void publish(long now) {
    snapshotAt = now;
    snapshot = new Status(node.status(), network.messagesSent(), network.bytesSent(), network.antiEntropyBytesSent(),
        network.messagesDropped(), network.connectionsRefused(), network.connectionsAccepted(),
        storageRefused.get(), rumorsShed.get());
  }

  private void saveKnownMembers(List<KnownMember> members) {
    try {
      storage.execute(() -> {
        try {
          store.saveKnownMembers(members);
        } catch (RuntimeException e) {
          log.error("could not save the {} known members", members.size(), e);
        }
      });
    } catch (RejectedExecutionException busy) {
      if (!stopping) {
        log.warn("could not save the {} known members: storage is busy; they are saved with the next change",
            members.size());
      }
    }
  }

  /** The {@link StorageRunner} of the server: a bounded pool, continuations back on the protocol thread. */
  private final class PoolRunner implements StorageRunner {
    @Override
    public <T> void runAsync(Supplier<? extends CompletionStage<T>> work, BiConsumer<? super T, Throwable> then) {
      try {
        storage.execute(() -> {
          CompletionStage<T> stage;
          try {
            stage = work.get();
          } catch (RuntimeException e) {
            execute(() -> then.accept(null, e));
            return;
          }
          stage.whenComplete((value, failure) -> execute(() -> then.accept(value, StorageRunner.unwrap(failure))));
        });
      } catch (RejectedExecutionException full) {
        storageRefused.incrementAndGet();
        then.accept(null, new RejectedExecutionException(stopping ? "the node is stopping"
            : STORAGE_QUEUE_MAX + " storage tasks are waiting already; try again later"));
      }
    }
  }

  // ---------------------------------------------------------------- client work

  /** A delta this node applied for a client: spread it. */
  public void replicated(ByteString key, Crdt<?> delta) {
    if (hotPending.incrementAndGet() > HOT_QUEUE_MAX) {
      hotPending.decrementAndGet();
      rumorsShed.incrementAndGet();
      return;
    }
    execute(() -> {
      hotPending.decrementAndGet();
      node.replicated(key, delta);
    }, hotPending::decrementAndGet);
  }

  @Override
  public CompletableFuture<Void> replicate(ByteString key, Crdt<?> delta, io.latticekv.proto.Level level) {
    CompletableFuture<Void> result = new CompletableFuture<>();
    execute(() -> node.write(key, delta, level(level), completeOffThread(result)),
        () -> result.completeExceptionally(new RejectedExecutionException("the node is shutting down")));
    return result;
  }

  @Override
  public CompletableFuture<Optional<Crdt<?>>> read(ByteString key, Optional<Crdt<?>> local,
      io.latticekv.proto.Level level) {
    CompletableFuture<Optional<Crdt<?>>> result = new CompletableFuture<>();
    execute(() -> node.read(key, local, level(level), completeOffThread(result)),
        () -> result.completeExceptionally(new RejectedExecutionException("the node is shutting down")));
    return result;
  }

  /**
   * Completes {@code future} on a replication thread, not the protocol thread: what the client's
   * request does next (build the answer, which may be a large set) must not run there.
   */
  private <T> BiConsumer<T, Throwable> completeOffThread(CompletableFuture<T> future) {
    return (value, failure) -> {
      Runnable complete = () -> {
        if (failure != null) {
          future.completeExceptionally(failure);
        } else {
          future.complete(value);
        }
      };
      try {
        storage.execute(complete);
      } catch (RejectedExecutionException busy) {
        complete.run();
      }
    };
  }

  private static Level level(io.latticekv.proto.Level level) {
    return switch (level) {
      case LEVEL_ONE -> Level.ONE;
      case LEVEL_QUORUM -> Level.QUORUM;
      case LEVEL_ALL -> Level.ALL;
      case UNRECOGNIZED -> throw new LevelNotMetException("unknown consistency level");
    };
  }

  // ---------------------------------------------------------------- members

  @Override
  public CompletableFuture<String> removeMember(String nodeIdHex) {
    io.latticekv.core.crdt.NodeId id;
    try {
      id = io.latticekv.core.crdt.NodeId.parse(nodeIdHex);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new io.latticekv.server.api.RequestProcessor.Refusal(
          io.latticekv.proto.ErrorCode.BAD_REQUEST, "not a node id: " + nodeIdHex
          + " (32 hex digits, as lattice members shows them)"));
    }
    CompletableFuture<String> result = new CompletableFuture<>();
    execute(() -> {
      try {
        node.removeMember(id);
        network.refuse(id);
        log.warn("removed member {} from the cluster for good (an admin's request); this node prunes its replica ids", id);
        result.complete("member " + id + " is removed: it no longer counts for quorum or all, its connections are "
            + "refused, and this node prunes its replica ids once every member has its data (docs/lifecycle.md)");
      } catch (IllegalArgumentException | IllegalStateException e) {
        result.completeExceptionally(new io.latticekv.server.api.RequestProcessor.Refusal(
            io.latticekv.proto.ErrorCode.BAD_REQUEST, e.getMessage()));
      }
    }, () -> result.completeExceptionally(new RejectedExecutionException("the node is shutting down")));
    return result;
  }

  /** Hands this node's data to a peer and announces its removal; the caller stops taking writes first, and stops the node after. */
  @Override
  public CompletableFuture<String> decommission() {
    CompletableFuture<String> result = new CompletableFuture<>();
    long start = System.currentTimeMillis();
    execute(() -> node.decommission((peer, failure) -> {
      if (failure != null) {
        result.completeExceptionally(new io.latticekv.server.api.RequestProcessor.Refusal(
            io.latticekv.proto.ErrorCode.UNAVAILABLE, "cannot decommission: " + failure.getMessage()));
      } else {
        String done = "handed everything to " + peer + " (their Merkle trees matched) after "
            + (System.currentTimeMillis() - start) + " ms, and left the cluster for good";
        log.warn("decommissioned: {}", done);
        result.complete(done);
      }
    }), () -> result.completeExceptionally(new RejectedExecutionException("the node is shutting down")));
    return result;
  }

  /** Whether this node was removed from the cluster (it takes no part any more). */
  public boolean removedSelf() {
    Status s = snapshot;
    return s != null && s.node().selfRemoved();
  }

  /** Whether this node discards a restored backup's keys now (it should answer no client meanwhile). */
  public boolean discarding() {
    Status s = snapshot;
    return s != null && s.node().lifecycle().discarding();
  }

  // ---------------------------------------------------------------- status

  public String peerAddress() {
    return network.address();
  }

  /** Test-only: drop all peer traffic with these addresses (empty heals). */
  public void dropPeers(java.util.Set<String> peers) {
    network.dropPeers(peers);
  }

  /** The latest snapshot: never waits for the protocol thread. */
  public Status status() {
    return snapshot;
  }

  /** The Merkle tree, read directly (it is thread-safe): fresher than the snapshot. */
  public MerkleTree tree() {
    return store.tree();
  }

  public io.latticekv.proto.wire.InputBudget peerInputBudget() {
    return network.inputBudget();
  }

  // ---------------------------------------------------------------- stopping

  /** Tells the members this node is leaving; it stops taking part. */
  public synchronized void leave() {
    if (left) {
      return;
    }
    left = true;
    CompletableFuture<Void> done = new CompletableFuture<>();
    execute(() -> {
      node.leave();
      done.complete(null);
    }, () -> done.complete(null));
    try {
      done.get(5, TimeUnit.SECONDS);
      log.info("left the cluster");
    } catch (Exception e) {
      log.warn("could not announce the leave: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    leave();
    stopping = true;
    network.stopReceiving();
    protocol.shutdown();
    awaitQuietly(protocol);
    storage.shutdown();
    awaitQuietly(storage);
    network.close();
  }

  private static void awaitQuietly(java.util.concurrent.ExecutorService executor) {
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops without a leave, as a crash would: for tests of failure detection. */
  public void halt() {
    left = true;
    stopping = true;
    network.stopReceiving();
    protocol.shutdownNow();
    storage.shutdownNow();
    // Storage work under way finishes first (RocksDB calls are not interruptible): the store is
    // closed next, and a scan on a closed store crashes the process, not just the node.
    awaitQuietly(protocol);
    awaitQuietly(storage);
    network.close();
  }
}
