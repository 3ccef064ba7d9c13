package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.SafeEncoder;

/**
 * The RESP port of a 3-node cluster, through Jedis: writes on one node become visible on the
 * others, at once with {@code LATTICE.LEVEL W ALL}; concurrent SREM and SADD resolve add-wins; and
 * the logins and roles of the native port hold on the RESP port.
 */
class RespClusterTest {

  @TempDir Path dir;

  private static List<Integer> respPorts(TestCluster cluster) throws InterruptedException {
    List<Integer> ports = new ArrayList<>();
    for (var node : cluster.nodes) {
      ports.add(node.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort());
    }
    return ports;
  }

  private static void eventually(String what, java.util.function.BooleanSupplier done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, what + " did not happen within 30 s");
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }

  @Test
  void writesOnOneNodeReachTheOthers() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 3)) {
      List<Integer> ports = respPorts(cluster);
      try (Jedis a = new Jedis("127.0.0.1", ports.get(0)); Jedis c = new Jedis("127.0.0.1", ports.get(2))) {
        for (int i = 0; i < 10; i++) {
          a.incr("visits");
        }
        a.sadd("tags", "red", "green");
        a.set("greeting", "hello");
        eventually("the counter reaching node 3", () -> "10".equals(c.get("visits")));
        eventually("the set reaching node 3", () -> c.smembers("tags").equals(Set.of("red", "green")));
        eventually("the register reaching node 3", () -> "hello".equals(c.get("greeting")));
        assertTrue(c.info("lattice").contains("members:3"), c.info("lattice"));

        assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 3), 15_000) >= 0);
        // At W ALL a write is acknowledged by every replica: the next read anywhere sees it.
        a.sendCommand(RespCommandsTest.command("LATTICE.LEVEL"), "W", "ALL");
        for (int i = 0; i < 20; i++) {
          assertEquals(11 + i, a.incr("visits"));
          assertEquals(Long.toString(11 + i), c.get("visits"));
        }

        // Both nodes count increments: the counter is the sum, whatever node served them.
        c.incrBy("visits", 100);
        eventually("both nodes' increments on node 1", () -> "130".equals(a.get("visits")));
      }
    }
  }

  @Test
  void aConcurrentAddWinsOverAnSremThatDidNotSeeIt() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 2)) {
      List<Integer> ports = respPorts(cluster);
      try (Jedis a = new Jedis("127.0.0.1", ports.get(0)); Jedis b = new Jedis("127.0.0.1", ports.get(1))) {
        assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 2), 15_000) >= 0);
        a.sendCommand(RespCommandsTest.command("LATTICE.LEVEL"), "W", "ALL");
        a.sadd("cart", "apple");
        assertEquals(Set.of("apple"), b.smembers("cart"));
        // Node 2 is cut off from node 1: each side changes the set without seeing the other.
        cluster.nodes.get(0).cluster().dropPeers(Set.of(cluster.nodes.get(1).cluster().peerAddress()));
        cluster.nodes.get(1).cluster().dropPeers(Set.of(cluster.nodes.get(0).cluster().peerAddress()));
        a.sendCommand(RespCommandsTest.command("LATTICE.LEVEL"), "W", "ONE");
        assertEquals(1, a.srem("cart", "apple"));
        assertEquals(0, b.sadd("cart", "apple"), "node 2 still holds apple; the add is new all the same");
        cluster.nodes.get(0).cluster().dropPeers(Set.of());
        cluster.nodes.get(1).cluster().dropPeers(Set.of());
        eventually("the partition healing to add-wins on node 1", () -> a.smembers("cart").equals(Set.of("apple")));
        eventually("and on node 2", () -> b.smembers("cart").equals(Set.of("apple")));
      }
    }
  }

  @Test
  void loginsAndRolesHoldOnTheRespPort() throws Exception {
    TestSecurity security = new TestSecurity(dir.resolve("tls"));
    var auth = io.latticekv.server.security.Authenticator.open(security.users);
    var node = new io.latticekv.server.LatticeNode(
        io.latticekv.core.storage.StoreOptions.defaults(dir.resolve("node"), io.latticekv.core.storage.SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), io.latticekv.server.api.Limits.DEFAULTS, 1, 2, null,
        new io.latticekv.server.security.Security(null, auth));
    try {
      int port = node.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort();
      // A first login takes a password hash check off the event loop; what is pipelined after it
      // still runs logged in (as redis-benchmark -a and ioredis send it).
      try (java.net.Socket raw = new java.net.Socket("127.0.0.1", port)) {
        raw.setSoTimeout(10_000);
        raw.getOutputStream().write(("AUTH writer " + TestSecurity.password("writer") + "\r\nINCR k\r\nINCR k\r\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        byte[] answer = new byte[64];
        int n = 0;
        String expected = "+OK\r\n:1\r\n:2\r\n";
        while (n < expected.length()) {
          int r = raw.getInputStream().read(answer, n, answer.length - n);
          assertTrue(r > 0, "closed after " + new String(answer, 0, n, java.nio.charset.StandardCharsets.US_ASCII));
          n += r;
        }
        assertEquals(expected, new String(answer, 0, n, java.nio.charset.StandardCharsets.US_ASCII));
      }
      try (Jedis anonymous = new Jedis("127.0.0.1", port)) {
        assertTrue(assertThrows(JedisDataException.class, () -> anonymous.get("k")).getMessage().startsWith("NOAUTH"));
        assertTrue(assertThrows(JedisDataException.class, () -> anonymous.ping()).getMessage().startsWith("NOAUTH"));
        assertTrue(assertThrows(JedisDataException.class, () -> anonymous.auth("alice", "wrong")).getMessage()
            .startsWith("WRONGPASS"));
        assertEquals("OK", anonymous.auth("writer", TestSecurity.password("writer")));
        assertEquals(3, anonymous.incr("k"));
        assertTrue(anonymous.info("lattice").contains("restricted:yes"), "a writer does not see the cluster");
        assertEquals("RESET", SafeEncoder.encode((byte[]) anonymous.sendCommand(RespCommandsTest.command("RESET"))));
        assertTrue(assertThrows(JedisDataException.class, () -> anonymous.get("k")).getMessage().startsWith("NOAUTH"),
            "RESET logs the connection out");
      }
      try (Jedis reader = new Jedis("127.0.0.1", port)) {
        reader.auth("bob", TestSecurity.password("bob"));
        assertEquals("3", reader.get("k"));
        assertTrue(assertThrows(JedisDataException.class, () -> reader.incr("k")).getMessage().startsWith("NOPERM"));
      }
      try (Jedis resp3 = new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
          .protocol(RedisProtocol.RESP3).user("alice").password(TestSecurity.password("alice")).build())) {
        assertEquals(4, resp3.incr("k"), "HELLO 3 AUTH logs in and switches to RESP3 in one command");
        assertTrue(resp3.info("lattice").contains("members:"), "an admin sees the cluster section");
      }
      try (Jedis guesser = new Jedis("127.0.0.1", port)) {
        for (int i = 0; i < 2; i++) {
          assertThrows(JedisDataException.class, () -> guesser.auth("alice", "guess"));
        }
        assertThrows(JedisDataException.class, () -> guesser.auth("alice", "guess"));
        assertThrows(Exception.class, () -> guesser.ping(), "the third failed login closes the connection");
      }
    } finally {
      node.close();
    }
  }
}
