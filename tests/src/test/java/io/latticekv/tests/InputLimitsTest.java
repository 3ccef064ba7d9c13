package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedOutputStream;
import io.latticekv.client.LatticeClient;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Response;
import io.latticekv.server.api.Limits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client port's limits on what it buffers, against a live node: length prefixes that used to
 * bypass the frame limit, frames that trickle in (slowloris), a node-wide input budget, and the
 * connection limit. Each bad connection gets one error frame saying why, then a close; a
 * well-behaved client goes on being served.
 */
class InputLimitsTest {

  @TempDir Path dir;
  private TestNode node;

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  private void start(Limits limits) throws Exception {
    node = TestNode.start(dir, 0, limits);
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket("127.0.0.1", node.port());
    socket.setSoTimeout(10_000);
    return socket;
  }

  private static byte[] prefix(long length) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.writeUInt64NoTag(length);
    coded.flush();
    return out.toByteArray();
  }

  /** The one error frame a broken connection gets, after which the node must close it. */
  private static Response errorThenClose(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    Response error = Response.parseDelimitedFrom(in);
    assertTrue(error != null && error.hasError(), "expected an error frame, got " + error);
    try {
      assertEquals(-1, in.read(), "the node must close the connection after the error");
    } catch (SocketException reset) {
      // closed with unread input pending: a reset is a close too
    }
    return error;
  }

  private void assertServing() {
    try (LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      long before = client.counter("served");
      assertEquals(before + 1, client.increment("served", 1));
    }
  }

  /**
   * {@code ff ff ff ff 0f} decoded to -1, the decoder's "incomplete" value, so the limit was never
   * checked: 300 MiB were accepted in seconds and the node ran out of direct memory.
   */
  @Test
  void theFiveBytePrefixBombIsRefusedAndNothingAfterItIsBuffered() throws Exception {
    start(Limits.DEFAULTS);
    try (Socket socket = connect()) {
      OutputStream out = socket.getOutputStream();
      out.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f});
      out.flush();
      Response error = errorThenClose(socket);
      assertEquals(ErrorCode.BAD_REQUEST, error.getError().getCode());
      assertTrue(error.getError().getMessage().contains("4294967295 bytes exceeds the limit"), error.toString());
    }
    assertEquals(0, node.node.clientInputBudget().used());
    assertServing();
  }

  @Test
  void everyLengthThatReadsNegativeAsASignedIntGetsTheErrorFrame() throws Exception {
    start(Limits.DEFAULTS);
    for (long length : new long[] {1L << 31, 0xFFFF_FFFEL, 0x8000_0001L, 0xC000_0000L}) {
      try (Socket socket = connect()) {
        socket.getOutputStream().write(prefix(length));
        Response error = errorThenClose(socket);
        assertTrue(error.getError().getMessage().contains(length + " bytes exceeds the limit"), error.toString());
      }
    }
    assertServing();
  }

  @Test
  void aFrameThatTricklesInIsDroppedAfterThePartialFrameTimeout() throws Exception {
    start(Limits.DEFAULTS.withPartialFrameTimeoutMs(300));
    try (Socket socket = connect()) {
      socket.getOutputStream().write(prefix(1 << 20));
      socket.getOutputStream().write(new byte[1000]);
      Response error = errorThenClose(socket);
      assertEquals(ErrorCode.BAD_REQUEST, error.getError().getCode());
      assertTrue(error.getError().getMessage().contains("did not arrive within 300 ms"), error.toString());
    }
    assertEquals(0, node.node.clientInputBudget().used());
    assertServing();
  }

  /**
   * Each slow connection held an almost complete 4 MiB frame and there was no node-wide bound.
   * Now the node holds at most its input budget; the oldest frames still arriving are dropped.
   */
  @Test
  void slowConnectionsCannotHoldMoreThanTheInputBudget() throws Exception {
    long budget = 8L << 20;
    start(Limits.DEFAULTS.withInputBytesMax(budget));
    List<Socket> slow = new ArrayList<>();
    try {
      for (int i = 0; i < 6; i++) {
        Socket s = connect();
        slow.add(s);
        s.getOutputStream().write(prefix(3 << 20));
        s.getOutputStream().write(new byte[(3 << 20) - 10]);
        s.getOutputStream().flush();
        int evictionsDue = Math.max(0, i - 1); // two 3 MiB frames fit in 8 MiB, a third evicts the oldest
        assertTrue(ClusterTest.await(() -> node.node.clientInputBudget().evictions() >= evictionsDue, 10_000) >= 0);
        assertTrue(node.node.clientInputBudget().used() <= budget, "over budget: " + node.node.clientInputBudget().used());
      }
      assertTrue(node.node.clientInputBudget().evictions() >= 4, "evictions " + node.node.clientInputBudget().evictions());
      Response evicted = errorThenClose(slow.get(0));
      assertEquals(ErrorCode.OVERLOADED, evicted.getError().getCode());
      assertTrue(evicted.getError().getMessage().contains("oldest still arriving"), evicted.toString());
      assertServing();
    } finally {
      for (Socket s : slow) {
        s.close();
      }
    }
  }

  @Test
  void aConnectionPastTheLimitGetsAnErrorFrameNotAReset() throws Exception {
    start(Limits.DEFAULTS.withConnectionsMax(2));
    try (Socket a = connect(); Socket b = connect(); Socket c = connect()) {
      Response error = errorThenClose(c);
      assertEquals(ErrorCode.OVERLOADED, error.getError().getCode());
      assertTrue(error.getError().getMessage().contains("the limit is 2"), error.toString());
    }
  }

  /**
   * A client that pipelines requests and never reads its answers used to have them all queued in
   * the node's memory (64 KiB answers to 12-byte gets); now the node stops reading from it while
   * its answers pile up, and TCP stops the client.
   */
  @Test
  void aClientThatNeverReadsItsAnswersIsStoppedByBackpressure() throws Exception {
    start(Limits.DEFAULTS);
    try (LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      client.put("k", "x".repeat(64 << 10)); // each answer is 64 KiB
    }
    byte[] get = frameOf(io.latticekv.proto.Request.newBuilder().setId(1)
        .setGet(io.latticekv.proto.GetRequest.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8("k")))
        .build().toByteArray());
    byte[] burst = new byte[get.length * 1000];
    for (int i = 0; i < 1000; i++) {
      System.arraycopy(get, 0, burst, i * get.length, get.length);
    }
    java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
    long directBefore = io.netty.util.internal.PlatformDependent.usedDirectMemory();
    try (Socket socket = connect()) {
      socket.setReceiveBufferSize(4096);
      Thread writer = new Thread(() -> {
        try {
          OutputStream out = socket.getOutputStream();
          while (written.get() < (1L << 30)) {
            out.write(burst);
            written.addAndGet(burst.length);
          }
        } catch (IOException closed) {
          // the socket closes at the end of the test
        }
      }, "never-reads");
      writer.setDaemon(true);
      writer.start();
      long deadline = System.nanoTime() + 30_000_000_000L;
      long before;
      do { // poll until the writer stalls (no progress in 500 ms), at most 30 s
        before = written.get();
        java.util.concurrent.locks.LockSupport.parkNanos(500_000_000);
      } while (written.get() != before && System.nanoTime() < deadline);
      long held = io.netty.util.internal.PlatformDependent.usedDirectMemory() - directBefore;
      // Measured: 383 MiB of queued answers without the backpressure, a few MiB with it.
      assertTrue(held < (64L << 20), "the node holds " + (held >> 20) + " MiB of answers for a client that reads none");
    }
    assertServing();
  }

  private static byte[] frameOf(byte[] body) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.writeUInt32NoTag(body.length);
    coded.writeRawBytes(body);
    coded.flush();
    return out.toByteArray();
  }
}
