package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
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
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Time from a write's acknowledgement at its coordinator to its visibility at every node, and
 * the peer messages and bytes each update costs, for clusters of N nodes in one JVM on loopback
 * with default settings. Writes are made one at a time at random nodes; visibility is checked in
 * each node's store directly, so the measurement adds no client traffic.
 *
 * <p>Run: {@code bench/convergence [N...]} (default 3 5).
 */
public final class ConvergenceBenchmark {

  public static void main(String[] args) throws Exception {
    int[] sizes = args.length == 0 ? new int[] {3, 5} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
    for (int n : sizes) {
      run(n, 500);
    }
  }

  static void run(int n, int writes) throws Exception {
    Path root = Files.createTempDirectory("convergence");
    List<LatticeNode> nodes = new ArrayList<>();
    String seed = null;
    for (int i = 0; i < n; i++) {
      ClusterService.Settings cluster = new ClusterService.Settings(new InetSocketAddress("127.0.0.1", 0), null,
          seed == null ? List.of() : List.of(seed), "bench", io.latticekv.core.cluster.ClusterConfig.DEFAULTS,
          Limits.FRAME_BYTES_MAX, Limits.KEY_BYTES_MAX);
      LatticeNode node = new LatticeNode(StoreOptions.defaults(root.resolve("n" + i), SyncPolicy.NONE),
          new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, cluster);
      nodes.add(node);
      if (seed == null) {
        seed = node.cluster().peerAddress();
      }
    }
    long formDeadline = System.nanoTime() + 30_000_000_000L;
    while (nodes.stream().anyMatch(x -> x.status().getMembersList().stream()
        .filter(m -> m.getStatus().equals("alive")).count() != n)) {
      if (System.nanoTime() > formDeadline) {
        throw new IllegalStateException("cluster of " + n + " did not form in 30 s");
      }
      LockSupport.parkNanos(10_000_000);
    }
    List<LatticeClient> clients = new ArrayList<>();
    for (LatticeNode node : nodes) {
      clients.add(LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort()).build());
    }
    Histogram latency = new Histogram(3);
    Random random = new Random(1);
    long[] before = traffic(nodes);
    for (int w = 0; w < writes; w++) {
      int at = random.nextInt(n);
      String key = "conv-" + n + "-" + w;
      clients.get(at).increment(key, 1);
      long acked = System.nanoTime();
      ByteString k = ByteString.copyFromUtf8(key);
      long deadline = acked + 5_000_000_000L;
      while (!nodes.stream().allMatch(x -> x.store().get(k).isPresent())) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("write " + key + " not everywhere within 5 s");
        }
        LockSupport.parkNanos(50_000); // a spinning poller would take one of the machine's two cores from the nodes
      }
      latency.recordValue((System.nanoTime() - acked) / 1_000);
    }
    // Let the rumors cool so that their whole cost is counted.
    LockSupport.parkNanos(3_000_000_000L);
    long[] after = traffic(nodes);
    System.out.printf(java.util.Locale.ROOT,
        "N=%d: %d writes, ack to visible everywhere p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
            + "%.1f peer messages and %.0f bytes per update (membership traffic included)%n",
        n, writes, latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(99) / 1e3,
        latency.getMaxValue() / 1e3, (after[0] - before[0]) / (double) writes, (after[1] - before[1]) / (double) writes);
    clients.forEach(LatticeClient::close);
    nodes.forEach(LatticeNode::halt);
  }

  private static long[] traffic(List<LatticeNode> nodes) {
    long[] sum = new long[2];
    for (LatticeNode node : nodes) {
      sum[0] += node.status().getPeerMessagesSent();
      sum[1] += node.status().getPeerBytesSent();
    }
    return sum;
  }
}
