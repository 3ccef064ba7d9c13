package io.latticekv.tests;

import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cluster.ClusterService;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** In-process nodes joined into a cluster over real Netty peer ports on 127.0.0.1. */
final class TestCluster implements AutoCloseable {

  static final MembershipConfig MEMBERSHIP = MembershipConfig.DEFAULTS;

  final Path root;
  final List<LatticeNode> nodes = new ArrayList<>();
  final List<Integer> peerPorts = new ArrayList<>();
  final List<Integer> clientPorts = new ArrayList<>();
  String seed;
  private final boolean rumors;
  private final io.latticekv.core.antientropy.AntiEntropyConfig antiEntropy;
  /** Per node index, what the protocols see of its replica (a test makes one slow, say). */
  final java.util.Map<Integer, java.util.function.UnaryOperator<io.latticekv.core.cluster.Replica>> replicaWrappers =
      new java.util.HashMap<>();

  /** The pacing of epochs and sweeps; the defaults' 5 s epochs are slow for a test of the lifecycle. */
  io.latticekv.core.lifecycle.LifecycleConfig lifecycle = io.latticekv.core.lifecycle.LifecycleConfig.DEFAULTS;

  /** TLS on both ports and logins when set ({@link #secure()}); plaintext and open when null. */
  TestSecurity security;

  TestCluster(Path root) {
    this(root, true, io.latticekv.core.antientropy.AntiEntropyConfig.DEFAULTS);
  }

  TestCluster(Path root, boolean rumors, io.latticekv.core.antientropy.AntiEntropyConfig antiEntropy) {
    this.root = root;
    this.rumors = rumors;
    this.antiEntropy = antiEntropy;
  }

  /** This cluster with TLS on both ports and logins ({@link TestSecurity}); before it starts. */
  TestCluster secure() throws java.io.IOException {
    security = new TestSecurity(root.resolve("tls"));
    return this;
  }

  static TestCluster start(Path root, int n) throws InterruptedException {
    return start(new TestCluster(root), n);
  }

  static TestCluster start(TestCluster cluster, int n) throws InterruptedException {
    for (int i = 0; i < n; i++) {
      cluster.nodes.add(null);
      cluster.peerPorts.add(0);
      cluster.clientPorts.add(0);
      cluster.startNode(i);
    }
    return cluster;
  }

  static ClusterService.Settings settings(int peerPort, List<String> seeds, String name) {
    return settings(peerPort, seeds, name, io.latticekv.core.cluster.ClusterConfig.DEFAULTS.withMembership(MEMBERSHIP));
  }

  static ClusterService.Settings settings(int peerPort, List<String> seeds, String name,
      io.latticekv.core.cluster.ClusterConfig config) {
    return new ClusterService.Settings(new InetSocketAddress("127.0.0.1", peerPort), null, seeds, name, config,
        Limits.FRAME_BYTES_MAX, Limits.KEY_BYTES_MAX);
  }

  void startNode(int i) throws InterruptedException {
    List<String> seeds = seed == null ? List.of() : List.of(seed);
    io.latticekv.core.cluster.ClusterConfig config = io.latticekv.core.cluster.ClusterConfig.DEFAULTS
        .withMembership(MEMBERSHIP).withRumors(rumors ? RumorConfig.DEFAULTS : null).withAntiEntropy(antiEntropy)
        .withLifecycle(lifecycle);
    ClusterService.Settings settings = settings(peerPorts.get(i), seeds, "test", config)
        .withReplicaWrapper(replicaWrappers.getOrDefault(i, java.util.function.UnaryOperator.identity()));
    io.latticekv.server.security.Security nodeSecurity;
    try {
      nodeSecurity = security == null ? io.latticekv.server.security.Security.NONE : security.forNode("node" + i);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    LatticeNode node = new LatticeNode(StoreOptions.defaults(dir(i), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", clientPorts.get(i)), Limits.DEFAULTS, 1, 2, settings, nodeSecurity);
    nodes.set(i, node);
    peerPorts.set(i, Integer.parseInt(node.cluster().peerAddress().split(":")[1]));
    clientPorts.set(i, node.clientAddress().getPort());
    if (seed == null) {
      seed = node.cluster().peerAddress();
    }
  }

  Path dir(int i) {
    return root.resolve("node" + i);
  }

  String clientAddress(int i) {
    return "127.0.0.1:" + clientPorts.get(i);
  }

  /** A client builder for node {@code i}: with TLS and logged in as the admin on a secure cluster. */
  io.latticekv.client.LatticeClient.Builder client(int i) {
    io.latticekv.client.LatticeClient.Builder builder =
        io.latticekv.client.LatticeClient.builder().addresses(clientAddress(i));
    return security == null ? builder : security.client(builder, TestSecurity.ADMIN);
  }

  @Override
  public void close() {
    for (LatticeNode node : nodes) {
      if (node != null) {
        node.halt();
      }
    }
  }
}
