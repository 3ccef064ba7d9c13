package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.SetUpdate;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * One connection, one add in flight, unique elements added to one set: the latency of an add at
 * each size given (default 1k, 10k, 100k, 1M elements), for LatticeKV (one node, {@code
 * sync=none}) and, when a Redis port is given, Redis SADD to one set of the same sizes.
 *
 * <p>At each size the set is first filled to {@code size - 1,000} with adds of 1,000 elements per
 * request (the per-request limit), then 1,000 single adds are timed: their p50 and p99 are the
 * figures at that size. A size whose fill would take longer than {@code -Dbigset.fill.s} (600)
 * seconds at the rate seen so far is skipped, and said so. Before the first size, 5,000 single adds to
 * another set warm the path up. {@code -Dbigset.lattice=false} runs Redis alone.
 *
 * <p>usage: BigSetBenchmark [--redis-port P] [SIZE...]
 */
public final class BigSetBenchmark {

  private static final int TIMED = 1_000;
  private static final int FILL_BATCH = 1_000;
  private static final int WARM_UP_ADDS = 5_000;

  private BigSetBenchmark() {}

  interface Target extends AutoCloseable {
    void add(String key, String element) throws Exception;

    void addBatch(String key, List<String> elements) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    int redisPort = 0;
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--redis-port")) {
        redisPort = Integer.parseInt(args[++i]);
      } else {
        sizes.add(Integer.parseInt(args[i].replace("_", "").replace(",", "")));
      }
    }
    if (sizes.isEmpty()) {
      sizes = List.of(1_000, 10_000, 100_000, 1_000_000);
    }
    long fillBudgetS = Long.getLong("bigset.fill.s", 600);
    if (Boolean.parseBoolean(System.getProperty("bigset.lattice", "true"))) {
      lattice(sizes, fillBudgetS);
    }
    if (redisPort > 0) {
      try (Redis redis = new Redis(redisPort)) {
        redis.command("DEL", "bigset", "warm-up");
        run("Redis", redis, sizes, fillBudgetS);
      }
    }
  }

  private static void lattice(List<Integer> sizes, long fillBudgetS) throws Exception {
    Path dir = Files.createTempDirectory("bigset");
    try (LatticeNode node = new LatticeNode(StoreOptions.defaults(dir, SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2);
        LatticeClient client = LatticeClient.builder().poolSize(1)
            .addresses("127.0.0.1:" + node.clientAddress().getPort())
            .requestTimeout(java.time.Duration.ofSeconds(120)).build()) {
      run("LatticeKV", new Target() {
        @Override
        public void add(String key, String element) {
          client.add(key, element);
        }

        @Override
        public void addBatch(String key, List<String> elements) {
          SetUpdate.Builder update = SetUpdate.newBuilder();
          elements.forEach(e -> update.addAdd(ByteString.copyFromUtf8(e)));
          client.updateSet(key, update.build(), 0);
        }

        @Override
        public void close() {}
      }, sizes, fillBudgetS);
    } finally {
      deleteTree(dir);
    }
  }

  private static void run(String system, Target target, List<Integer> sizes, long fillBudgetS) throws Exception {
    String key = "bigset";
    int held = 0;
    double fillNanosPerElement = 0;
    // Warm-up: the JIT compiles the add path before the first size is timed (it cost the first size ~2x).
    for (int i = 0; i < WARM_UP_ADDS; i++) {
      target.add("warm-up", element(i));
    }
    System.out.printf("%s: one connection, one add in flight, unique elements to one set (after %,d adds to "
        + "another set)%n", system, WARM_UP_ADDS);
    System.out.printf("| size | p50 ms | p99 ms | mean ms | fill s |%n|---|---|---|---|---|%n");
    for (int size : sizes) {
      int fillTo = Math.max(held, size - TIMED);
      double forecastS = fillNanosPerElement * (fillTo - held) / 1e9;
      if (forecastS > fillBudgetS) {
        System.out.printf("| %,d | skipped: the fill would take about %.0f s at the rate so far (-Dbigset.fill.s=%d) "
            + "| | | |%n", size, forecastS, fillBudgetS);
        break;
      }
      long fillStart = System.nanoTime();
      List<String> batch = new ArrayList<>(FILL_BATCH);
      int filled = fillTo - held;
      while (held < fillTo) {
        batch.add(element(held++));
        if (batch.size() == FILL_BATCH || held == fillTo) {
          target.addBatch(key, batch);
          batch.clear();
        }
      }
      double fillS = (System.nanoTime() - fillStart) / 1e9;
      if (filled > 0) {
        fillNanosPerElement = Math.max(fillNanosPerElement, fillS * 1e9 / filled);
      }
      Histogram micros = new Histogram(60_000_000L, 3);
      for (int i = 0; i < TIMED && held < size; i++) {
        long t0 = System.nanoTime();
        target.add(key, element(held++));
        micros.recordValue(Math.max(1, (System.nanoTime() - t0) / 1_000));
      }
      System.out.printf("| %,d | %.3f | %.3f | %.3f | %.1f |%n", size, micros.getValueAtPercentile(50) / 1e3,
          micros.getValueAtPercentile(99) / 1e3, micros.getMean() / 1e3, fillS);
    }
  }

  private static String element(int i) {
    return "member:" + i;
  }

  /** Just enough of RESP for SADD and DEL, one command at a time. */
  static final class Redis implements Target {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    Redis(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setTcpNoDelay(true);
      out = socket.getOutputStream();
      in = new BufferedInputStream(socket.getInputStream());
    }

    @Override
    public void add(String key, String element) throws IOException {
      command("SADD", key, element);
    }

    @Override
    public void addBatch(String key, List<String> elements) throws IOException {
      List<String> args = new ArrayList<>(elements.size() + 2);
      args.add("SADD");
      args.add(key);
      args.addAll(elements);
      command(args.toArray(new String[0]));
    }

    void command(String... args) throws IOException {
      StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
      for (String a : args) {
        b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
      }
      out.write(b.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      int first = in.read();
      StringBuilder line = new StringBuilder();
      for (int c = in.read(); c != '\r' && c >= 0; c = in.read()) {
        line.append((char) c);
      }
      in.read(); // '\n'
      if (first != ':' && first != '+') {
        throw new IOException("Redis answered " + (char) first + line);
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
