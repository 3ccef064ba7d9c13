package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;
import redis.clients.jedis.util.SafeEncoder;

/**
 * The RESP port as a Redis client library sees it: Jedis, from Maven Central, against a live node
 * (docs/resp.md). Every command of the port, its Redis error lines, pipelining, and RESP3.
 */
class RespCommandsTest {

  @TempDir static Path dir;
  static TestNode node;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    node = TestNode.start(dir, 0);
    port = node.node.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static Jedis jedis() {
    return new Jedis("127.0.0.1", port, 10_000);
  }

  static ProtocolCommand command(String name) {
    byte[] raw = SafeEncoder.encode(name);
    return () -> raw;
  }

  @Test
  void registersAndCountersReadAsStrings() {
    try (Jedis j = jedis()) {
      assertEquals("OK", j.set("reg", "hello"));
      assertEquals("hello", j.get("reg"));
      assertEquals(5, j.strlen("reg"));
      assertEquals("hello", j.getSet("reg", "world"));
      assertEquals("world", j.setGet("reg", "again"));
      assertEquals("again", j.get("reg"));
      assertNull(j.get("never-written"));
      assertNull(j.setGet("fresh", "v"), "SET ... GET of a new key answers nil");

      assertEquals(1, j.incr("hits"));
      assertEquals(11, j.incrBy("hits", 10));
      assertEquals(10, j.decr("hits"));
      assertEquals(-5, j.decrBy("hits", 15));
      assertEquals("-5", j.get("hits"), "GET of a counter answers its value");
      assertEquals(2, j.strlen("hits"));

      assertEquals("OK", j.mset("m1", "a", "m2", "b"));
      assertEquals(java.util.Arrays.asList("a", "b", null, "-5"), j.mget("m1", "m2", "nope", "hits"));
      j.sadd("a-set", "x");
      assertEquals(java.util.Arrays.asList("a", null), j.mget("m1", "a-set"), "MGET answers nil for a set, as Redis");
    }
  }

  @Test
  void wrongTypesAndBadArgumentsGetRedisErrors() {
    try (Jedis j = jedis()) {
      j.set("text", "abc");
      j.incr("count");
      j.sadd("members", "m");
      assertTrue(assertThrows(JedisDataException.class, () -> j.incr("text")).getMessage().startsWith("WRONGTYPE"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.sadd("count", "x")).getMessage().startsWith("WRONGTYPE"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.get("members")).getMessage().startsWith("WRONGTYPE"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.set("count", "v")).getMessage().startsWith("WRONGTYPE"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.smembers("text")).getMessage().startsWith("WRONGTYPE"));
      assertEquals("ERR value is not an integer or out of range",
          assertThrows(JedisDataException.class, () -> j.sendCommand(command("INCRBY"), "count", "ten")).getMessage());
      assertTrue(assertThrows(JedisDataException.class, () -> j.set("k", "v", SetParams.setParams().ex(10)))
          .getMessage().contains("do not expire"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.set("k", "v", SetParams.setParams().nx()))
          .getMessage().contains("not supported"));
      assertEquals("ERR unknown command 'FLUSHALL', with args beginning with: ",
          assertThrows(JedisDataException.class, () -> j.sendCommand(command("FLUSHALL"))).getMessage().trim()
              + " ");
      assertEquals("ERR wrong number of arguments for 'get' command",
          assertThrows(JedisDataException.class, () -> j.sendCommand(command("GET"))).getMessage());
      assertEquals("ERR DB index is out of range", assertThrows(JedisDataException.class, () -> j.select(1)).getMessage());
      assertEquals("OK", j.select(0));
      j.incrBy("big", Long.MAX_VALUE);
      assertTrue(assertThrows(JedisDataException.class, () -> j.incr("big")).getMessage().contains("overflow"));
      assertEquals("PONG", j.ping(), "the connection serves on after every error");
    }
  }

  @Test
  void setsAnswerWhatRedisAnswers() {
    try (Jedis j = jedis()) {
      assertEquals(3, j.sadd("s", "a", "b", "c"));
      assertEquals(1, j.sadd("s", "a", "d", "d"), "only d is new, counted once");
      assertEquals(Set.of("a", "b", "c", "d"), j.smembers("s"));
      assertTrue(j.sismember("s", "a"));
      assertFalse(j.sismember("s", "z"));
      assertEquals(List.of(true, false, true), j.smismember("s", "a", "z", "d"));
      assertEquals(4, j.scard("s"));
      assertEquals(2, j.srem("s", "a", "b", "zz"));
      assertEquals(Set.of("c", "d"), j.smembers("s"));
      assertEquals(Set.of(), j.smembers("no-such-set"));
      assertEquals(0, j.scard("no-such-set"));
      assertEquals(0, j.srem("no-such-set", "x"));
    }
  }

  @Test
  void sscanReturnsEveryMemberHeldThroughoutWhileTheSetChanges() {
    sscanWhileChanging("scanned", 3_000);
  }

