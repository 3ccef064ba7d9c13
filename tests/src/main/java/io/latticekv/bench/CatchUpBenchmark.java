package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cluster.ClusterService;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A node joins empty beside one holding KEYS keys (counters, small sets and registers mixed):
 * the time until their Merkle roots are equal, keys/s and MB/s of the catch-up, and the serving
 * node's client throughput (increments at 16 in flight from one connection) during the catch-up
 * against before it. Default settings unless {@code -Dae.*} says otherwise; in one JVM on loopback.
 *
 * <p>Run: {@code bench/catch-up KEYS...} (default 100000).
 */
public final class CatchUpBenchmark {

  public static void main(String[] args) throws Exception {
    long[] sizes = args.length == 0 ? new long[] {100_000} : java.util.Arrays.stream(args).mapToLong(Long::parseLong).toArray();
    for (long keys : sizes) {
      run(keys);
    }
  }

  /** {@code -Dcatchup.rate.mb=N}: the nodes' --ae-rate-mb (default: the default, 64). */
  private static final long RATE_MB = Long.getLong("catchup.rate.mb", AntiEntropyConfig.RATE_BYTES_PER_SECOND >> 20);

  private static ClusterService.Settings settings(List<String> seeds) {
    ClusterConfig config = ClusterConfig.DEFAULTS.withAntiEntropy(AntiEntropyConfig.DEFAULTS.withRate(RATE_MB << 20));
    return new ClusterService.Settings(new InetSocketAddress("127.0.0.1", 0), null, seeds, "bench",
        config, Limits.FRAME_BYTES_MAX, Limits.KEY_BYTES_MAX);
  }

  /** Writes the keys straight into the store, in batches: a third counters, a third small sets, a third registers. */
  private static void load(Store store, long keys) {
    List<Store.Write> batch = new ArrayList<>();
    for (long k = 0; k < keys; k++) {
      ByteString key = ByteString.copyFromUtf8("key:" + k);
      CrdtUpdate update = switch ((int) (k % 3)) {
        case 0 -> new CrdtUpdate.CounterAdd(k + 1);
        case 1 -> new CrdtUpdate.SetUpdate(List.of(ByteString.copyFromUtf8("a" + k), ByteString.copyFromUtf8("b")),
            List.of(), Optional.empty());
        default -> new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("value-" + k));
      };
      batch.add(new Store.Write(key, update, Store.Origin.CLIENT));
      if (batch.size() == 1_000) {
        store.applyAll(batch);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      store.applyAll(batch);
    }
  }

  /** Increments per second at node {@code port} for {@code millis}, 16 in flight. */
  private static double throughput(int port, long millis) throws Exception {
    return throughput(port, millis, () -> false);
  }

  /** As above, stopping early when {@code stop} says so. */
  private static double throughput(int port, long millis, java.util.function.BooleanSupplier stop) throws Exception {
    try (LatticeClient client = LatticeClient.builder().addresses("127.0.0.1:" + port).build()) {
      Semaphore inflight = new Semaphore(16);
      AtomicLong done = new AtomicLong();
      long end = System.nanoTime() + millis * 1_000_000;
      long start = System.nanoTime();
      long i = 0;
      while (System.nanoTime() < end && !stop.getAsBoolean()) {
        inflight.acquire();
        client.incrementAsync("load:" + (i++ % 1000), 1).whenComplete((v, e) -> {
          done.incrementAndGet();
          inflight.release();
        });
      }
      inflight.acquire(16);
      return done.get() / ((System.nanoTime() - start) / 1e9);
    }
  }

  /**
   * {@code -Dcatchup.core=N}: the new node runs in a process of its own pinned to core N (taskset),
   * so that its work does not take the serving node's CPU; run the benchmark itself pinned to the
   * other cores (bench/catch-up does, on a machine with two cores or more). Unset: in this JVM.
   */
  private static final String NEW_NODE_CORE = System.getProperty("catchup.core", "");

  /** The node that joins empty: in this JVM, or a process of its own. */
  private interface Joiner extends AutoCloseable {
    long root() throws Exception;

    long keys() throws Exception;

    String stored();

    @Override
    void close() throws Exception;
  }

  private static Joiner join(Path dir, String seed) throws Exception {
    if (NEW_NODE_CORE.isEmpty()) {
      LatticeNode b = new LatticeNode(StoreOptions.defaults(dir, SyncPolicy.NONE),
          new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings(List.of(seed)));
      return new Joiner() {
        public long root() {
          return b.cluster().tree().root();
        }

        public long keys() {
          return b.store().estimatedKeyCount();
        }

        public String stored() {
          return String.format("%,d keys stored as they came (%,d table files ingested)", b.store().keysStoredAsStreamed(),
              b.store().tablesIngested());
        }

        public void close() {
          b.close();
        }
      };
    }
    int clientPort = freePort();
    int peerPort = freePort();
    List<String> command = List.of("taskset", "-c", NEW_NODE_CORE, Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-Xmx4g", "-Dlattice.log.level=WARN", "-cp", System.getProperty("java.class.path"),
        "io.latticekv.server.cli.Lattice", "server", "--dir", dir.toString(), "--listen", "127.0.0.1:" + clientPort,
        "--peer-listen", "127.0.0.1:" + peerPort, "--seeds", seed, "--cluster", "bench", "--sync", "none",
        "--ae-rate-mb", Long.toString(RATE_MB));
    Process process = new ProcessBuilder(command).inheritIO().start();
    LatticeClient client = connect(clientPort, process);
    return new Joiner() {
      public long root() {
        return Long.parseUnsignedLong(client.status().getMerkleRoot(), 16);
      }

      public long keys() {
        return client.status().getKeysEstimated();
      }

      public String stored() {
        return "(a process of its own on core " + NEW_NODE_CORE + ")";
      }

      public void close() throws Exception {
        client.close();
        process.destroy();
        if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
      }
    };
  }

