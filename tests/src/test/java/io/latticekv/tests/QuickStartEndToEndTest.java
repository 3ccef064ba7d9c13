package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A newcomer's first minutes: clone the repository, run the README's quick-start command, talk to
 * different nodes with the command line, read the metrics, stop with SIGTERM, and check that every
 * node exited cleanly.
 */
class QuickStartEndToEndTest {

  @TempDir Path tmp;

  record Run(int code, String out) {}

  private static Run run(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
    }
    return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes()).trim());
  }

  /** The first command of the README's quick start. */
  static String quickStartCommand(Path readme) throws IOException {
    List<String> lines = Files.readAllLines(readme);
    int section = lines.indexOf("## Quick start");
    assertTrue(section >= 0, "README.md has no '## Quick start' section");
    for (int i = section; i < lines.size() - 1; i++) {
      if (lines.get(i).trim().equals("```sh")) {
        return lines.get(i + 1).trim();
      }
    }
    throw new AssertionError("no command block in the README's quick start");
  }

  private static String lastLine(String out) {
    String[] lines = out.split("\n");
    return lines[lines.length - 1].trim();
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void theReadmeQuickStartRunsAClusterFromAFreshClone() throws Exception {
    Path repo = Path.of("..").toAbsolutePath().normalize();
    assertTrue(Files.isDirectory(repo.resolve(".git")), "the tests must run in a git checkout: " + repo);
    Path clone = tmp.resolve("clone");
    Run cloned = run(tmp, 120, "git", "clone", "-q", repo.toString(), clone.toString());
    assertEquals(0, cloned.code(), cloned.out());

    String command = quickStartCommand(clone.resolve("README.md"));
    assertTrue(command.startsWith("bin/lattice cluster"), "unexpected quick-start command: " + command);
    Path output = tmp.resolve("cluster.out");
    Process cluster = new ProcessBuilder("bash", "-c", "exec " + command).directory(clone.toFile())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
      while (!Files.readString(output).contains("Ctrl-C stops every node.")) {
        assertTrue(cluster.isAlive(), "the quick start exited: " + Files.readString(output));
        assertTrue(System.nanoTime() < deadline, "the cluster did not start within 6 minutes: " + Files.readString(output));
        LockSupport.parkNanos(200_000_000); // poll the output file until the deadline
      }
      String lattice = clone.resolve("bin/lattice").toString();
      assertEquals("5", lastLine(run(clone, 60, lattice, "incr", "e2e", "5").out()));
      assertEquals("a\nb", run(clone, 60, lattice, "--connect", "127.0.0.1:7380", "sadd", "e2e-set", "b", "a").out()
          .lines().filter(l -> l.length() == 1).reduce((x, y) -> x + "\n" + y).orElse(""));
      String seen = "";
      long visible = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!seen.equals("5") && System.nanoTime() < visible) {
        seen = lastLine(run(clone, 60, lattice, "get", "e2e", "--connect", "127.0.0.1:7381").out());
      }
      assertEquals("5", seen, "a write at node 1 was not visible at node 3");
      // Every node of the quick start serves Redis clients too, on the address it printed.
      assertTrue(Files.readString(output).contains("resp 127.0.0.1:7681"), Files.readString(output));
      try (redis.clients.jedis.Jedis redis = new redis.clients.jedis.Jedis("127.0.0.1", 7681, 10_000)) {
        assertEquals("5", redis.get("e2e"));
        assertEquals(java.util.Set.of("a", "b"), redis.smembers("e2e-set"));
      }

      HttpResponse<String> metrics = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:7579/metrics")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("lattice_requests_seconds_count{op=\"merge\"}"), metrics.body());
      assertTrue(metrics.body().contains("lattice_members{state=\"alive\"} 3.0"), metrics.body());
      assertTrue(java.util.regex.Pattern.compile("(?m)^lattice_writes_applied_total [1-9]").matcher(metrics.body()).find()
          && java.util.regex.Pattern.compile("(?m)^lattice_rocksdb_writes_total [1-9]").matcher(metrics.body()).find(),
          "the node applied the write, in one RocksDB write or more: " + metrics.body());
    } finally {
      cluster.destroy(); // SIGTERM
      assertTrue(cluster.waitFor(90, TimeUnit.SECONDS), "the cluster did not stop within 90 s of SIGTERM");
    }
    assertEquals(0, cluster.exitValue(), "the cluster command did not exit cleanly: " + Files.readString(output));
    for (int i = 1; i <= 3; i++) {
      String log = Files.readString(clone.resolve("data").resolve("node" + i + ".log"));
      assertTrue(log.contains("stopped"), "node" + i + " did not stop cleanly:\n" + log);
    }
  }
}
