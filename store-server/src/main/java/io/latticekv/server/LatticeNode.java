package io.latticekv.server;

import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.server.api.ClientServer;
import io.latticekv.server.api.Limits;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running node: its store and its client port. {@link #close()} is the graceful stop that
 * SIGTERM triggers: stop accepting, finish in-flight requests, sync and close RocksDB.
 */
public final class LatticeNode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LatticeNode.class);

  /**
   * Default number of event loops: half the cores, at least one. The other half is left to
   * RocksDB's background work, fsyncs and the garbage collector; measured on 2 cores, one event
   * loop served more requests than two (docs/benchmarks.md).
   */
  public static int defaultIoThreads() {
    return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  }

  /** How long a stop waits for in-flight requests before closing connections anyway. */
  static final long DRAIN_MILLIS = 10_000;

  private final Store store;
  private final ClientServer clients;
  private boolean closed;

  public LatticeNode(StoreOptions storeOptions, InetSocketAddress listen, Limits limits, int ioThreads, int storageThreads)
      throws InterruptedException {
    this.store = Store.open(storeOptions);
    try {
      this.clients = new ClientServer(listen, store, limits, ioThreads, storageThreads);
    } catch (InterruptedException | RuntimeException e) {
      store.close();
      throw e;
    }
  }

  public InetSocketAddress clientAddress() {
    return clients.localAddress();
  }

  public Store store() {
    return store;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info("stopping: no new connections, finishing {} in-flight requests", clients.inflight());
    clients.close(DRAIN_MILLIS);
    store.close();
    log.info("stopped");
  }
}
