package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis's own tools against the RESP port, end to end: redis-cli for every command of the port
 * (docs/resp.md), and redis-benchmark's standard runs at 1 and 16 in flight without one error.
 * They come from Debian's redis-tools, which {@code .ci/run} installs: in CI (CI set) their
 * absence fails the test; elsewhere it skips it.
 */
class RedisCliTest {

  @TempDir static Path dir;
  static TestNode node;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    boolean present = onPath("redis-cli") && onPath("redis-benchmark");
    if (System.getenv("CI") != null) {
      assertTrue(present, "CI must have redis-cli and redis-benchmark (.ci/run installs redis-tools)");
    }
    Assumptions.assumeTrue(present, "redis-cli or redis-benchmark is not installed (apt install redis-tools)");
    node = TestNode.start(dir, 0);
    port = node.node.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort();
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Runs a tool to its end (at most 120 s) and returns what it printed, stdout and stderr together. */
  private static String run(List<String> command, String stdin) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "out", ".txt");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    try (var in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish within 120 s: " + Files.readString(out));
    }
    return Files.readString(out);
  }

  private static String cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
    command.addAll(List.of(args));
    return run(command, "").strip();
  }

  @Test
  void everyCommandWorksFromRedisCli() throws Exception {
    assertEquals("PONG", cli("PING"));
    assertEquals("hello there", cli("ECHO", "hello there"));
    assertEquals("OK", cli("SELECT", "0"));
    assertTrue(cli("HELLO", "3").contains("latticekv"));
    assertTrue(cli("-3", "HELLO", "3").contains("proto"));
    assertEquals("OK", cli("CLIENT", "SETNAME", "cli"));
    assertEquals("", cli("CLIENT", "GETNAME"), "a new connection has no name");
    assertTrue(cli("CLIENT", "ID").matches("\\d+"));
    assertTrue(cli("CLIENT", "INFO").contains("resp=2"));
    assertEquals("OK", cli("QUIT"));
    assertEquals("RESET", cli("RESET"));
    assertTrue(Integer.parseInt(cli("COMMAND", "COUNT")) >= 36);
    assertTrue(cli("COMMAND", "INFO", "get").contains("readonly"));
    assertTrue(cli("COMMAND", "DOCS", "sadd").contains("Adds members"));

    assertEquals("1", cli("INCR", "c"));
    assertEquals("11", cli("INCRBY", "c", "10"));
    assertEquals("10", cli("DECR", "c"));
    assertEquals("5", cli("DECRBY", "c", "5"));
    assertEquals("5", cli("GET", "c"));

    assertEquals("OK", cli("SET", "r", "v1"));
    assertEquals("v1", cli("GET", "r"));
    assertEquals("v1", cli("SET", "r", "v2", "GET"));
    assertEquals("v2", cli("GETSET", "r", "v3"));
    assertEquals("OK", cli("MSET", "m1", "a", "m2", "b"));
    assertEquals("a\nb\n", cli("MGET", "m1", "m2", "nope") + "\n");
    assertEquals("2", cli("STRLEN", "r"));
    assertTrue(cli("SET", "r", "v", "EX", "5").contains("do not expire"));

    assertEquals("3", cli("SADD", "s", "a", "b", "c"));
    assertEquals("1", cli("SREM", "s", "a"));
    assertEquals("b\nc", cli("SMEMBERS", "s"));
    assertEquals("1", cli("SISMEMBER", "s", "b"));
    assertEquals("1\n0", cli("SMISMEMBER", "s", "b", "a"));
    assertEquals("2", cli("SCARD", "s"));
    assertEquals("0\nb\nc", cli("SSCAN", "s", "0"));

    assertEquals("set", cli("TYPE", "s"));
    assertEquals("string", cli("TYPE", "c"));
    assertEquals("2", cli("EXISTS", "s", "c", "nope"));
    assertTrue(Long.parseLong(cli("DBSIZE")) >= 5);
    List<String> keys = List.of(cli("--scan").split("\n"));
    assertTrue(keys.containsAll(List.of("c", "r", "m1", "m2", "s")), keys.toString());
    assertEquals("m1\nm2", String.join("\n", cli("--scan", "--pattern", "m[0-9]").lines().sorted().toList()));
    assertEquals("1", cli("DEL", "m1", "nope"));
    assertEquals("1", cli("UNLINK", "m2"));
    assertEquals("0", cli("EXISTS", "m1", "m2"));

    assertTrue(cli("INFO").contains("# Lattice"));
    assertTrue(cli("INFO", "keyspace").contains("db0:keys="));
    assertEquals(2, cli("TIME").lines().count());
    assertEquals("save\n\n", cli("CONFIG", "GET", "save").replace("save", "save\n") + "\n");
    assertEquals("OK", cli("LATTICE.LEVEL", "W", "QUORUM"));
    assertTrue(cli("LATTICE.LEVEL").contains("one"));

    assertTrue(cli("SADD", "c", "x").startsWith("WRONGTYPE"));
    assertTrue(cli("NOSUCH", "a").startsWith("ERR unknown command 'NOSUCH'"));
  }

  @Test
  void aScriptOfCommandsPipesThroughRedisCli() throws Exception {
    StringBuilder script = new StringBuilder();
    for (int i = 0; i < 1_000; i++) {
      script.append("INCR piped\n");
    }
    script.append("GET piped\n");
    String out = run(List.of("redis-cli", "-p", Integer.toString(port)), script.toString());
    assertTrue(out.strip().endsWith("1000"), out.substring(Math.max(0, out.length() - 200)));
  }

  @Test
  void tlsAndLoginsFromRedisCli() throws Exception {
    TestSecurity security = new TestSecurity(dir.resolve("tls"));
    var secure = new io.latticekv.server.LatticeNode(
        io.latticekv.core.storage.StoreOptions.defaults(dir.resolve("secure"), io.latticekv.core.storage.SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), io.latticekv.server.api.Limits.DEFAULTS, 1, 2, null,
        security.forNode("node0"));
    try {
      String tlsPort = Integer.toString(secure.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort());
      List<String> tls = List.of("redis-cli", "--tls", "--cacert", security.caPem.toString(), "-p", tlsPort);
      List<String> alice = new ArrayList<>(tls);
      alice.addAll(List.of("--user", "alice", "--pass", TestSecurity.password("alice"), "--no-auth-warning"));
      assertEquals("1", run(concat(alice, "INCR", "secure-count"), "").strip());
      assertEquals("1", run(concat(alice, "GET", "secure-count"), "").strip());
      assertTrue(run(concat(tls, "GET", "secure-count"), "").startsWith("NOAUTH"), "no login, no data");
      String plaintext = run(List.of("redis-cli", "-p", tlsPort, "PING"), "");
      assertTrue(plaintext.contains("requires TLS") || plaintext.contains("Connection reset")
          || plaintext.contains("Server closed"), plaintext);
    } finally {
      secure.close();
    }
  }

  private static List<String> concat(List<String> head, String... tail) {
    List<String> out = new ArrayList<>(head);
    out.addAll(List.of(tail));
    return out;
  }

  @Test
  void redisBenchmarkRunsWithoutErrorsAtOneAndSixteenInFlight() throws Exception {
    for (String pipeline : List.of("1", "16")) {
      String out = run(List.of("redis-benchmark", "-p", Integer.toString(port), "-t", "ping,incr,sadd,set,get,mset",
          "-n", "3000", "-c", "10", "-P", pipeline, "-q"), "");
      for (String test : List.of("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "SADD", "MSET")) {
        assertTrue(out.contains(test + ":") || out.contains(test + " "), test + " missing at -P " + pipeline
            + ":\n" + out);
      }
      assertFalse(out.contains("ERR") || out.contains("rror"), "errors at -P " + pipeline + ":\n" + out);
      assertTrue(out.contains("requests per second"), out);
    }
    // Hundreds of connections at once, each pipelining.
    String many = run(List.of("redis-benchmark", "-p", Integer.toString(port), "-t", "incr,get", "-n", "20000", "-c",
        "500", "-P", "4", "-q"), "");
    assertFalse(many.contains("ERR") || many.contains("rror"), many);
    assertTrue(many.contains("INCR") && many.contains("GET"), many);
  }
}
