package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real node process is killed with SIGKILL in the middle of 10,000 mixed updates from several
 * client threads, then restarted on the same directory: every acknowledged update must be there.
 * Both sync policies that acknowledge before an fsync of their own (batch shares one; none has
 * none) survive a process crash: the write-ahead log is in the OS's page cache.
 */
class CrashRecoveryTest {

  private static final int THREADS = 4;
  private static final int UPDATES = 10_000;

  @TempDir Path tmp;

  @ParameterizedTest(name = "sync {0}")
  @ValueSource(strings = {"batch", "none"})
  void everyAcknowledgedUpdateSurvivesKillDashNine(String sync) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    int killAfterAcks = 1_000 + random.nextInt(UPDATES - 2_000);
    System.out.println("crash test (sync " + sync + "): seed " + seed + ", SIGKILL after " + killAfterAcks + " acks");
    Path dir = tmp.resolve("node");
    Path log = Path.of("target", "node-logs", "crash-" + sync + ".log");
    Files.createDirectories(log.getParent());
    Files.deleteIfExists(log);

    AtomicLong ackedIncrements = new AtomicLong();
    AtomicLong sentIncrements = new AtomicLong();
    Set<String> ackedElements = ConcurrentHashMap.newKeySet();
    long[] lastAckedRegister = new long[THREADS];
    long[] lastSentRegister = new long[THREADS];
    AtomicInteger acks = new AtomicInteger();

    NodeProcess node = NodeProcess.start(dir, sync, log);
    try (LatticeClient client = LatticeClient.builder().addresses(node.address())
        .requestTimeout(Duration.ofSeconds(5)).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        workers.add(pool.submit(() -> {
          for (int i = 0; i < UPDATES / THREADS; i++) {
            try {
              switch (i % 3) {
                case 0 -> {
                  sentIncrements.incrementAndGet();
                  client.increment("hits", 1);
                  ackedIncrements.incrementAndGet();
                }
                case 1 -> {
                  String element = thread + "-" + i;
                  client.add("set" + (i % 4), element);
                  ackedElements.add("set" + (i % 4) + "/" + element);
                }
                default -> {
                  lastSentRegister[thread] = i;
                  client.put("reg" + thread, Integer.toString(i));
                  lastAckedRegister[thread] = i;
                }
              }
            } catch (LatticeException nodeIsGone) {
              return;
            }
            if (acks.incrementAndGet() == killAfterAcks) {
              try {
                node.kill();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          }
        }));
      }
      for (Future<?> w : workers) {
        w.get(3, TimeUnit.MINUTES);
      }
      pool.shutdown();
    } finally {
      node.close();
    }
    assertTrue(acks.get() >= killAfterAcks, "the workload stopped before the kill");

    try (NodeProcess restarted = NodeProcess.start(dir, sync, log);
        LatticeClient client = LatticeClient.builder().addresses(restarted.address()).build()) {
      long hits = client.counter("hits");
      assertTrue(hits >= ackedIncrements.get() && hits <= sentIncrements.get(),
          "counter " + hits + " outside [acked " + ackedIncrements.get() + ", sent " + sentIncrements.get() + "]; seed " + seed);
      for (int s = 0; s < 4; s++) {
        Set<String> present = Set.copyOf(client.elements("set" + s).elementsAsStrings());
        for (String acked : ackedElements) {
          if (acked.startsWith("set" + s + "/")) {
            assertTrue(present.contains(acked.substring(acked.indexOf('/') + 1)), "lost set add " + acked + "; seed " + seed);
          }
        }
      }
      for (int t = 0; t < THREADS; t++) {
        if (lastAckedRegister[t] > 0) {
          long value = Long.parseLong(client.register("reg" + t).orElseThrow().asString());
          assertTrue(value >= lastAckedRegister[t] && value <= lastSentRegister[t],
              "register " + t + " holds " + value + ", last acknowledged " + lastAckedRegister[t] + "; seed " + seed);
        }
      }
      assertEquals(0, restarted.stop(), "the restarted node did not exit cleanly on SIGTERM");
    }
    String logText = Files.readString(log);
    assertTrue(logText.contains("stopped"), "no clean stop in the log");
  }
}
