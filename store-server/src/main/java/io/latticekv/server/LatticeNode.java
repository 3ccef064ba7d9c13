package io.latticekv.server;

import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.lifecycle.Lifecycle;
import io.latticekv.core.lifecycle.LifecycleConfig;
import io.latticekv.core.membership.Member;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import io.latticekv.server.api.ClientServer;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cluster.ClusterService;
import io.latticekv.server.security.Security;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running node: its store, its client port and, when it has a peer port, its place in a
 * cluster. {@link #close()} is the graceful stop that SIGTERM triggers: leave the cluster, stop
 * accepting, finish in-flight requests, sync and close RocksDB.
 */
public final class LatticeNode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LatticeNode.class);

  /** How long a stop waits for in-flight requests before closing connections anyway. */
  static final long DRAIN_MILLIS = 10_000;

  private final Store store;
  private final ClusterService cluster;
  private final ClientServer clients;
  private io.latticekv.server.metrics.NodeMetrics metrics;
  private boolean closed;
  private final Security security;
  private final java.util.List<String> warnings = new java.util.ArrayList<>();
  /** The lifecycle of a node on its own; null in a cluster (the cluster drives it). */
  private final Alone alone;
  private volatile Runnable stopRequest = () -> {};

  /** What a decommission calls once its answer is on its way: the command stops the process. */
  public void onStopRequest(Runnable request) {
    this.stopRequest = request;
  }

  /**
   * Epochs and the sweep of a node on its own (docs/lifecycle.md): nobody else to wait for, so the
   * epoch moves every interval and deleted keys leave within a few. One thread; its storage work
   * runs on it (no pings to answer here).
   */
  private static final class Alone implements AutoCloseable {
    private final java.util.concurrent.ScheduledExecutorService thread =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "lattice-lifecycle");
          t.setDaemon(true);
          return t;
        });
    private volatile Lifecycle lifecycle;

    Alone(Store store, LifecycleConfig config) {
      thread.execute(() -> lifecycle = new Lifecycle(store.nodeId(), config, io.latticekv.core.clock.Clock.system(),
          new io.latticekv.core.cluster.StoreReplica(store), io.latticekv.core.cluster.StorageRunner.inline(), null,
          (key, delta, epoch) -> {}));
      thread.scheduleWithFixedDelay(() -> {
        try {
          lifecycle.tick();
        } catch (RuntimeException e) {
          log.error("bug: a lifecycle task failed", e);
        }
      }, 50, 50, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    Lifecycle.Status status() {
      Lifecycle l = lifecycle;
      return l == null ? null : l.status();
    }

    @Override
    public void close() {
      thread.shutdownNow();
      try {
        thread.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The member admin of a node in a cluster: a decommission stops writes first and the node after. */
  private final class Admin implements io.latticekv.server.api.MemberAdmin {
    private final ClusterService cluster;

    Admin(ClusterService cluster) {
      this.cluster = cluster;
    }

    @Override
    public java.util.concurrent.CompletableFuture<String> removeMember(String nodeIdHex) {
      return cluster.removeMember(nodeIdHex);
    }

    @Override
    public java.util.concurrent.CompletableFuture<String> decommission() {
      clients.processor().refuseWrites("this node is decommissioning: write to another member");
      log.warn("decommissioning: writes are refused from now on; handing this node's data to a peer");
      return cluster.decommission().whenComplete((detail, failure) -> {
        if (failure != null) {
          clients.processor().refuseWrites(null);
          log.warn("the decommission failed ({}); taking writes again", failure.getMessage());
        } else {
          // The answer goes out first; then the process stops as on SIGTERM.
          java.util.concurrent.CompletableFuture.delayedExecutor(500, java.util.concurrent.TimeUnit.MILLISECONDS)
              .execute(() -> stopRequest.run());
        }
      });
    }
  }

  /** A node on its own. */
  public LatticeNode(StoreOptions storeOptions, InetSocketAddress listen, Limits limits, int ioThreads, int storageThreads)
      throws InterruptedException {
    this(storeOptions, listen, limits, ioThreads, storageThreads, null);
  }

  /** A node in a cluster when {@code cluster} is given. */
  public LatticeNode(StoreOptions storeOptions, InetSocketAddress listen, Limits limits, int ioThreads,
      int storageThreads, ClusterService.Settings cluster) throws InterruptedException {
    this(storeOptions, listen, limits, ioThreads, storageThreads, cluster, Security.NONE);
  }

  /**
   * A node with {@code security}: TLS on both ports and logins on the client port. With TLS the
   * node's id is the one its certificate names (a new data directory takes it).
   */
  public LatticeNode(StoreOptions storeOptions, InetSocketAddress listen, Limits limits, int ioThreads,
      int storageThreads, ClusterService.Settings cluster, Security security) throws InterruptedException {
    this(storeOptions, listen, limits, ioThreads, storageThreads, cluster, security,
        cluster == null ? LifecycleConfig.DEFAULTS : cluster.config().lifecycle());
  }

  /**
   * As above, with the pacing of the cluster epoch and the sweep for a node on its own ({@code
   * lifecycle}); a node in a cluster takes its cluster settings'.
   */
  public LatticeNode(StoreOptions storeOptions, InetSocketAddress listen, Limits limits, int ioThreads,
      int storageThreads, ClusterService.Settings cluster, Security security, LifecycleConfig lifecycle)
      throws InterruptedException {
    this.security = security;
    try {
      this.store = Store.open(security.tls() == null ? storeOptions
          : storeOptions.withCertifiedNodeId(security.tls().nodeId()));
    } catch (RuntimeException e) {
      security.close(); // the node owns its security from here on, even when it cannot start
      throw e;
    }
    NodeIdConverter.set(store.nodeId().toString());
    ClusterService joined = null;
    try {
      if (cluster != null) {
        joined = new ClusterService(store, cluster, security.tls());
      }
      this.cluster = joined;
      this.clients = joined == null
          ? new ClientServer(listen, store, limits, ioThreads, storageThreads, (k, d) -> {},
              io.latticekv.server.api.Coordinator.LOCAL, this::status, security)
          : new ClientServer(listen, store, limits, ioThreads, storageThreads, joined::replicated,
              joined, this::status, security);
    } catch (InterruptedException | RuntimeException e) {
      if (joined != null) {
        joined.halt();
      }
      store.close();
      security.close();
      throw e;
    }
    if (this.cluster != null) {
      clients.processor().administerMembers(new Admin(this.cluster));
      ClusterService c = this.cluster;
      clients.processor().refuseData(() -> c.removedSelf()
          ? "this node was removed from the cluster; its data may be out of date: use another member"
          : c.discarding() ? "this node was restored from a backup older than the cluster's horizon and is discarding "
              + "its keys to catch up from the others (docs/lifecycle.md): use another member meanwhile" : null);
      this.alone = null;
    } else {
      this.alone = new Alone(store, lifecycle);
    }
    warnIfExposed(listen, clients.localAddress().getPort(), "client");
    if (cluster != null) {
      String peer = this.cluster.peerAddress();
      warnIfExposed(cluster.peerListen(), Integer.parseInt(peer.substring(peer.lastIndexOf(':') + 1)), "peer");
    }
  }

  /** A port open beyond loopback without TLS serves anyone who can reach it: say so, at start and in status. */
  private void warnIfExposed(InetSocketAddress address, int boundPort, String port) {
    if (security.tls() == null && !address.getAddress().isLoopbackAddress()) {
      String exposed = port.equals("peer") ? "anyone who reaches it can join the cluster and read and write everything"
          : security.auth() == null ? "anyone who reaches it can read and write everything"
          : "passwords and data cross the network in the clear";
      String warning = "the " + port + " port " + address.getHostString() + ":" + boundPort
          + " is open beyond loopback without TLS: " + exposed + " (docs/security.md)";
      warnings.add(warning);
      log.warn(warning);
    }
  }

  /**
   * Default number of event loops: half the cores, at least one. The other half is left to
   * RocksDB's background work, fsyncs and the garbage collector; measured on 2 cores, one event
   * loop served more requests than two (docs/benchmarks.md).
   */
  public static int defaultIoThreads() {
    return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  }

  /** Test-only: lets clients drop peer traffic with chosen peers (a partition). */
  public void enableFaultInjection() {
    if (cluster != null) {
      clients.processor().enableFaultInjection(cluster::dropPeers);
      log.warn("fault injection is enabled: clients can cut this node off from peers");
    }
  }

  /**
   * Serves Redis clients on {@code address} (the RESP port, docs/resp.md): on the client port's
   * event loops, with its limits, TLS and logins. Returns the bound address.
   */
  public synchronized InetSocketAddress startResp(InetSocketAddress address) throws InterruptedException {
    io.latticekv.server.resp.RespPort.Opened opened = io.latticekv.server.resp.RespPort.open(clients, address,
        store.sync().name().toLowerCase(java.util.Locale.ROOT));
    respStats = opened.stats();
    if (metrics != null) {
      metrics.bindResp(respStats);
    }
    warnIfExposed(address, opened.address().getPort(), "RESP");
    return opened.address();
  }

  /** What the RESP port counts, once it is open. */
  private io.latticekv.server.resp.RespStats respStats;

  /** Serves Prometheus metrics on {@code address} ({@code /metrics}); returns the bound port. */
  public synchronized int startMetrics(InetSocketAddress address) throws java.io.IOException {
    metrics = new io.latticekv.server.metrics.NodeMetrics(store, this::status);
    clients.processor().observe(metrics::request);
    if (respStats != null) {
      metrics.bindResp(respStats);
    }
    metrics.serve(address);
    return metrics.port();
  }

  /** TLS and logins of this node. */
  public Security security() {
    return security;
  }

  /** The client port's budget of buffered input (frames arriving, requests unanswered). */
  public io.latticekv.proto.wire.InputBudget clientInputBudget() {
    return clients.inputBudget();
  }

  public InetSocketAddress clientAddress() {
    return clients.localAddress();
  }

  public Store store() {
    return store;
  }

  /** The cluster layer, or null for a node on its own. */
  public ClusterService cluster() {
    return cluster;
  }

  /** What {@code lattice status} shows; built from snapshots, so it never waits for the protocol thread. */
  public StatusResponse status() {
    StatusResponse.Builder status = StatusResponse.newBuilder()
        .setNodeId(store.nodeId().toString())
        .setSync(store.sync().name().toLowerCase())
        .setKeysEstimated(store.estimatedKeyCount())
        .setClientInputBytes(clients.inputBudget().used())
        .setClientInputEvictions(clients.inputBudget().evictions())
        .addAllWarnings(warnings);
    if (cluster != null) {
      status.setPeerInputBytes(cluster.peerInputBudget().used());
      ClusterService.Status s = cluster.status();
      ClusterNode.Status n = s.node();
      long now = System.currentTimeMillis();
      status.setPeerAddress(cluster.peerAddress())
          .setRumorQueue(n.rumorQueue()).setRumorsSent(n.rumorsSent()).setRumorsReceived(n.rumorsReceived())
          .setRumorsNew(n.rumorsNew()).setRumorsDropped(n.rumorsDropped() + s.rumorsShed())
          .setMerkleRoot(String.format("%016x", cluster.tree().root()))
          .setExchangesRun(n.exchangesRun()).setKeysRepaired(n.keysRepaired()).setSetPartsSent(n.setPartsSent())
          .setPeerMessagesSent(s.messagesSent()).setPeerBytesSent(s.bytesSent())
          .setAntiEntropyBytesSent(s.antiEntropyBytesSent())
          .setSnapshotAgeMs(Math.max(0, now - n.takenAtMillis()))
          .setReplicas(n.replicaCount())
          .setPeerMessagesDropped(s.messagesDropped())
          .setPeerConnectionsRefused(s.connectionsRefused())
          .setPeerConnectionsAccepted(s.connectionsAccepted())
          .setStorageTasksRefused(s.storageTasksRefused());
      store.peerStatesRefused().forEach(status::putPeerStatesRefused);
      for (var e : n.exchanges()) {
        status.addExchanges(io.latticekv.proto.ExchangeInfo.newBuilder().setPeer(e.peer().toString())
            .setAddress(e.address()).setMatched(e.matched()).setAgoMs(Math.max(0, now - e.endedAtMillis()))
            .setSegmentsDifferent(e.segmentsDifferent()).setKeysRepaired(e.keysRepaired())
            .setKeysPushed(e.keysPushed()).setDetail(e.detail()));
      }
      status.setLifecycle(lifecycle(n.lifecycle(), n.selfRemoved()));
      if (n.catchUp() != null) {
        var p = n.catchUp();
        long elapsed = Math.max(1, now - p.startedAtMillis());
        int done = p.segmentsTotal() - p.segmentsLeft();
        double rate = p.keysReceived() * 1000.0 / elapsed;
        status.setCatchUp(io.latticekv.proto.CatchUp.newBuilder().setPeer(p.peer().toString()).setAddress(p.address())
            .setStreaming(p.streaming()).setSegmentsTotal(p.segmentsTotal()).setSegmentsLeft(p.segmentsLeft())
            .setKeysReceived(p.keysReceived()).setBytesReceived(p.bytesReceived()).setElapsedMs(elapsed)
            .setKeysPerSecond(rate).setEtaMs(done == 0 ? -1 : (long) ((double) elapsed * p.segmentsLeft() / done)));
      }
      for (Member m : n.members()) {
        boolean self = m.id().equals(store.nodeId());
        status.addMembers(MemberInfo.newBuilder().setNodeId(m.id().toString()).setAddress(m.address())
            .setStatus(m.status().name().toLowerCase()).setIncarnation(m.incarnation())
            .setLastHeardMsAgo(self ? -1 : Math.max(0, now - m.lastHeardMillis())));
      }
    }
    if (alone != null && alone.status() != null) {
      status.setLifecycle(lifecycle(alone.status(), false));
    }
    return status.build();
  }

  private io.latticekv.proto.Lifecycle lifecycle(Lifecycle.Status l, boolean removedSelf) {
    io.latticekv.proto.Lifecycle.Builder b = io.latticekv.proto.Lifecycle.newBuilder().setEpoch(l.epoch())
        .setParticipants(l.participants()).setFencedMessages(l.fencedMessages()).setFencedRumors(l.fencedRumors())
        .setEpochsAdvanced(l.epochsAdvanced()).setSweepPasses(l.sweepPasses()).setLastPassKeys(l.lastPassKeys())
        .setTombstones(l.lastPassDeadLives()).setRetiredMarks(l.lastPassRetiredMarks())
        .setRetiredToPrune(l.retiredToPrune()).setKeysCollected(store.keysCollected())
        .setKeysDiscarded(l.keysDiscarded()).setDecommission(l.decommission()).setRemovedSelf(removedSelf);
    l.waitingFor().forEach(id -> b.addWaitingFor(id.toString()));
    for (var u : l.removed()) {
      b.addRemoved(MemberInfo.newBuilder().setNodeId(u.id().toString()).setAddress(u.address())
          .setStatus("removed").setIncarnation(u.incarnation()).setLastHeardMsAgo(-1));
    }
    return b.build();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (cluster != null) {
      cluster.leave();
    }
    if (alone != null) {
      alone.close();
    }
    log.info("stopping: no new connections, finishing {} in-flight requests", clients.inflight());
    clients.close(DRAIN_MILLIS);
    if (cluster != null) {
      cluster.close();
    }
    if (metrics != null) {
      metrics.close();
    }
    store.close();
    security.close();
    log.info("stopped");
  }

  /** Stops at once, without a leave or a drain: what a crash looks like to the peers. */
  public synchronized void halt() {
    if (closed) {
      return;
    }
    closed = true;
    if (cluster != null) {
      cluster.halt();
    }
    if (alone != null) {
      alone.close();
    }
    clients.close(0);
    if (metrics != null) {
      metrics.close();
    }
    store.close();
    security.close();
  }
}
