package io.latticekv.server.cli;

import io.latticekv.client.LatticeClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

  enum Op { incr, sadd, put, get }

  @ParentCommand Lattice root;

  @Option(names = "--op", defaultValue = "incr", description = "incr, sadd, put or get (default: ${DEFAULT-VALUE}).")
  Op op;

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
    try (LatticeClient client = LatticeClient.builder()
        .addresses(root.connect)
        .poolSize(connections)
        .ioThreads(ioThreads)
        .requestTimeout(Duration.ofMillis(root.timeoutMs))
        .build()) {
      Recorder recorder = new Recorder(3);
      AtomicLong errors = new AtomicLong();
      long start = System.nanoTime();
      long measureFrom = start + TimeUnit.SECONDS.toNanos(warmupSeconds);
      long end = measureFrom + TimeUnit.SECONDS.toNanos(durationSeconds);
      int loops = connections * inflight;
      CountDownLatch done = new CountDownLatch(loops);
      for (int i = 0; i < loops; i++) {
        new Loop(client, new SplittableRandom(i * 7919L + 1), recorder, errors, measureFrom, end, done).next();
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

    Loop(LatticeClient client, SplittableRandom random, Recorder recorder, AtomicLong errors,
        long measureFrom, long end, CountDownLatch done) {
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
      String key = op.name() + ":" + random.nextInt(keys);
      CompletableFuture<?> request = switch (op) {
        case incr -> client.incrementAsync(key, 1);
        case sadd -> client.addAsync(key, value + random.nextInt(100));
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
