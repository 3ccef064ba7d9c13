package io.latticekv.server.cli;

import io.latticekv.client.LatticeClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code lattice bench}: a closed-loop load generator. C connections each keep D requests in
 * flight for a duration; every answer starts the next request. Prints a progress line per second
 * and the throughput and latency percentiles (HdrHistogram) at the end.
 */
@Command(name = "bench", description = "Load a node with C connections x D requests in flight; print ops/s and latency.")
final class BenchCommand implements Callable<Integer> {

  enum Op { incr, sadd, srem, put, get, mix }

  enum Distribution { uniform, zipfian }

  @ParentCommand Lattice root;

  @Option(names = "--op", defaultValue = "incr",
      description = "incr, sadd, srem, put, get, or mix (a quarter each of incr, sadd, put and get). srem removes from "
          + "the sets sadd fills; get reads the keys put writes (default: ${DEFAULT-VALUE}).")
  Op op;

  @Option(names = "--distribution", defaultValue = "uniform",
      description = "Key choice: uniform, or zipfian (YCSB's constant 0.99: a few keys take most requests) (default: ${DEFAULT-VALUE}).")
  Distribution distribution;

  @Option(names = {"-c", "--connections"}, defaultValue = "50", description = "Connections (default: ${DEFAULT-VALUE}).")
  int connections;

  @Option(names = {"-d", "--inflight"}, defaultValue = "1", description = "Requests in flight per connection (default: ${DEFAULT-VALUE}).")
  int inflight;

  @Option(names = "--duration-s", defaultValue = "10", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
  int durationSeconds;

  @Option(names = "--io-threads", defaultValue = "1",
      description = "Client I/O threads; one keeps every connection's callbacks on one thread (default: ${DEFAULT-VALUE}).")
  int ioThreads;

  @Option(names = "--warmup-s", defaultValue = "10", description = "Unmeasured seconds first, while both JVMs compile the hot paths (default: ${DEFAULT-VALUE}).")
  int warmupSeconds;

  @Option(names = "--keys", defaultValue = "10000", description = "Distinct keys, chosen uniformly (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--value-bytes", defaultValue = "16", description = "Register value / set element size (default: ${DEFAULT-VALUE}).")
  int valueBytes;

  @Option(names = "--out", paramLabel = "FILE", description = "Also write the result as JSON to FILE.")
  Path out;

  @Override
  public Integer call() throws Exception {
    // --connect, --timeout-ms, --w, --r, TLS and the user as for every command
    try (LatticeClient client = root.clientBuilder().poolSize(connections).ioThreads(ioThreads).build()) {
      Recorder recorder = new Recorder(3);
      AtomicLong errors = new AtomicLong();
      long start = System.nanoTime();
      long measureFrom = start + TimeUnit.SECONDS.toNanos(warmupSeconds);
      long end = measureFrom + TimeUnit.SECONDS.toNanos(durationSeconds);
      Zipf zipf = distribution == Distribution.zipfian ? new Zipf(keys, 0.99) : null;
      int loops = connections * inflight;
      CountDownLatch done = new CountDownLatch(loops);
      for (int i = 0; i < loops; i++) {
        new Loop(client, new SplittableRandom(i * 7919L + 1), recorder, errors, measureFrom, end, done, zipf).next();
      }
      Histogram total = new Histogram(3);
      Histogram interval = null;
      var outStream = root.spec.commandLine().getOut();
      while (!done.await(1, TimeUnit.SECONDS)) {
        interval = recorder.getIntervalHistogram(interval);
        if (System.nanoTime() > measureFrom) {
          total.add(interval);
        }
        outStream.printf(Locale.ROOT, "%4ds  %,10d ops/s  p50 %6.2f ms  p99 %6.2f ms  errors %d%n",
            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), interval.getTotalCount(),
            interval.getValueAtPercentile(50) / 1e6, interval.getValueAtPercentile(99) / 1e6, errors.get());
      }
      total.add(recorder.getIntervalHistogram());
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("op", op.name());
      result.put("distribution", distribution.name());
      result.put("connections", connections);
      result.put("inflight", inflight);
      result.put("seconds", durationSeconds);
      result.put("ops", total.getTotalCount());
      result.put("ops_per_s", total.getTotalCount() / (double) durationSeconds);
      result.put("p50_ms", total.getValueAtPercentile(50) / 1e6);
      result.put("p99_ms", total.getValueAtPercentile(99) / 1e6);
      result.put("p999_ms", total.getValueAtPercentile(99.9) / 1e6);
      result.put("errors", errors.get());
      String json = Json.write(result);
      outStream.printf(Locale.ROOT, "%s c=%d d=%d: %,.0f ops/s, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, %d errors%n",
          op, connections, inflight, (double) result.get("ops_per_s"), (double) result.get("p50_ms"),
          (double) result.get("p99_ms"), (double) result.get("p999_ms"), errors.get());
      if (root.json) {
        outStream.println(json);
      }
      if (out != null) {
        Files.writeString(out, json + "\n");
      }
      return errors.get() == 0 ? ExitCode.OK : ExitCode.REFUSED;
    }
  }

