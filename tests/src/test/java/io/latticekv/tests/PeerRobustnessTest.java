package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.proto.Hello;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.Ping;
import io.latticekv.server.peer.PeerNetwork;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input on the peer port: garbage, another cluster, an unknown version, oversized frames,
 * frames before the handshake. Each is refused or closed; the cluster keeps working.
 */
class PeerRobustnessTest {

  @TempDir Path dir;

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(10_000);
    return s;
  }

  private static Hello.Builder hello() {
    return Hello.newBuilder().setProtocolVersion(PeerNetwork.PROTOCOL_VERSION).setCluster("test")
        .setNodeId(ByteString.copyFrom(new byte[16])).setAddress("127.0.0.1:1")
        .setMerkleSegments((1 << io.latticekv.core.merkle.MerkleTree.DEFAULT_SEGMENT_BITS) << 8
            | io.latticekv.core.merkle.Hashing.VERSION);
  }

  /** Sends one Hello and returns the answer, then expects the connection closed if refused. */
  private static PeerFrame handshake(int port, Hello.Builder hello) throws IOException {
    try (Socket s = connect(port)) {
      PeerFrame.newBuilder().setHello(hello).build().writeDelimitedTo(s.getOutputStream());
      InputStream in = s.getInputStream();
      PeerFrame answer = PeerFrame.parseDelimitedFrom(in);
      if (answer.hasRefused()) {
        assertEquals(-1, in.read(), "a refused peer's connection must be closed");
      }
      return answer;
    }
  }

  private static void assertClosed(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    for (int i = 0; i < 1_000; i++) {
      if (in.read() == -1) {
        return;
      }
    }
    throw new AssertionError("the node kept the connection open");
  }

  @Test
  void hostilePeersAreRefusedAndTheClusterKeepsServing() throws Exception {
    try (TestCluster cluster = TestCluster.start(dir, 2)) {
      assertTrue(ClusterTest.await(() -> ClusterTest.allSee(cluster.nodes, 2), 15_000) >= 0);
      int port = cluster.peerPorts.get(0);

      PeerFrame other = handshake(port, hello().setCluster("someone-else"));
      assertTrue(other.getRefused().getReason().contains("cluster 'someone-else' is not this node's cluster 'test'"),
          other.getRefused().getReason());
      PeerFrame version = handshake(port, hello().setProtocolVersion(99));
      assertTrue(version.getRefused().getReason().contains("protocol version 99"), version.getRefused().getReason());
      PeerFrame before = handshake(port, hello());
      assertTrue(before.hasWelcome(), "a proper Hello is welcomed");

      try (Socket s = connect(port)) { // a protocol frame before the handshake
        PeerFrame.newBuilder().setPing(Ping.newBuilder().setSeq(1)).build().writeDelimitedTo(s.getOutputStream());
        assertTrue(PeerFrame.parseDelimitedFrom(s.getInputStream()).hasRefused());
      }
      try (Socket s = connect(port)) { // garbage
        byte[] junk = new byte[3000];
        new Random(5).nextBytes(junk);
        s.getOutputStream().write(junk);
        assertClosed(s);
      }
      try (Socket s = connect(port)) { // an oversized length prefix
        s.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f});
        assertClosed(s);
      }
      try (Socket s = connect(port)) { // the 5-byte prefix that read as "incomplete" and buffered everything
        s.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f});
        try {
          s.getOutputStream().write(new byte[1 << 20]);
        } catch (java.net.SocketException closedWhileWriting) {
          // the node closed the connection before the megabyte was through: what is wanted
        }
        assertClosed(s);
      }
      assertEquals(0, cluster.nodes.get(0).cluster().peerInputBudget().used(), "the peer port buffered a bomb");
      PeerFrame noId = handshake(port, hello().setNodeId(ByteString.EMPTY));
      assertTrue(noId.getRefused().getReason().contains("node id is not valid"), noId.getRefused().getReason());
      PeerFrame ownId = handshake(port, hello().setNodeId(ByteString.copyFrom(
          java.util.HexFormat.of().parseHex(cluster.nodes.get(0).store().nodeId().toString()))));
      assertTrue(ownId.getRefused().getReason().contains("own id"), ownId.getRefused().getReason());
      try (Socket s = connect(port)) { // welcomed as one node, then speaking for another
        PeerFrame.newBuilder().setHello(hello()).build().writeDelimitedTo(s.getOutputStream());
        assertTrue(PeerFrame.parseDelimitedFrom(s.getInputStream()).hasWelcome());
        PeerFrame.newBuilder().setPing(Ping.newBuilder().setFrom(ByteString.copyFrom(new byte[] {
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})).setSeq(1)).build()
            .writeDelimitedTo(s.getOutputStream());
        assertClosed(s);
      }
      try (Socket s = connect(port)) { // welcomed, then a frame that is not a peer frame
        PeerFrame.newBuilder().setHello(hello()).build().writeDelimitedTo(s.getOutputStream());
        assertTrue(PeerFrame.parseDelimitedFrom(s.getInputStream()).hasWelcome());
        s.getOutputStream().write(new byte[] {0x05, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
        assertClosed(s);
      }

      try (LatticeClient a = LatticeClient.builder().addresses(cluster.clientAddress(0)).build();
          LatticeClient b = LatticeClient.builder().addresses(cluster.clientAddress(1)).build()) {
        a.increment("after", 7);
        assertTrue(ClusterTest.await(() -> b.counter("after") == 7, 2_000) >= 0, "replication stopped");
      }
      assertTrue(ClusterTest.allSee(cluster.nodes, 2), "membership was disturbed");
    }
  }
}