  /**
   * The parts of the other bootstrap issue 15 names, measured on the full node's directory: the
   * bytes a copy of its files (a RocksDB checkpoint) would move, and how long a node takes to open
   * such a copy (RocksDB's open and the Merkle tree rebuilt from every key). A checkpoint itself is
   * hard links (no time to speak of); the transfer is estimated at the catch-up rate.
   */
  private static void checkpointEstimate(Path full) throws Exception {
    Path copy = full.resolveSibling("copy");
    long bytes = 0;
    try (var paths = Files.walk(full)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = copy.resolve(full.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
          bytes += Files.size(p);
        }
      }
    }
    long start = System.nanoTime();
    try (Store store = Store.open(StoreOptions.defaults(copy, SyncPolicy.NONE))) {
      double open = (System.nanoTime() - start) / 1e9;
      System.out.printf("  a checkpoint bootstrap instead: %,d bytes of files (%.1f s at %d MB/s), opened with its "
          + "Merkle tree rebuilt in %.1f s: about %.1f s in all%n", bytes, bytes / (RATE_MB * 1e6), RATE_MB, open,
          bytes / (RATE_MB * 1e6) + open);
    }
  }

  /** Waits (at most a minute) for the store's flushes and compactions: a throughput measured beside them says little. */
  private static void settle(Store store) {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (store.backgroundWorkPending() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(100_000_000);
    }
  }

  private static LatticeClient connect(int port, Process process) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      LatticeClient client = LatticeClient.builder().addresses("127.0.0.1:" + port).build();
      try {
        client.status();
        return client;
      } catch (RuntimeException notYet) {
        client.close();
        if (System.nanoTime() > deadline || !process.isAlive()) {
          throw new IllegalStateException("the new node did not start", notYet);
        }
        LockSupport.parkNanos(100_000_000);
      }
    }
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  static void run(long keys) throws Exception {
    Path root = Files.createTempDirectory("catch-up");
    LatticeNode a = new LatticeNode(StoreOptions.defaults(root.resolve("a"), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings(List.of()));
    long loadStart = System.nanoTime();
    load(a.store(), keys);
    System.out.printf("catch-up %,d keys: loaded in %.1f s%n", keys, (System.nanoTime() - loadStart) / 1e9);
    int port = a.clientAddress().getPort();
    throughput(port, 3_000); // warms the JIT up: the first seconds of a JVM say little
    settle(a.store());
    double before = throughput(port, 5_000);
    long bytesBefore = a.status().getAntiEntropyBytesSent();
    long start = System.nanoTime();
    Joiner b = join(root.resolve("b"), a.cluster().peerAddress());
    AtomicBoolean caughtUp = new AtomicBoolean();
    CompletableFuture<Double> during = CompletableFuture.supplyAsync(() -> {
      try {
        return throughput(port, 3_000, caughtUp::get);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    long deadline = System.nanoTime() + 3_600_000_000_000L;
    long lastReport = System.nanoTime();
    long poll = NEW_NODE_CORE.isEmpty() ? 5_000_000 : 50_000_000; // a status request per poll to a process
    while (a.cluster().tree().root() != b.root()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no catch-up within an hour");
      }
      if (System.nanoTime() - lastReport > 10_000_000_000L) {
        lastReport = System.nanoTime();
        System.out.printf("  ... %.0f s: %,d keys at the new node%n", (lastReport - start) / 1e9, b.keys());
      }
      LockSupport.parkNanos(poll);
    }
    caughtUp.set(true);
    double seconds = (System.nanoTime() - start) / 1e9;
    long bytes = a.status().getAntiEntropyBytesSent() - bytesBefore;
    double whileCatchingUp = during.get();
    settle(a.store());
    double after = throughput(port, 5_000);
    System.out.printf("[rate %d MB/s%s] catch-up %,d keys: identical roots after %.1f s: %,.0f keys/s, %.1f MB/s (%,d "
        + "bytes of anti-entropy from the full node); its increments/s %,.0f before, %,.0f during (the first 3 s at "
        + "most), %,.0f after: during / mean of before and after %.0f %%%n", RATE_MB,
        NEW_NODE_CORE.isEmpty() ? "" : ", new node on core " + NEW_NODE_CORE, keys, seconds, keys / seconds,
        bytes / seconds / 1e6, bytes, before, whileCatchingUp, after, 200 * whileCatchingUp / (before + after));
    System.out.println("  the new node: " + b.stored());
    b.close();
    a.close();
    if (Boolean.getBoolean("catchup.checkpoint")) {
      checkpointEstimate(root.resolve("a"));
    }
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
