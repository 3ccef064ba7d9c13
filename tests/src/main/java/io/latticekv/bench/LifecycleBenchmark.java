package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.lifecycle.LifecycleConfig;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cluster.ClusterService;
import io.latticekv.server.security.Security;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.LockSupport;

/**
 * What the lifecycle (docs/lifecycle.md) costs and saves:
 *
 * <ol>
 *   <li>a counter written by 3 nodes, each restarted {@code restarts} times and writing once in
 *       every life: the counter's replica entries and encoded bytes once the restarts are over with
 *       pruning held off (an epoch interval of an hour), then after the nodes restart with 200 ms
 *       epochs and pruning runs, and how long that took;
 *   <li>deletes per second on one node ({@code keys} counters deleted with 64 in flight), and how
 *       long until their tombstones are collected.
 * </ol>
 *
 * <p>Run: {@code bench/lifecycle [restarts] [keys]} (default 100 and 100,000).
 */
public final class LifecycleBenchmark {

  private static final LifecycleConfig HELD = new LifecycleConfig(3_600_000, 256, 20);
  private static final LifecycleConfig FAST = new LifecycleConfig(200, 256, 5);
  private static final AntiEntropyConfig AE = new AntiEntropyConfig(200, 64, 1_000, 1 << 20, 2_000);
  private static final ByteString COUNTER = ByteString.copyFromUtf8("c");

  public static void main(String[] args) throws Exception {
    int restarts = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int keys = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
    pruning(restarts);
    deletes(keys);
  }

  // ---------------------------------------------------------------- pruning after restarts

  private static final class Cluster {
    final Path root;
    final int[] peerPorts;
    final LatticeNode[] nodes;

    Cluster(Path root, int n) throws Exception {
      this.root = root;
      this.peerPorts = new int[n];
      this.nodes = new LatticeNode[n];
      for (int i = 0; i < n; i++) {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
          peerPorts[i] = s.getLocalPort();
        }
      }
    }

    LatticeNode start(int i, LifecycleConfig lifecycle) throws Exception {
      List<String> seeds = new ArrayList<>();
      for (int j = 0; j < peerPorts.length; j++) {
        if (j != i) {
          seeds.add("127.0.0.1:" + peerPorts[j]);
        }
      }
      ClusterConfig config = ClusterConfig.DEFAULTS.withAntiEntropy(AE).withLifecycle(lifecycle);
      ClusterService.Settings settings = new ClusterService.Settings(new InetSocketAddress("127.0.0.1", peerPorts[i]),
          null, seeds, "bench", config, Limits.FRAME_BYTES_MAX, Limits.KEY_BYTES_MAX);
      nodes[i] = new LatticeNode(StoreOptions.defaults(root.resolve("n" + i), SyncPolicy.NONE),
          new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings, Security.NONE, lifecycle);
      return nodes[i];
    }

    boolean allAlive() {
      for (LatticeNode node : nodes) {
        if (node == null || node.status().getMembersList().stream().filter(m -> m.getStatus().equals("alive")).count()
            != nodes.length) {
          return false;
        }
      }
      return true;
    }

    boolean agree() {
      long root0 = nodes[0].cluster().tree().root();
      for (LatticeNode node : nodes) {
        if (node.cluster().tree().root() != root0) {
          return false;
        }
      }
      return true;
    }

    void close() {
      for (LatticeNode node : nodes) {
        if (node != null) {
          node.close();
        }
      }
    }
  }

  private static void await(String what, long seconds, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + " did not happen within " + seconds + " s");
      }
      LockSupport.parkNanos(20_000_000);
    }
  }

  private static void increment(LatticeNode node) {
    try (LatticeClient client = LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort())
        .build()) {
      client.increment("c", 1);
    }
  }

  static void pruning(int restarts) throws Exception {
    Path root = Files.createTempDirectory("lifecycle-bench");
    Cluster cluster = new Cluster(root, 3);
    for (int i = 0; i < 3; i++) {
      cluster.start(i, HELD);
    }
    await("the cluster forming", 60, cluster::allAlive);
    long start = System.nanoTime();
    for (int r = 0; r < restarts; r++) {
      for (int i = 0; i < 3; i++) {
        increment(cluster.nodes[i]);
        cluster.nodes[i].close();
        cluster.start(i, HELD);
      }
      await("the cluster re-forming", 60, cluster::allAlive);
    }
    for (int i = 0; i < 3; i++) {
      increment(cluster.nodes[i]); // and once in the last life
    }
    double restartSeconds = (System.nanoTime() - start) / 1e9;
    await("the replicas agreeing", 120, cluster::agree);
    Lives before = cluster.nodes[0].store().get(COUNTER).orElseThrow();
    // Pruning on: every node restarts once more with fast epochs.
    for (int i = 0; i < 3; i++) {
      cluster.nodes[i].close();
      cluster.start(i, FAST);
    }
    await("the cluster re-forming", 60, cluster::allAlive);
    long pruneStart = System.nanoTime();
    await("pruning", 300, () -> {
      for (LatticeNode node : cluster.nodes) {
        Lives s = node.store().get(COUNTER).orElse(Lives.empty());
        if (s.replicaIds().size() > 4) {
          return false;
        }
      }
      return cluster.agree();
    });
    double pruneSeconds = (System.nanoTime() - pruneStart) / 1e9;
    Lives after = cluster.nodes[0].store().get(COUNTER).orElseThrow();
    cluster.close();
    System.out.printf("restarts: 3 nodes x %d restarts in %.0f s; counter value %d before, %d after%n", restarts,
        restartSeconds, before.counterValue(), after.counterValue());
    System.out.println("| counter state | replica entries | encoded bytes |");
    System.out.println("|---|---|---|");
    System.out.printf("| after %d lives per node, pruning held off | %d | %d |%n", restarts + 1,
        before.replicaIds().size(), before.encode().length);
    System.out.printf("| after pruning (%.1f s, 200 ms epochs) | %d | %d |%n", pruneSeconds,
        after.replicaIds().size(), after.encode().length);
  }

  // ---------------------------------------------------------------- deletes per second

  static void deletes(int keys) throws Exception {
    Path root = Files.createTempDirectory("lifecycle-deletes");
    LatticeNode node = new LatticeNode(StoreOptions.defaults(root, SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, null, Security.NONE, FAST);
    try (LatticeClient client = LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort())
        .build()) {
      Semaphore inflight = new Semaphore(64);
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        inflight.acquire();
        all.add(client.incrementAsync("k" + k, 1).whenComplete((v, e) -> inflight.release()));
      }
      CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).join();
      all.clear();
      long start = System.nanoTime();
      for (int k = 0; k < keys; k++) {
        inflight.acquire();
        all.add(client.deleteAsync("k" + k).whenComplete((v, e) -> inflight.release()));
      }
      CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).join();
      double seconds = (System.nanoTime() - start) / 1e9;
      long collectStart = System.nanoTime();
      await("collection of every tombstone", 600, () -> node.store().keysCollected() >= keys);
      double collect = (System.nanoTime() - collectStart) / 1e9;
      System.out.printf("deletes: %d keys on one node, 64 in flight: %.0f deletes/s (%.1f s); every tombstone "
          + "collected %.1f s later (200 ms epochs)%n", keys, keys / seconds, seconds, collect);
    } finally {
      node.close();
    }
  }
}
