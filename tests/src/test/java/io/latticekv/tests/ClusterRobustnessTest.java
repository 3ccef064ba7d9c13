package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.latticekv.client.LatticeClient;
import io.latticekv.proto.StatusResponse;
import io.latticekv.server.LatticeNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The cluster thread of a live node in trouble — stuck, slow disk, a task that throws, a stop
 * while peers talk — and what the rest of the node and the cluster see of it.
 */
class ClusterRobustnessTest {

  @TempDir Path dir;

  private static TestCluster formed(Path dir, int n, Consumer<TestCluster> setup) throws Exception {
    TestCluster cluster = new TestCluster(dir);
    setup.accept(cluster);
    TestCluster.start(cluster, n);
    assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, n), 20_000) >= 0, "the cluster did not form");
    return cluster;
  }

  private static boolean everyoneAlive(List<LatticeNode> nodes) {
    for (LatticeNode node : nodes) {
      if (node.status().getMembersList().stream().anyMatch(m -> !m.getStatus().equals("alive"))) {
        return false;
      }
    }
    return true;
  }

  /** Records log events at warn and above while it is open. */
  static final class Logs implements AutoCloseable {
    final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

    Logs() {
      appender.start();
      root.addAppender(appender);
    }

    List<String> lines() {
      List<String> out = new ArrayList<>();
      List<ILoggingEvent> events;
      synchronized (appender) { // AppenderBase appends under this lock; the list is a plain ArrayList
        events = new ArrayList<>(appender.list);
      }
      for (ILoggingEvent e : events) {
        out.add(e.getLevel() + " " + e.getFormattedMessage()
            + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getClassName()));
      }
      return out;
    }

    @Override
    public void close() {
      root.detachAppender(appender);
    }
  }

  /**
   * Status ran on the client event loop and waited up to 5 s for the cluster thread: during a
   * freeze another client's GET waited 4.7 s, and status answered INTERNAL. Now status is a
   * snapshot, and says how old it is.
   */
  @Test
  void statusAndRequestsDoNotWaitForAStuckClusterThread() throws Exception {
    SlowReplica[] slow = new SlowReplica[1];
    try (TestCluster cluster = formed(dir, 2, c -> c.replicaWrappers.put(0, r -> slow[0] = new SlowReplica(r)));
        LatticeClient client = LatticeClient.builder().addresses(cluster.clientAddress(0))
            .requestTimeout(Duration.ofSeconds(10)).build()) {
      client.increment("c", 1);
      slow[0].freezeTreeOnce(4_000);
      assertTrue(ClusterTest.await(() -> client.status().getSnapshotAgeMs() > 1_000, 5_000) >= 0,
          "the cluster thread never froze");
      long worst = 0;
      for (int i = 0; i < 20; i++) {
        long start = System.nanoTime();
        StatusResponse status = client.status();
        client.increment("c", 1);
        client.counter("c");
        worst = Math.max(worst, (System.nanoTime() - start) / 1_000_000);
        assertTrue(status.getSnapshotAgeMs() > 0);
      }
      assertTrue(worst < 1_000, "requests waited " + worst + " ms for the frozen cluster thread");
      assertEquals(21, client.counter("c"));
    }
  }

  /**
   * Rumor merges, replica writes and repairs did RocksDB I/O on the thread that answers pings:
   * a slow disk made a healthy node look dead. Here one node's storage takes 1.5 s per operation
   * while writes flow; nobody is suspected.
   */
  @Test
  void aSlowDiskCausesNoFalseSuspicion() throws Exception {
    SlowReplica[] slow = new SlowReplica[1];
    try (TestCluster cluster = formed(dir, 3, c -> c.replicaWrappers.put(2, r -> slow[0] = new SlowReplica(r)))) {
      slow[0].opDelayMs = 1_500;
      List<LatticeClient> clients = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        clients.add(LatticeClient.builder().addresses(cluster.clientAddress(i)).build());
      }
      try {
        Random random = new Random(1);
        long end = System.nanoTime() + 6_000_000_000L;
        boolean suspected = false;
        while (System.nanoTime() < end) {
          clients.get(random.nextInt(3)).increment("k" + random.nextInt(50), 1);
          suspected |= !everyoneAlive(cluster.nodes);
          java.util.concurrent.locks.LockSupport.parkNanos(20_000_000); // paces the writes
        }
        assertTrue(!suspected, "a member was suspected while one node's disk was slow");
      } finally {
        clients.forEach(LatticeClient::close);
      }
    }
  }

  /** An exception in a task of the cluster thread was kept in a future nobody read. */
  @Test
  void aFailingClusterTaskIsLoggedNotLost() throws Exception {
    SlowReplica[] replica = new SlowReplica[1];
    try (Logs logs = new Logs();
        TestCluster cluster = formed(dir, 1, c -> c.replicaWrappers.put(0, r -> replica[0] = new SlowReplica(r)))) {
      replica[0].throwFromTreeOnce(new IllegalStateException("planted failure"));
      assertTrue(ClusterTest.await(() -> logs.lines().stream().anyMatch(l -> l.contains("bug: a protocol task failed")
          && l.contains("IllegalStateException")), 5_000) >= 0, "the failure was not logged: " + logs.lines());
      assertTrue(ClusterTest.await(() -> cluster.nodes.get(0).status().getSnapshotAgeMs() < 1_000, 5_000) >= 0,
          "the cluster thread did not go on after the failure");
    }
  }

  /** A peer frame arriving after the cluster thread stopped logged a RejectedExecutionException. */
  @Test
  void aNodeStoppingWhilePeersTalkLogsNoRejections() throws Exception {
    try (Logs logs = new Logs(); TestCluster cluster = formed(dir, 3, c -> {})) {
      try (LatticeClient a = LatticeClient.builder().addresses(cluster.clientAddress(0)).build()) {
        for (int i = 0; i < 200; i++) {
          a.incrementAsync("busy-" + (i % 20), 1);
        }
        cluster.nodes.get(1).close();
        cluster.nodes.set(1, null);
        for (int i = 0; i < 200; i++) {
          a.increment("after-" + (i % 20), 1);
        }
      }
      assertTrue(logs.lines().stream().noneMatch(l -> l.contains("RejectedExecution")), logs.lines().toString());
    }
  }
}
