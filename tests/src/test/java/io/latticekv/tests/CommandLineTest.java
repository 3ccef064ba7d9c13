package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.server.cli.ExitCode;
import io.latticekv.server.cli.Lattice;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lattice command line against a live node, run in-process with captured output. */
class CommandLineTest {

  @TempDir Path dir;
  private TestNode node;

  record Result(int code, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    node = TestNode.start(dir, 0);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private Result lattice(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Lattice.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString().trim(), err.toString().trim());
  }

  @Test
  void countersSetsAndRegistersFromTheShell() {
    String at = node.address();
    assertEquals(new Result(0, "1", ""), lattice("--connect", at, "incr", "hits"));
    assertEquals(new Result(0, "11", ""), lattice("--connect", at, "incr", "hits", "10"));
    assertEquals(new Result(0, "8", ""), lattice("--connect", at, "decr", "hits", "3"));
    assertEquals(new Result(0, "a\nb", ""), lattice("--connect", at, "sadd", "s", "b", "a"));
    assertEquals(new Result(0, "b", ""), lattice("--connect", at, "srem", "s", "a"));
    assertEquals(new Result(0, "OK", ""), lattice("--connect", at, "put", "r", "hello world"));
    assertEquals(new Result(0, "hello world", ""), lattice("--connect", at, "get", "r"));
    assertEquals(new Result(0, "(nil)", ""), lattice("--connect", at, "get", "missing"));
  }

  @Test
  void largeSetsFromTheShellInPages() {
    String at = node.address();
    List<String> first = new ArrayList<>(List.of("--connect", at, "sadd", "big"));
    List<String> second = new ArrayList<>(List.of("--connect", at, "sadd", "big"));
    for (int i = 0; i < 1_000; i++) {
      first.add(String.format("a%04d", i));
      second.add(String.format("b%04d", i));
    }
    assertEquals(0, lattice(first.toArray(new String[0])).code());
    assertEquals(new Result(0, "2000 elements (more than 1000: lattice smembers big --limit N pages through them)", ""),
        lattice(second.toArray(new String[0])));
    assertEquals(new Result(0, "2000", ""), lattice("--connect", at, "scard", "big"));
    assertEquals(new Result(0, "1", ""), lattice("--connect", at, "sismember", "big", "b0999"));
    assertEquals(new Result(0, "0", ""), lattice("--connect", at, "sismember", "big", "c"));
    Result page = lattice("--connect", at, "smembers", "big", "--limit", "2");
    assertEquals(0, page.code(), page.toString());
    String[] lines = page.out().split("\n");
    assertEquals(List.of("a0000", "a0001"), List.of(lines[0], lines[1]));
    String cursor = lines[2].replaceAll(".*--cursor (\\S+)\\)$", "$1");
    assertTrue(lines[2].startsWith("(2 of 2000; the next page: --cursor "), lines[2]);
    assertEquals(new Result(0, "a0002", ""), lattice("--connect", at, "smembers", "big", "--limit", "1", "--cursor",
        cursor).out().lines().findFirst().map(l -> new Result(0, l, "")).orElseThrow());
    Result all = lattice("--connect", at, "smembers", "big");
    assertEquals(2_000, all.out().lines().count(), "without --limit every element, 1,000 per request");
  }

  @Test
  void optionsGoBeforeOrAfterTheCommand() {
    String at = node.address();
    lattice("--connect", at, "incr", "c", "5");
    String expected = "{\"key\":\"c\",\"found\":true,\"type\":\"counter\",\"value\":5}";
    assertEquals(new Result(0, expected, ""), lattice("--connect", at, "--json", "get", "c"));
    assertEquals(new Result(0, expected, ""), lattice("get", "c", "--json", "--connect", at));
    assertEquals(new Result(0, expected, ""), lattice("get", "--connect", at, "c", "--json"));
  }

  @Test
  void aUserMayBeNamedLikeACommand() {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("LATTICE_PASSWORD") == null);
    Result r = lattice("--connect", node.address(), "--user", "status", "get", "c");
    assertEquals(2, r.code(), r.toString());
    assertEquals("lattice: --user status: set LATTICE_PASSWORD, or run on a terminal to be asked", r.err());
  }

  @Test
  void jsonDescribesSetsAndMissingKeys() {
    String at = node.address();
    lattice("--connect", at, "sadd", "s", "x");
    Result set = lattice("--connect", at, "--json", "get", "s");
    assertTrue(set.out().startsWith("{\"key\":\"s\",\"found\":true,\"type\":\"set\",\"elements\":[\"x\"],\"context\":\""), set.out());
    assertEquals("{\"key\":\"nope\",\"found\":false}", lattice("--connect", at, "--json", "get", "nope").out());
  }

  @Test
  void aTypeMismatchIsOneLineAndExitCodeOne() {
    String at = node.address();
    lattice("--connect", at, "incr", "c");
    Result r = lattice("--connect", at, "sadd", "c", "x");
    assertEquals(ExitCode.REFUSED, r.code());
    assertEquals("", r.out());
    assertEquals("lattice: key 'c' holds a counter, not a set (TYPE_MISMATCH)", r.err());
  }

  @Test
  void anUnreachableNodeIsExitCodeThree() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Result r = lattice("--connect", "127.0.0.1:" + port, "get", "k");
    assertEquals(ExitCode.UNAVAILABLE, r.code());
    assertTrue(r.err().startsWith("lattice: no node reachable at [127.0.0.1:" + port + "]"), r.err());
    assertEquals(1, r.err().lines().count());
  }

  @Test
  void aTimeoutIsExitCodeFour() throws IOException {
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Result r = lattice("--connect", "127.0.0.1:" + silent.getLocalPort(), "--timeout-ms", "200", "get", "k");
      assertEquals(ExitCode.TIMEOUT, r.code());
      assertTrue(r.err().contains("within 200 ms"), r.err());
    }
  }

  @Test
  void badArgumentsAreExitCodeTwoWithUsage() {
    Result missing = lattice("get");
    assertEquals(ExitCode.USAGE, missing.code());
    assertTrue(missing.err().startsWith("Missing required parameter: 'KEY'"), missing.err());
    assertEquals(ExitCode.USAGE, lattice("incr", "c", "not-a-number").code());
    assertEquals(ExitCode.USAGE, lattice("--connect", "no-port", "get", "k").code());
    assertEquals(ExitCode.USAGE, lattice("frobnicate").code());
  }
}
