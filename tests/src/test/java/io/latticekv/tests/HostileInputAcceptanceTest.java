package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.proto.AeHashes;
import io.latticekv.proto.AeSegments;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.CounterEntry;
import io.latticekv.proto.Gossip;
import io.latticekv.proto.Hello;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.MemberUpdate;
import io.latticekv.proto.OriginSeq;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.PeerMemberStatus;
import io.latticekv.proto.PnCounterState;
import io.latticekv.proto.Rumor;
import io.latticekv.proto.RumorBatch;
import io.latticekv.proto.StatusResponse;
import io.latticekv.server.peer.PeerNetwork;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worst cases of the hostile-input review, against a live node process in a two-node cluster
 * while a well-behaved client reads from it: prefix bombs on both ports, slow connections holding
 * large partial frames, work-bomb anti-entropy frames, a rumor naming 20,000 origins, membership
 * forgeries (a member moved, absurd incarnations, 500 invented members). The reader's gets must
 * all be answered with a p99 under {@link #GET_P99_MAX_MICROS}, the node's resident memory must
 * stay within its budget (heap, RocksDB and the two input budgets: docs/protocol.md), and its view
 * of the cluster must stay right.
 */
class HostileInputAcceptanceTest {

  /** The victim's client input budget for this test (the default is 256 MiB). */
  static final long INPUT_BYTES_MAX = 64L << 20;
  /**
   * What the node may hold beyond its resident size before the attack: both input budgets (client
   * 64 MiB here, peer 64 MiB) and room for the allocator's arenas and buffers in flight (measured:
   * docs/testing.md).
   */
  static final long RSS_GROWTH_MAX = INPUT_BYTES_MAX + (64L << 20) + (160L << 20);

  /**
   * The reader's p99 bound: a node the attack stalls answers in seconds (its work queued behind the
   * attack's); one that keeps serving answers in 10–25 ms at p99 here, 61 ms once on a busy machine.
   * The bound tells the two apart without timing the machine (docs/testing.md).
   */
  static final long GET_P99_MAX_MICROS = 250_000;

  @TempDir Path tmp;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static long rssBytes(Process process) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS for process " + process.pid());
  }

  private static byte[] delimited(PeerFrame frame) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    frame.writeDelimitedTo(out);
    return out.toByteArray();
  }

  private static ByteString id(Random random) {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return ByteString.copyFrom(b);
  }

  /** A peer connection that completed the handshake as {@code self}. */
  private static Socket peer(int port, ByteString self) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(10_000);
    PeerFrame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(PeerNetwork.PROTOCOL_VERSION)
        .setCluster("lattice").setNodeId(self).setAddress("127.0.0.1:1")
        .setMerkleSegments((1 << MerkleTree.DEFAULT_SEGMENT_BITS) << 8 | Hashing.VERSION)).build()
        .writeDelimitedTo(s.getOutputStream());
    PeerFrame answer = PeerFrame.parseDelimitedFrom(s.getInputStream());
    assertTrue(answer != null && answer.hasWelcome(), "handshake refused: " + answer);
    return s;
  }

  private static void quietly(Socket s, byte[] bytes) {
    try {
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
    } catch (IOException closedByTheNode) {
      // expected for most of these
    }
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void theWorstCasesLeaveTheNodeServingWithinItsMemoryAndWithARightView() throws Exception {
    Path logs = Path.of("target", "node-logs");
    Files.createDirectories(logs);
    int peerA = freePort();
    int peerB = freePort();
    try (NodeProcess a = NodeProcess.start(tmp.resolve("a"), "none", logs.resolve("hostile-a.log"),
            "--peer-listen", "127.0.0.1:" + peerA, "--seeds", "127.0.0.1:" + peerA,
            "--input-bytes-max", Long.toString(INPUT_BYTES_MAX));
        NodeProcess b = NodeProcess.start(tmp.resolve("b"), "none", logs.resolve("hostile-b.log"),
            "--peer-listen", "127.0.0.1:" + peerB, "--seeds", "127.0.0.1:" + peerA);
        LatticeClient client = LatticeClient.builder().addresses(a.address()).requestTimeout(Duration.ofSeconds(5))
            .build();
        LatticeClient atB = LatticeClient.builder().addresses(b.address()).build()) {
      assertTrue(ClusterTest.await(() -> formed(client.status()), 30_000) >= 0, "the cluster did not form");
      String bId = atB.status().getNodeId();
      client.increment("read-me", 42);
      warmUp(client);
      long rssBefore = rssBytes(a.process);

      Histogram gets = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
      AtomicBoolean attacking = new AtomicBoolean(true);
      AtomicLong rssMax = new AtomicLong(rssBefore);
      java.util.concurrent.atomic.AtomicReference<Throwable> readFailed = new java.util.concurrent.atomic.AtomicReference<>();
      Thread reader = new Thread(() -> {
        try {
          while (attacking.get()) {
            long start = System.nanoTime();
            client.counter("read-me");
            gets.recordValue(Math.min((System.nanoTime() - start) / 1_000, gets.getHighestTrackableValue()));
            rssMax.accumulateAndGet(rssBytes(a.process), Math::max);
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // a read every few ms
          }
        } catch (IOException | RuntimeException e) {
          readFailed.set(e);
        }
      }, "reader");
      reader.start();
      try {
        attack(a.port, peerA, bId);
      } finally {
        attacking.set(false);
        reader.join(10_000);
      }

      StatusResponse status = client.status();
      long p99 = gets.getValueAtPercentile(99);
      System.out.printf("hostile input: %d gets during the attack, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
          + "RSS %d MiB before, %d MiB at most; %d peer connections refused%n", gets.getTotalCount(),
          gets.getValueAtPercentile(50) / 1e3, p99 / 1e3, gets.getMaxValue() / 1e3, rssBefore >> 20,
          rssMax.get() >> 20, status.getPeerConnectionsRefused());
      assertEquals(null, readFailed.get(), "a get failed during the attack");
      assertTrue(gets.getTotalCount() > 100, "the reader hardly ran: " + gets.getTotalCount());
      assertTrue(p99 < GET_P99_MAX_MICROS, "gets p99 " + p99 / 1e3 + " ms during the attack");
      assertTrue(rssMax.get() - rssBefore < RSS_GROWTH_MAX, "RSS grew by " + ((rssMax.get() - rssBefore) >> 20)
          + " MiB, more than the budget of " + (RSS_GROWTH_MAX >> 20));
      assertEquals(42, client.counter("read-me"), "stored data was harmed");
      MemberInfo peer = status.getMembersList().stream().filter(m -> m.getNodeId().equals(bId)).findFirst()
          .orElseThrow();
      assertEquals("127.0.0.1:" + peerB, peer.getAddress(), "the member was redirected");
      assertEquals("alive", peer.getStatus(), "the real peer was evicted or suspected");
      assertEquals(2, status.getReplicas(), "invented members were counted as replicas");
      atB.increment("after", 1);
      assertTrue(ClusterTest.await(() -> client.counter("after") == 1, 5_000) >= 0, "replication stopped");
    }
  }

  private static boolean formed(StatusResponse s) {
    return s.getReplicas() == 2 && s.getMembersList().stream().filter(m -> m.getStatus().equals("alive")).count() == 2;
  }

  private static void warmUp(LatticeClient client) {
    for (int i = 0; i < 2_000; i++) {
      client.counter("read-me"); // JIT the read path before it is measured
    }
  }

  private void attack(int clientPort, int peerPort, String victimPeerId) throws Exception {
    Random random = new Random(12);
    byte[] bomb = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
    byte[] junk = new byte[1 << 20];
    random.nextBytes(junk);
    // 1. Prefix bombs on both ports, each followed by megabytes that must not be buffered.
    for (int port : new int[] {clientPort, peerPort}) {
      for (int i = 0; i < 10; i++) {
        try (Socket s = new Socket("127.0.0.1", port)) {
          quietly(s, bomb);
          for (int mb = 0; mb < 8; mb++) {
            quietly(s, junk);
          }
        }
      }
    }
    // 2. Slowloris: 60 connections each holding 3 MiB of a 4 MiB frame (180 MiB against a 64 MiB budget).
    List<Socket> slow = new ArrayList<>();
    byte[] prefix = {(byte) 0x80, (byte) 0x80, (byte) 0x80, 0x02}; // 4 MiB
    for (int i = 0; i < 60; i++) {
      Socket s = new Socket("127.0.0.1", clientPort);
      slow.add(s);
      quietly(s, prefix);
      for (int mb = 0; mb < 3; mb++) {
        quietly(s, junk);
      }
    }
    // 3. Work-bomb anti-entropy frames: a level of 2^31 - 1, a segment named 37,000 times.
    ByteString attacker = id(random);
    try (Socket s = peer(peerPort, attacker)) {
      AeSegments.Builder repeated = AeSegments.newBuilder().setFrom(attacker).setExchange(1);
      for (int i = 0; i < 37_000; i++) {
        repeated.addSegments(5);
      }
      for (int i = 0; i < 20; i++) {
        quietly(s, delimited(PeerFrame.newBuilder().setAeHashes(AeHashes.newBuilder().setFrom(attacker)
            .setExchange(i).setLevel(Integer.MAX_VALUE).addIndexes(0)).build()));
        quietly(s, delimited(PeerFrame.newBuilder().setAeSegments(repeated).build()));
      }
    }
    // 4. A rumor naming 20,000 invented origins.
    try (Socket s = peer(peerPort, attacker)) {
      Rumor.Builder rumor = Rumor.newBuilder().setKey(ByteString.copyFromUtf8("origin-flood"))
          .setDelta(CrdtValue.newBuilder().setFormatVersion(1).setPnCounter(PnCounterState.newBuilder()
              .addP(CounterEntry.newBuilder().setReplica(attacker).setTotal(1))));
      for (int i = 0; i < 20_000; i++) {
        rumor.addVersions(OriginSeq.newBuilder().setOrigin(id(random)).setSeq(1));
      }
      quietly(s, delimited(PeerFrame.newBuilder().setRumorBatch(RumorBatch.newBuilder().setFrom(attacker)
          .setBatchId(1).addRumors(rumor)).build()));
    }
    // 5. Membership forgeries: the peer moved, absurd incarnations, 500 invented members. The
    // connection stays open with the slow ones, so the node reads it whatever the timing.
    Socket forger = peer(peerPort, attacker);
    slow.add(forger);
    {
      Socket s = forger;
      ByteString b = ByteString.copyFrom(java.util.HexFormat.of().parseHex(victimPeerId));
      Gossip.Builder gossip = Gossip.newBuilder().setFrom(attacker)
          .addGossip(MemberUpdate.newBuilder().setNodeId(b).setAddress("10.6.6.6:666").setIncarnation(2)
              .setStatus(PeerMemberStatus.PEER_ALIVE))
          .addGossip(MemberUpdate.newBuilder().setNodeId(b).setAddress("10.6.6.6:666").setIncarnation(1L << 40)
              .setStatus(PeerMemberStatus.PEER_LEFT));
      for (int i = 0; i < 500; i++) {
        gossip.addGossip(MemberUpdate.newBuilder().setNodeId(id(random)).setAddress("10.9.9.9:" + (1000 + i))
            .setIncarnation(1).setStatus(PeerMemberStatus.PEER_ALIVE));
      }
      quietly(s, delimited(PeerFrame.newBuilder().setGossip(gossip).build()));
    }
    // A measurement window: the reader runs while the slow connections hold their partial frames.
    java.util.concurrent.locks.LockSupport.parkNanos(2_000_000_000L);
    for (Socket s : slow) {
      s.close();
    }
  }
}
