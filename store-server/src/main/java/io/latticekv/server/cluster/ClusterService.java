package io.latticekv.server.cluster;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.gossip.RumorMonger;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.TypeMismatchException;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.server.peer.PeerNetwork;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the membership and rumor state machines for a node: one protocol thread runs every tick
 * and every received message, so the state machines stay single-threaded as they expect; the peer
 * network carries their messages.
 */
public final class ClusterService implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ClusterService.class);

  /** How often the timers are driven: well under the shortest interval (the gossip round). */
  private static final long TICK_MILLIS = 5;

  /** Everything the cluster layer needs to know. */
  public record Settings(
      InetSocketAddress peerListen, String advertise, List<String> seeds, String cluster,
      MembershipConfig membership, RumorConfig rumors, boolean rumorsEnabled, int frameBytesMax,
      long replicaTimeoutMs, io.latticekv.core.antientropy.AntiEntropyConfig antiEntropy) {

    /** The same settings without anti-entropy (null turns it off). */
    public Settings withAntiEntropy(io.latticekv.core.antientropy.AntiEntropyConfig config) {
      return new Settings(peerListen, advertise, seeds, cluster, membership, rumors, rumorsEnabled, frameBytesMax,
          replicaTimeoutMs, config);
    }
  }

  /** A snapshot for status reports. */
  public record Status(List<Member> members, int rumorQueue, long rumorsSent, long rumorsReceived,
      long rumorsNew, long rumorsDropped, List<io.latticekv.core.antientropy.AntiEntropy.Outcome> exchanges,
      long exchangesRun, long keysRepaired, long merkleRoot) {}

  private final Store store;
  private final Settings settings;
  private final ScheduledExecutorService protocol;
  private final PeerNetwork network;
  private final Membership membership;
  private final RumorMonger rumors;
  private final ReplicaCoordinator coordinator;
  private final io.latticekv.core.antientropy.AntiEntropy antiEntropy;
  private boolean left;

  public ClusterService(Store store, Settings settings) throws InterruptedException {
    this.store = store;
    this.settings = settings;
    this.protocol = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lattice-protocol");
      t.setDaemon(true);
      return t;
    });
    this.network = new PeerNetwork(settings.peerListen(), settings.advertise(), store.nodeId(),
        settings.cluster(), settings.frameBytesMax(), store.tree().segments(), message -> protocol.execute(() -> {
          if (!replicas().receive(message) && (antiEntropy() == null || !antiEntropy().receive(message))) {
            membership().receive(message);
            rumors().receive(message);
          }
        }));
    Random random = new Random(new SecureRandom().nextLong());
    long incarnation = store.nextIncarnation();
    this.membership = new Membership(store.nodeId(), network.address(), incarnation, settings.seeds(),
        settings.membership(), Clock.system(), random, network, (member, previous) ->
            log.info("member {} at {} is {} (incarnation {}{})", member.id(), member.address(),
                member.status().name().toLowerCase(), member.incarnation(),
                previous == null ? ", new" : ", was " + previous.name().toLowerCase()));
    this.rumors = new RumorMonger(store.nodeId(), settings.rumors(), Clock.system(), new Random(random.nextLong()),
        network, membership::reachablePeers, () -> membership.reachablePeers().size() + 1, this::applyRumors);
    this.coordinator = new ReplicaCoordinator(store.nodeId(), store, membership, network, protocol,
        settings.replicaTimeoutMs());
    this.antiEntropy = settings.antiEntropy() == null ? null
        : new io.latticekv.core.antientropy.AntiEntropy(store.nodeId(), settings.antiEntropy(), Clock.system(),
            new Random(random.nextLong()), network, membership::reachablePeers,
            new io.latticekv.core.antientropy.StoreReplica(store));
    protocol.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    log.info("joining cluster '{}' as {} (incarnation {}) through seeds {}", settings.cluster(),
        network.address(), incarnation, settings.seeds());
  }

  private Membership membership() {
    return membership;
  }

  private RumorMonger rumors() {
    return rumors;
  }

  private ReplicaCoordinator replicas() {
    return coordinator;
  }

  private io.latticekv.core.antientropy.AntiEntropy antiEntropy() {
    return antiEntropy;
  }

  /** Writes and reads at quorum or all. */
  public io.latticekv.server.api.Coordinator coordinator() {
    return coordinator;
  }

  private void tick() {
    try {
      membership.tick();
      if (settings.rumorsEnabled()) {
        rumors.tick();
      }
      if (antiEntropy != null) {
        antiEntropy.tick();
      }
    } catch (RuntimeException e) {
      log.error("bug: protocol tick failed", e);
    }
  }

  /** Merges received rumors into the store, a batch with one RocksDB write. */
  private boolean[] applyRumors(List<PeerMessage.Rumor> rumors) {
    List<Store.Write> writes = new ArrayList<>(rumors.size());
    for (PeerMessage.Rumor rumor : rumors) {
      writes.add(new Store.Write(rumor.key(), new CrdtUpdate.JoinState(rumor.delta())));
    }
    List<Store.Outcome> outcomes = store.applyAll(writes);
    boolean[] changed = new boolean[outcomes.size()];
    for (int i = 0; i < changed.length; i++) {
      Store.Outcome outcome = outcomes.get(i);
      if (outcome.refused() == null) {
        changed[i] = outcome.applied().changed();
      } else if (outcome.refused() instanceof TypeMismatchException) {
        // Two nodes created the key with different types concurrently: the replicas disagree on
        // the key's type and cannot merge. Keep ours; an operator must delete one (not yet built).
        log.error("rumor for {} dropped: {}", Store.printable(rumors.get(i).key()), outcome.refused().getMessage());
      } else {
        log.error("rumor for {} not applied", Store.printable(rumors.get(i).key()), outcome.refused());
      }
    }
    return changed;
  }

  /** A delta this node applied for a client: spread it. */
  public void replicated(ByteString key, Crdt<?> delta) {
    if (settings.rumorsEnabled()) {
      protocol.execute(() -> rumors.hot(key, delta));
    }
  }

  public String peerAddress() {
    return network.address();
  }

  /** Test-only: drop all peer traffic with these addresses (empty heals). */
  public void dropPeers(java.util.Set<String> peers) {
    network.dropPeers(peers);
  }

  /** Peer messages and bytes this node has sent since start. */
  public long[] traffic() {
    return new long[] {network.messagesSent(), network.bytesSent(), network.antiEntropyBytesSent()};
  }

  public Status status() {
    try {
      return protocol.submit(() -> new Status(membership.members(), rumors.queueLength(), rumors.rumorsSent(),
          rumors.rumorsReceived(), rumors.rumorsNew(), rumors.dropped(),
          antiEntropy == null ? List.of() : antiEntropy.lastExchanges(),
          antiEntropy == null ? 0 : antiEntropy.exchangesRun(), antiEntropy == null ? 0 : antiEntropy.keysRepaired(),
          store.tree().root())).get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("the protocol thread did not answer", e);
    }
  }

  /** Members this node sees as alive, itself included. */
  public long aliveCount() {
    return status().members().stream().filter(m -> m.status() == MemberStatus.ALIVE).count();
  }

  /** Tells the members this node is leaving; it stops taking part. */
  public synchronized void leave() {
    if (left) {
      return;
    }
    left = true;
    try {
      protocol.submit(membership::leave).get(5, TimeUnit.SECONDS);
      log.info("left the cluster");
    } catch (Exception e) {
      log.warn("could not announce the leave: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    leave();
    protocol.shutdown();
    try {
      protocol.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    network.close();
  }

  /** Stops without a leave, as a crash would: for tests of failure detection. */
  public void halt() {
    left = true;
    protocol.shutdownNow();
    network.close();
  }
}
