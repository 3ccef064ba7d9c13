package io.latticekv.server.cli;

import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.replication.ReplicationConfig;
import io.latticekv.core.storage.StatePolicy;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.security.Authenticator;
import io.latticekv.server.security.Security;
import io.latticekv.server.security.TlsContexts;
import io.latticekv.server.security.TlsFiles;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lattice server}: runs a node in the foreground until SIGTERM or Ctrl-C. */
@Command(name = "server", description = "Run a node in the foreground; SIGTERM or Ctrl-C stops it cleanly.")
final class ServerCommand implements Callable<Integer> {

  @Option(names = "--dir", required = true, paramLabel = "DIR",
      description = "Data directory; created on first use.")
  Path dir;

  @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7379",
      description = "Client port (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--sync", paramLabel = "always|batch|none", defaultValue = "batch",
      description = "When writes are fsynced before they are acknowledged. always: every write "
          + "(survives power loss, slowest); batch: group commit, one fsync shared by concurrent "
          + "writes (survives power loss); none: the OS decides (survives a process crash, not a "
          + "power loss). Default: ${DEFAULT-VALUE}.")
  String sync;

  @Option(names = "--cache-bytes", paramLabel = "BYTES", defaultValue = "" + StoreOptions.DEFAULT_CACHE_BYTES,
      description = "Bound on the cache of decoded values (default: ${DEFAULT-VALUE}, 64 MiB).")
  long cacheBytes;

  @Option(names = "--io-threads", paramLabel = "N",
      description = "Event loops serving connections; reads and unsynced writes run on them "
          + "(default: half the cores, at least 1).")
  Integer ioThreads;

  @Option(names = "--storage-threads", paramLabel = "N", defaultValue = "16",
      description = "Threads running storage work; they block on disk, so more than cores helps "
          + "with --sync always (default: ${DEFAULT-VALUE}).")
  int storageThreads;

  @Option(names = "--frame-bytes-max", paramLabel = "BYTES", defaultValue = "" + Limits.FRAME_BYTES_MAX,
      description = "Largest request frame; a larger one closes the connection (default: ${DEFAULT-VALUE}).")
  int frameBytesMax;

  @Option(names = "--key-bytes-max", paramLabel = "BYTES", defaultValue = "" + Limits.KEY_BYTES_MAX,
      description = "Longest key (default: ${DEFAULT-VALUE}).")
  int keyBytesMax;

  @Option(names = "--value-bytes-max", paramLabel = "BYTES", defaultValue = "" + Limits.VALUE_BYTES_MAX,
      description = "Largest register value or set element (default: ${DEFAULT-VALUE}).")
  int valueBytesMax;

  @Option(names = "--set-elements-max", paramLabel = "N", defaultValue = "" + Limits.SET_ELEMENTS_MAX,
      description = "Most set elements one request may add or remove (default: ${DEFAULT-VALUE}).")
  int setElementsMax;

  @Option(names = "--inflight-per-connection-max", paramLabel = "N", defaultValue = "" + Limits.INFLIGHT_PER_CONNECTION_MAX,
      description = "Outstanding requests per connection before the node stops reading it (default: ${DEFAULT-VALUE}).")
  int inflightMax;

  @Option(names = "--connections-max", paramLabel = "N", defaultValue = "" + Limits.CONNECTIONS_MAX,
      description = "Open client connections; more get an OVERLOADED error and are closed (default: ${DEFAULT-VALUE}).")
  int connectionsMax;

  @Option(names = "--idle-timeout-ms", paramLabel = "MS", defaultValue = "" + Limits.IDLE_TIMEOUT_MS,
      description = "Close a connection that sends nothing this long while no request of its runs (default: ${DEFAULT-VALUE}).")
  long idleTimeoutMs;

  @Option(names = "--input-bytes-max", paramLabel = "BYTES", defaultValue = "" + Limits.INPUT_BYTES_MAX,
      description = "Client input the node holds in memory over all connections (frames arriving, requests "
          + "unanswered); past it the oldest frame still arriving is dropped with its connection (default: ${DEFAULT-VALUE}, 256 MiB).")
  long inputBytesMax;

  @Option(names = "--inflight-bytes-per-connection-max", paramLabel = "BYTES",
      defaultValue = "" + Limits.INFLIGHT_BYTES_PER_CONNECTION_MAX,
      description = "Bytes of unanswered requests per connection before the node stops reading it (default: ${DEFAULT-VALUE}, 16 MiB).")
  long inflightBytesMax;

  @Option(names = "--partial-frame-timeout-ms", paramLabel = "MS", defaultValue = "" + Limits.PARTIAL_FRAME_TIMEOUT_MS,
      description = "A request frame must arrive whole within this long of its first byte, or the connection "
          + "is closed (default: ${DEFAULT-VALUE}).")
  long partialFrameTimeoutMs;

  @Option(names = "--peer-listen", paramLabel = "HOST:PORT",
      description = "Peer port; with it the node joins a cluster (default: none, a node on its own).")
  String peerListen;

  @Option(names = "--seeds", paramLabel = "HOST:PORT[,HOST:PORT...]", split = ",",
      description = "Peer addresses of nodes to join through; a node that is its own only seed starts a cluster.")
  java.util.List<String> seeds = new java.util.ArrayList<>();

  @Option(names = "--cluster", paramLabel = "NAME", defaultValue = "lattice",
      description = "Cluster name; peers of another cluster are refused (default: ${DEFAULT-VALUE}).")
  String clusterName;

  @Option(names = "--gossip-interval-ms", paramLabel = "MS", defaultValue = "" + RumorConfig.GOSSIP_INTERVAL_MS,
      description = "One rumor round per interval, which pushes hot rumors again (a new one is pushed at once); "
          + "shorter spreads faster with more messages (default: ${DEFAULT-VALUE}).")
  long gossipIntervalMs;

  @Option(names = "--gossip-mode", paramLabel = "push|pull|push-pull", defaultValue = RumorConfig.MODE,
      description = "Rumor exchange: push hot rumors, pull what is missing by digest, or both in one "
          + "exchange (default: ${DEFAULT-VALUE}; docs/gossip.md compares them).")
  String gossipMode;

  @Option(names = "--fanout", paramLabel = "N", defaultValue = "" + RumorConfig.FANOUT,
      description = "Peers each hot rumor is pushed to per round (default: ${DEFAULT-VALUE}).")
  int fanout;

  @Option(names = "--feedback-limit", paramLabel = "K", defaultValue = "" + RumorConfig.FEEDBACK_LIMIT,
      description = "A rumor cools after K rounds' worth of peers that already had it; higher leaves a "
          + "smaller residue for more traffic (default: ${DEFAULT-VALUE}).")
  int feedbackLimit;

  @Option(names = "--probe-interval-ms", paramLabel = "MS", defaultValue = "" + MembershipConfig.PROBE_INTERVAL_MS,
      description = "SWIM probe period; shorter detects failures sooner (default: ${DEFAULT-VALUE}).")
  long probeIntervalMs;

  @Option(names = "--probe-timeout-ms", paramLabel = "MS", defaultValue = "" + MembershipConfig.PROBE_TIMEOUT_MS,
      description = "Wait for a direct ack before probing indirectly (default: ${DEFAULT-VALUE}).")
  long probeTimeoutMs;

  @Option(names = "--members-max", paramLabel = "N", defaultValue = "" + MembershipConfig.MEMBERS_MAX,
      description = "Most cluster members this node keeps, itself included; gossip about more is ignored "
          + "with a log line. Bounds what invented members can cost (default: ${DEFAULT-VALUE}).")
  int membersMax;

  @Option(names = "--clock-drift-max-ms", paramLabel = "MS", defaultValue = "" + StatePolicy.CLOCK_DRIFT_MAX_MS,
      description = "How far ahead of this node's clock a register timestamp from a client's merge or a peer "
          + "may be; later ones are refused, never taken into the clock (default: ${DEFAULT-VALUE}).")
  long clockDriftMaxMs;

  @Option(names = "--replica-timeout-ms", paramLabel = "MS", defaultValue = "" + ReplicationConfig.TIMEOUT_MS,
      description = "How long a write at w=quorum|all or a read at r=quorum|all waits for other "
          + "replicas before it fails (default: ${DEFAULT-VALUE}).")
  long replicaTimeoutMs;

  @Option(names = "--ae-interval-ms", paramLabel = "MS", defaultValue = "" + AntiEntropyConfig.INTERVAL_MS,
      description = "One Merkle-tree anti-entropy exchange with a random live peer per interval; shorter "
          + "repairs sooner (an exchange between equal replicas is one small round trip) (default: ${DEFAULT-VALUE}).")
  long aeIntervalMs;

  @Option(names = "--ae-segments-max", paramLabel = "N", defaultValue = "" + AntiEntropyConfig.SEGMENTS_PER_EXCHANGE_MAX,
      description = "Most differing Merkle segments listed per exchange (default: ${DEFAULT-VALUE}).")
  int aeSegmentsMax;

  @Option(names = "--ae-keys-max", paramLabel = "N", defaultValue = "" + AntiEntropyConfig.KEYS_PER_EXCHANGE_MAX,
      description = "Most keys repaired per exchange; the rest wait for the next (default: ${DEFAULT-VALUE}).")
  int aeKeysMax;

  @Option(names = "--epoch-interval-ms", paramLabel = "MS", defaultValue = "5000",
      description = "Least time between two advances of the cluster epoch, which moves only once every member "
          + "was exchanged with: a deleted key's tombstone and a retired replica id leave the states about 3 "
          + "intervals after every member has them; shorter frees them sooner, for more sweeps (default: ${DEFAULT-VALUE}).")
  long epochIntervalMs;

  @Option(names = "--sweep-step-keys", paramLabel = "N", defaultValue = "256",
      description = "Keys one step of the lifecycle sweep rewrites at most (it reads at most 8 times as many) "
          + "(default: ${DEFAULT-VALUE}).")
  int sweepStepKeys;

  @Option(names = "--sweep-pause-ms", paramLabel = "MS", defaultValue = "20",
      description = "Pause between two steps of the lifecycle sweep: what it takes from the disk meanwhile "
          + "(default: ${DEFAULT-VALUE}).")
  long sweepPauseMs;

  @Option(names = "--ae-rate-mb", paramLabel = "MB", defaultValue = "64",
      description = "Most megabytes per second of states a node sends in answer to catch-up streams, and takes in "
          + "from its own; 0 for no limit. Lower leaves more of the disk and network to clients while a node "
          + "catches up, for a longer catch-up (default: ${DEFAULT-VALUE}).")
  long aeRateMb;

  @Option(names = "--ae-exchange-mb-max", paramLabel = "MB", defaultValue = "256",
      description = "Most megabytes of states one anti-entropy exchange takes in before it ends and another "
          + "starts (default: ${DEFAULT-VALUE}).")
  long aeExchangeMbMax;

  @Option(names = "--ae-exchange-ms-max", paramLabel = "MS", defaultValue = "60000",
      description = "Longest an anti-entropy exchange goes on while it finds differences (default: ${DEFAULT-VALUE}).")
  long aeExchangeMsMax;

  @Option(names = "--no-anti-entropy",
      description = "Turn Merkle-tree anti-entropy off (for testing rumors alone).")
  boolean noAntiEntropy;

  @Option(names = "--enable-fault-injection",
      description = "Test only: let clients cut this node off from chosen peers (a partition). Never in production.")
  boolean faultInjection;

  @Option(names = "--no-rumors",
      description = "Do not spread updates by rumor mongering (for testing anti-entropy alone).")
  boolean noRumors;

  @Option(names = "--resp-listen", paramLabel = "HOST:PORT",
      description = "Serve Redis clients (RESP2 and RESP3: redis-cli, redis-benchmark, Jedis, Lettuce...) on this "
          + "address, beside the native port, with the same limits, TLS and logins (docs/resp.md). Off unless given.")
  String respListen;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics (default: none).")
  String metricsListen;

  @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
      description = "error, warn, info or debug; debug logs every peer connection and exchange (default: ${DEFAULT-VALUE}).")
  String logLevel;

  @Option(names = "--config", paramLabel = "FILE",
      description = "A Java properties file of settings, one per line as NAME=VALUE with NAME an "
          + "option's name without dashes (sync=batch, peer-listen=127.0.0.1:7479); flags override it.")
  java.nio.file.Path config;

  @Option(names = "--auth-file", paramLabel = "FILE",
      description = "Users who may log in on the client port, with their roles (read, write, admin); without "
          + "it every client may do everything. Written by lattice user add; reread on change or SIGHUP.")
  java.nio.file.Path authFile;

  @picocli.CommandLine.ParentCommand Lattice root;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  /**
   * TLS when --tls-ca, --tls-cert and --tls-key are given (all three or none), logins when
   * --auth-file is.
   */
  private Security security() throws java.io.IOException {
    boolean any = root.tlsCa != null || root.tlsCert != null || root.tlsKey != null;
    TlsContexts tls = null;
    if (any) {
      tls = TlsContexts.load(new TlsFiles(root.tlsCert, root.tlsKey, root.tlsCa));
    }
    try {
      return new Security(tls, authFile == null ? null : Authenticator.open(authFile));
    } catch (java.io.IOException | RuntimeException e) {
      if (tls != null) {
        tls.close();
      }
      throw e;
    }
  }

  @Override
  public Integer call() throws Exception {
    checkConfig();
    setLogLevel(logLevel);
    SyncPolicy policy = SyncPolicy.parse(sync);
    InetSocketAddress address = parseListen(listen);
    Limits limits = new Limits(frameBytesMax, keyBytesMax, valueBytesMax, setElementsMax,
        inflightMax, connectionsMax, idleTimeoutMs, inputBytesMax, inflightBytesMax, partialFrameTimeoutMs);
    StoreOptions storeOptions = StoreOptions.defaults(dir, policy).withCacheBytes(cacheBytes)
        .withPolicy(new StatePolicy(keyBytesMax, valueBytesMax, clockDriftMaxMs));
    io.latticekv.server.cluster.ClusterService.Settings cluster = null;
    io.latticekv.core.lifecycle.LifecycleConfig lifecycle =
        new io.latticekv.core.lifecycle.LifecycleConfig(epochIntervalMs, sweepStepKeys, sweepPauseMs);
    if (peerListen != null) {
      MembershipConfig m = MembershipConfig.DEFAULTS;
      RumorConfig r = RumorConfig.DEFAULTS;
      AntiEntropyConfig ae = AntiEntropyConfig.DEFAULTS;
      ClusterConfig config = new ClusterConfig(
          new MembershipConfig(probeIntervalMs, probeTimeoutMs, m.indirectProbes(), m.suspicionMult(),
              m.retransmitMult(), m.gossipPerMessageMax(), membersMax),
          noRumors ? null : new RumorConfig(gossipIntervalMs, fanout, feedbackLimit, r.retransmitMult(),
              r.batchBytesMax(), r.queueCapacity(), RumorConfig.Mode.parse(gossipMode)),
          noAntiEntropy ? null : new AntiEntropyConfig(aeIntervalMs, aeSegmentsMax, aeKeysMax,
              ae.bytesPerMessageMax(), ae.exchangeTimeoutMs(), Math.max(1, aeExchangeMbMax) << 20, aeExchangeMsMax,
              aeRateMb << 20),
          new ReplicationConfig(replicaTimeoutMs, ReplicationConfig.PENDING_MAX));
      cluster = new io.latticekv.server.cluster.ClusterService.Settings(parseListen(peerListen), null, seeds,
          clusterName, config.withLifecycle(lifecycle), frameBytesMax, keyBytesMax);
    } else if (!seeds.isEmpty()) {
      throw new IllegalArgumentException("--seeds needs --peer-listen");
    }
    Security security = security();
    if (security.auth() != null && security.tls() == null) {
      org.slf4j.LoggerFactory.getLogger(ServerCommand.class).warn("--auth-file without TLS: passwords cross the "
          + "network in the clear (docs/security.md)");
    }
    LatticeNode node = new LatticeNode(storeOptions, address, limits,
        ioThreads != null ? ioThreads : LatticeNode.defaultIoThreads(), storageThreads, cluster, security, lifecycle);
    // SIGHUP rereads the auth file and the TLS files now (they are also watched for changes).
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
        if (security.auth() != null) {
          security.auth().reload();
        }
        if (security.tls() != null) {
          security.tls().reload();
        }
      });
    } catch (IllegalArgumentException unsupported) {
      // no SIGHUP on this platform; the files are still watched
    }
    // SIGTERM and Ctrl-C ask for a clean stop, after which the process exits 0. The shutdown hook
    // covers every other way the JVM may exit.
    CountDownLatch stopRequested = new CountDownLatch(1);
    for (String signal : new String[] {"TERM", "INT"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stopRequested.countDown());
      } catch (IllegalArgumentException unsupported) {
        // not a signal on this platform; the shutdown hook still stops the node
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "lattice-shutdown"));
    node.onStopRequest(stopRequested::countDown); // a decommission ends the process once it is done
    if (faultInjection) {
      node.enableFaultInjection();
    }
    int metricsPort = metricsListen == null ? -1 : node.startMetrics(parseListen(metricsListen));
    InetSocketAddress resp = respListen == null ? null : node.startResp(parseListen(respListen));
    System.out.println("LatticeKV node " + node.store().nodeId() + " serving clients on "
        + hostPort(node.clientAddress())
        + (node.cluster() != null ? ", peers on " + node.cluster().peerAddress() : "")
        + (resp != null ? ", Redis clients on " + hostPort(resp) : "")
        + (metricsPort > 0 ? ", metrics on " + parseListen(metricsListen).getHostString() + ":" + metricsPort : "")
        + " (data " + dir + ", sync " + policy.name().toLowerCase()
        + (security.tls() != null ? ", TLS" : "") + (security.auth() != null ? ", logins required" : "") + ")");
    System.out.flush();
    stopRequested.await();
    node.close();
    return ExitCode.OK;
  }

  /** Refuses a config file that is missing or names a setting this command does not have. */
  private void checkConfig() throws java.io.IOException {
    if (config == null) {
      return;
    }
    if (!java.nio.file.Files.isRegularFile(config)) {
      throw new IllegalArgumentException("config file " + config + " does not exist");
    }
    java.util.Properties properties = new java.util.Properties();
    try (var in = java.nio.file.Files.newBufferedReader(config)) {
      properties.load(in);
    }
    java.util.Set<String> known = new java.util.HashSet<>();
    for (picocli.CommandLine.Model.OptionSpec option : spec.options()) {
      known.add(option.longestName().replaceFirst("^-+", ""));
    }
    for (String key : properties.stringPropertyNames()) {
      if (!known.contains(key)) {
        throw new IllegalArgumentException("unknown setting '" + key + "' in " + config
            + " (settings are option names without dashes; see lattice server --help)");
      }
    }
  }

  private static void setLogLevel(String level) {
    ch.qos.logback.classic.Level parsed = ch.qos.logback.classic.Level.toLevel(level.trim().toUpperCase(), null);
    if (parsed == null) {
      throw new IllegalArgumentException("--log-level must be error, warn, info or debug, not '" + level + "'");
    }
    if (System.getProperty("lattice.log.level") == null) {
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(parsed);
    }
  }

  static InetSocketAddress parseListen(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("--listen must be HOST:PORT, got '" + hostPort + "'");
    }
    try {
      return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--listen port must be a number, got '" + hostPort + "'");
    }
  }

  static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }
}
