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

  TestCluster(Path root) {
    this.root = root;
  }

  static TestCluster start(Path root, int n) throws InterruptedException {
    TestCluster cluster = new TestCluster(root);
    for (int i = 0; i < n; i++) {
      cluster.nodes.add(null);
      cluster.peerPorts.add(0);
      cluster.clientPorts.add(0);
      cluster.startNode(i);
    }
    return cluster;
  }

  static ClusterService.Settings settings(int peerPort, List<String> seeds, String name) {
    return new ClusterService.Settings(new InetSocketAddress("127.0.0.1", peerPort), null, seeds, name,
        MEMBERSHIP, RumorConfig.DEFAULTS, true, 4 << 20, 2_000);
  }

  void startNode(int i) throws InterruptedException {
    List<String> seeds = seed == null ? List.of() : List.of(seed);
    LatticeNode node = new LatticeNode(StoreOptions.defaults(root.resolve("node" + i), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", clientPorts.get(i)), Limits.DEFAULTS, 1, 2,
        settings(peerPorts.get(i), seeds, "test"));
    nodes.set(i, node);
    peerPorts.set(i, Integer.parseInt(node.cluster().peerAddress().split(":")[1]));
    clientPorts.set(i, node.clientAddress().getPort());
    if (seed == null) {
      seed = node.cluster().peerAddress();
    }
  }

  String clientAddress(int i) {
    return "127.0.0.1:" + clientPorts.get(i);
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