  /** The same over a set large enough to be stored one row per element: a scan reads the rows it returns. */
  @Test
  void sscanOfALargeSetReturnsEveryMemberHeldThroughoutWhileTheSetChanges() {
    sscanWhileChanging("scanned-large", 5_000);
  }

  private void sscanWhileChanging(String key, int size) {
    try (Jedis j = jedis()) {
      List<String> initial = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        initial.add("member-" + i);
      }
      for (int i = 0; i < initial.size(); i += 500) {
        j.sadd(key, initial.subList(i, i + 500).toArray(new String[0]));
      }
      Set<String> removed = new HashSet<>();
      Set<String> seen = new HashSet<>();
      String cursor = ScanParams.SCAN_POINTER_START;
      int calls = 0;
      do {
        ScanResult<String> page = j.sscan(key, cursor, new ScanParams().count(100));
        seen.addAll(page.getResult());
        cursor = page.getCursor();
        // Between pages the set changes: members come and go.
        j.sadd(key, "added-" + calls);
        String gone = "member-" + (calls * 7 % size);
        if (j.srem(key, gone) == 1) {
          removed.add(gone);
        }
        calls++;
        assertTrue(calls < 1_000, "SSCAN did not end");
      } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
      for (String m : initial) {
        assertTrue(removed.contains(m) || seen.contains(m), m + " was held throughout but never returned");
      }
      assertTrue(calls > size / 300, "a COUNT of 100 over " + size + " members takes many calls, took " + calls);
      ScanResult<String> matched = j.sscan(key, "0", new ScanParams().match("member-1?").count(10_000));
      Set<String> expected = new HashSet<>();
      for (int i = 10; i < 20; i++) {
        expected.add("member-" + i);
      }
      expected.removeAll(removed);
      assertEquals(expected, new HashSet<>(matched.getResult()));
      assertEquals(size - removed.size() + calls, j.scard(key));
      assertTrue(j.sismember(key, "added-0"));
    }
  }

  @Test
  void keyCommands() {
    try (Jedis j = jedis()) {
      j.set("k:reg", "v");
      j.incr("k:count");
      j.sadd("k:set", "e");
      assertEquals("string", j.type("k:reg"));
      assertEquals("string", j.type("k:count"));
      assertEquals("set", j.type("k:set"));
      assertEquals("none", j.type("k:nothing"));
      assertEquals(3, j.exists("k:reg", "k:count", "k:set", "k:nothing"));
      long before = j.dbSize();
      assertEquals(2, j.del("k:reg", "k:set", "k:nothing"));
      assertNull(j.get("k:reg"));
      assertEquals(1, j.unlink("k:count"));
      assertEquals(0, j.exists("k:reg", "k:count", "k:set"));
      assertTrue(before >= 3, "DBSIZE counted " + before);
      j.sadd("k:set", "again");
      assertEquals(Set.of("again"), j.smembers("k:set"), "a deleted set starts afresh");
      assertEquals(1, j.incr("k:reg"), "a deleted key may be written again with another type");
    }
  }

  @Test
  void scanWalksEveryStoredKeyAndFilters() {
    try (Jedis j = jedis()) {
      Set<String> written = new HashSet<>();
      for (int i = 0; i < 600; i++) {
        j.set("walk:r:" + i, "v");
        j.incr("walk:c:" + i);
        written.add("walk:r:" + i);
        written.add("walk:c:" + i);
      }
      j.sadd("walk:s:0", "x");
      Set<String> seen = new HashSet<>();
      Set<String> deleted = new HashSet<>();
      String cursor = "0";
      int calls = 0;
      do {
        ScanResult<String> page = j.scan(cursor, new ScanParams().match("walk:*").count(50));
        seen.addAll(page.getResult());
        cursor = page.getCursor();
        String gone = "walk:r:" + calls;
        j.del(gone); // deletes between calls do not make the walk skip other keys
        deleted.add(gone);
        calls++;
        assertTrue(calls < 10_000, "SCAN did not end");
      } while (!cursor.equals("0"));
      for (String k : written) {
        assertTrue(deleted.contains(k) || seen.contains(k), k + " was stored throughout but never returned");
      }
      assertTrue(seen.contains("walk:s:0"));
      Set<String> sets = new HashSet<>();
      cursor = "0";
      do {
        ScanResult<String> page = j.scan(cursor, new ScanParams().match("walk:*").count(1_000), "set");
        sets.addAll(page.getResult());
        cursor = page.getCursor();
      } while (!cursor.equals("0"));
      assertEquals(Set.of("walk:s:0"), sets);
    }
  }

  @Test
  void connectionAndServerCommands() {
    try (Jedis j = jedis()) {
      assertEquals("PONG", j.ping());
      assertEquals("hi", j.ping("hi"));
      assertEquals("echo me", j.echo("echo me"));
      assertEquals("OK", j.clientSetname("my-app"));
      assertEquals("my-app", j.clientGetname());
      long id = j.clientId();
      assertTrue(j.clientInfo().contains("id=" + id + " "), j.clientInfo());
      assertTrue(j.clientInfo().contains("name=my-app"), j.clientInfo());
      List<String> time = j.time();
      assertTrue(Math.abs(Long.parseLong(time.get(0)) - System.currentTimeMillis() / 1000) < 60);
      assertTrue(j.commandCount() >= 36);
      String info = j.info();
      for (String section : List.of("# Server", "# Clients", "# Memory", "# Stats", "# Keyspace", "# Lattice")) {
        assertTrue(info.contains(section), section + " missing from INFO");
      }
      assertTrue(j.info("keyspace").startsWith("# Keyspace"));
      assertFalse(j.info("keyspace").contains("# Server"));
      assertTrue(info.contains("node_id:" + node.node.store().nodeId()));
      Map<String, String> config = j.configGet("*");
      assertEquals("1", config.get("databases"));
      assertTrue(config.containsKey("save") && config.containsKey("appendonly"));
      assertTrue(assertThrows(JedisDataException.class, () -> j.configSet("save", "")).getMessage()
          .contains("not supported"));
      assertEquals(Map.of("w", "one", "r", "one"), levels(j.sendCommand(command("LATTICE.LEVEL"))));
      assertEquals("OK", SafeEncoder.encode((byte[]) j.sendCommand(command("LATTICE.LEVEL"), "W", "QUORUM")));
      assertEquals(Map.of("w", "quorum", "r", "one"), levels(j.sendCommand(command("LATTICE.LEVEL"))));
      assertEquals(1, j.incr("alone-at-quorum"), "a node alone is a quorum of itself");
      assertTrue(assertThrows(JedisDataException.class, () -> j.sendCommand(command("LATTICE.LEVEL"), "W", "MOST"))
          .getMessage().contains("ONE, QUORUM or ALL"));
      assertEquals("RESET", SafeEncoder.encode((byte[]) j.sendCommand(command("RESET"))));
      assertEquals(Map.of("w", "one", "r", "one"), levels(j.sendCommand(command("LATTICE.LEVEL"))));
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> levels(Object reply) {
    List<Object> flat = (List<Object>) reply;
    Map<String, String> out = new java.util.HashMap<>();
    for (int i = 0; i < flat.size(); i += 2) {
      out.put(SafeEncoder.encode((byte[]) flat.get(i)), SafeEncoder.encode((byte[]) flat.get(i + 1)));
    }
    return out;
  }

  @Test
  void resp3ThroughHello() {
    try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", port),
        DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
      j.sadd("resp3-set", "a", "b");
      assertEquals(Set.of("a", "b"), j.smembers("resp3-set"));
      assertNull(j.get("resp3-nothing"));
      assertEquals(3, j.incrBy("resp3-count", 3));
      assertTrue(j.clientInfo().contains("resp=3"), j.clientInfo());
      assertTrue(j.info("server").contains("redis_version:"));
    }
  }

  @Test
  void aPipelineOfThousandsIsAnsweredInOrder() {
    try (Jedis j = jedis()) {
      Pipeline p = j.pipelined();
      List<Response<Long>> counts = new ArrayList<>();
      List<Response<String>> reads = new ArrayList<>();
      List<Response<Long>> adds = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        counts.add(p.incr("piped"));
        reads.add(p.get("piped"));
        adds.add(p.sadd("piped-set", "e" + (i % 100)));
      }
      p.sync();
      for (int i = 0; i < 5_000; i++) {
        assertEquals(i + 1, counts.get(i).get());
        assertEquals(Long.toString(i + 1), reads.get(i).get(), "a read sees the write pipelined before it");
        assertEquals(i < 100 ? 1 : 0, adds.get(i).get());
      }
    }
  }

  /** Writes pipelined on one connection are stored in batches, one RocksDB write for many, as on the native port. */
  @Test
  void pipelinedWritesAreStoredInBatches() {
    var store = node.node.store();
    long writesBefore = store.writesApplied();
    long rocksBefore = store.rocksDbWrites();
    try (Jedis j = jedis()) {
      Pipeline p = j.pipelined();
      for (int i = 0; i < 4_000; i++) {
        p.incr("batched-" + (i % 50));
      }
      p.sync();
    }
    long writes = store.writesApplied() - writesBefore;
    long rocks = store.rocksDbWrites() - rocksBefore;
    assertTrue(writes >= 4_000, "applied " + writes);
    assertTrue(rocks * 4 < writes, writes + " writes took " + rocks + " RocksDB writes: not batched");
  }

  @Test
  void binaryKeysAndValuesKeepTheirBytes() {
    try (Jedis j = jedis()) {
      byte[] key = {0, (byte) 0xff, '\r', '\n', 'k'};
      byte[] value = new byte[70_000];
      new java.util.Random(7).nextBytes(value);
      assertEquals("OK", j.set(key, value));
      assertArrayEquals(value, j.get(key));
      assertEquals("OK", j.set("utf8", "ключ ✓"));
      assertEquals("ключ ✓", new String(j.get("utf8".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
    }
  }
}