  private static final Op[] MIX = {Op.incr, Op.sadd, Op.put, Op.get};

  /**
   * Zipfian key choice as in YCSB (Gray et al., "Quickly Generating Billion-Record Synthetic
   * Databases"): rank r is drawn with probability proportional to 1 / r^theta.
   */
  static final class Zipf {
    private final int n;
    private final double theta;
    private final double alpha;
    private final double zetan;
    private final double eta;

    Zipf(int n, double theta) {
      this.n = n;
      this.theta = theta;
      double zeta2 = 1 + Math.pow(0.5, theta);
      double z = 0;
      for (int i = 1; i <= n; i++) {
        z += 1 / Math.pow(i, theta);
      }
      this.zetan = z;
      this.alpha = 1 / (1 - theta);
      this.eta = (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan);
    }

    int next(SplittableRandom random) {
      double u = random.nextDouble();
      double uz = u * zetan;
      if (uz < 1) {
        return 0;
      }
      if (uz < 1 + Math.pow(0.5, theta)) {
        return 1;
      }
      return (int) Math.min(n - 1, n * Math.pow(eta * u - eta + 1, alpha));
    }
  }

  /** One closed loop: a request, then on its answer the next, until the end. */
  private final class Loop {
    private final LatticeClient client;
    private final SplittableRandom random;
    private final Recorder recorder;
    private final AtomicLong errors;
    private final long measureFrom;
    private final long end;
    private final CountDownLatch done;
    private final String value;
    private final Zipf zipf;

    Loop(LatticeClient client, SplittableRandom random, Recorder recorder, AtomicLong errors,
        long measureFrom, long end, CountDownLatch done, Zipf zipf) {
      this.zipf = zipf;
      this.client = client;
      this.random = random;
      this.recorder = recorder;
      this.errors = errors;
      this.measureFrom = measureFrom;
      this.end = end;
      this.done = done;
      this.value = "v".repeat(Math.max(1, valueBytes));
    }

    void next() {
      long sent = System.nanoTime();
      if (sent >= end) {
        done.countDown();
        return;
      }
      Op kind = op == Op.mix ? MIX[random.nextInt(MIX.length)] : op;
      int k = zipf == null ? random.nextInt(keys) : zipf.next(random);
      // Removes work on the sets adds made; gets read the registers puts wrote (run put first to
      // read existing values, as redis-benchmark's GET reads what its SET wrote).
      String key = (kind == Op.srem ? Op.sadd : kind == Op.get ? Op.put : kind) + ":" + k;
      CompletableFuture<?> request = switch (kind) {
        case incr -> client.incrementAsync(key, 1);
        case sadd -> client.addAsync(key, value + random.nextInt(100));
        case srem -> client.removeAsync(key, value + random.nextInt(100));
        case mix -> throw new IllegalStateException("mix picks another op");
        case put -> client.putAsync(com.google.protobuf.ByteString.copyFromUtf8(key),
            com.google.protobuf.ByteString.copyFromUtf8(value));
        case get -> client.getAsync(com.google.protobuf.ByteString.copyFromUtf8(key));
      };
      request.whenComplete((answer, failure) -> {
        long now = System.nanoTime();
        if (failure != null) {
          errors.incrementAndGet();
        } else if (sent >= measureFrom) {
          recorder.recordValue(now - sent);
        }
        next();
      });
    }
  }

}
