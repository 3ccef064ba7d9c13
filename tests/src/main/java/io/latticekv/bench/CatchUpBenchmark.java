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

  static void run(long keys) throws Exception {
    Path root = Files.createTempDirectory("catch-up");
    LatticeNode a = new LatticeNode(StoreOptions.defaults(root.resolve("a"), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings(List.of()));
    long loadStart = System.nanoTime();
    load(a.store(), keys);
    System.out.printf("catch-up %,d keys: loaded in %.1f s%n", keys, (System.nanoTime() - loadStart) / 1e9);
    int port = a.clientAddress().getPort();
    double before = throughput(port, 5_000);
    long bytesBefore = a.status().getAntiEntropyBytesSent();
    long start = System.nanoTime();
    LatticeNode b = new LatticeNode(StoreOptions.defaults(root.resolve("b"), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings(List.of(a.cluster().peerAddress())));
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
    while (a.cluster().tree().root() != b.cluster().tree().root()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no catch-up within an hour");
      }
      if (System.nanoTime() - lastReport > 10_000_000_000L) {
        lastReport = System.nanoTime();
        System.out.printf("  ... %.0f s: %,d keys at the new node%n", (lastReport - start) / 1e9,
            b.store().estimatedKeyCount());
      }
      LockSupport.parkNanos(5_000_000);
    }
    caughtUp.set(true);
    double seconds = (System.nanoTime() - start) / 1e9;
    long bytes = a.status().getAntiEntropyBytesSent() - bytesBefore;
    double whileCatchingUp = during.get();
    System.out.printf("[rate %d MB/s] catch-up %,d keys: identical roots after %.1f s: %,.0f keys/s, %.1f MB/s (%,d bytes of "
        + "anti-entropy from the full node); its increments/s %,.0f before, %,.0f during (the first 3 s at most; %.0f %%)%n",
        RATE_MB, keys, seconds, keys / seconds, bytes / seconds / 1e6, bytes, before, whileCatchingUp,
        100 * whileCatchingUp / before);
    System.out.printf("  the new node stored %,d keys as they came (%,d table files ingested), merged the rest%n",
        b.store().keysStoredAsStreamed(), b.store().tablesIngested());
    if (Boolean.getBoolean("catchup.debug")) {
      a.cluster().status().node().exchanges().forEach(o -> System.out.println("  a: " + o));
      b.cluster().status().node().exchanges().forEach(o -> System.out.println("  b: " + o));
    }
    b.close();
    a.close();
  }
}
