package io.latticekv.tests;

import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/** An in-process node on 127.0.0.1, for tests. */
final class TestNode implements AutoCloseable {

  final Path dir;
  final LatticeNode node;

  private TestNode(Path dir, LatticeNode node) {
    this.dir = dir;
    this.node = node;
  }

  static TestNode start(Path dir, int port) throws InterruptedException {
    return start(dir, port, Limits.DEFAULTS);
  }

  static TestNode start(Path dir, int port, Limits limits) throws InterruptedException {
    LatticeNode node = new LatticeNode(StoreOptions.defaults(dir, SyncPolicy.BATCH),
        new InetSocketAddress("127.0.0.1", port), limits, 1, 4);
    return new TestNode(dir, node);
  }

  int port() {
    return node.clientAddress().getPort();
  }

  String address() {
    return "127.0.0.1:" + port();
  }

  @Override
  public void close() {
    node.close();
  }
}
