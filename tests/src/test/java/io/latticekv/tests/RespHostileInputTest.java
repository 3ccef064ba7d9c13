package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.server.api.Limits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Broken and hostile input on the RESP port, over real sockets: each gets Redis's error line and a
 * closed connection where the stream is broken; the node keeps serving everyone else, and no stored
 * data is harmed.
 */
class RespHostileInputTest {

  /** Small, so that the limit is reached quickly; the other tests use a few connections at a time. */
  static final int CONNECTIONS_MAX = 12;

  @TempDir static Path dir;
  static TestNode node;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    Limits limits = new Limits(1 << 20, 1024, 64 << 10, 1_000, 64, CONNECTIONS_MAX, 60_000)
        .withPartialFrameTimeoutMs(500);
    node = TestNode.start(dir, 0, limits);
    port = node.node.startResp(new InetSocketAddress("127.0.0.1", 0)).getPort();
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      j.set("precious", "data");
    }
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  /**
   * What the node answers to {@code input} until it closes the connection (or 10 s pass). The
   * input is written by another thread while this one reads: the node may refuse a command and
   * close before the input is all sent (the writer then meets a broken pipe), and its answer must
   * be read as it arrives, not after the write.
   */
  private static String exchange(byte[] input) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      Thread writer = new Thread(() -> {
        try {
          s.getOutputStream().write(input);
          s.getOutputStream().flush();
        } catch (IOException closedByTheNode) {
          // the node stopped reading and closed: what it answered is read below
        }
      }, "resp-test-writer");
      writer.start();
      String answer = readUntilClosed(s.getInputStream());
      s.close(); // ends a writer still blocked on a node that stopped reading
      try {
        writer.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return answer;
    }
  }

  private static String readUntilClosed(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      return out.toString(StandardCharsets.UTF_8) + "<still open>";
    } catch (java.net.SocketException reset) {
      // closed with unread input: what was answered is in out
    }
    return out.toString(StandardCharsets.UTF_8) + "<closed>";
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void othersAreServedAndDataIsIntact() {
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      assertEquals("PONG", j.ping());
      assertEquals("data", j.get("precious"));
    }
  }

  @Test
  void brokenFramingIsAnsweredThenClosed() throws IOException {
    assertEquals("+PONG\r\n-ERR Protocol error: invalid bulk length: 70000 bytes, over the limit of 65536 for one "
        + "argument\r\n<closed>", exchange(ascii("PING\r\n*2\r\n$3\r\nSET\r\n$70000\r\n")));
    assertTrue(exchange(ascii("*5000\r\n")).startsWith("-ERR Protocol error: invalid multibulk length: 5000 "
        + "arguments, over the limit of 4096"));
    assertTrue(exchange(ascii("*1\r\n:12\r\n")).startsWith("-ERR Protocol error: expected '$', got ':'"));
    assertTrue(exchange(ascii("*1\r\n$4\r\nPINGPONG")).startsWith("-ERR Protocol error: a bulk of 4 bytes is not"));
    assertTrue(exchange(ascii("*" + "9".repeat(100) + "\r\n")).startsWith("-ERR Protocol error: too long"));
    assertTrue(exchange(ascii("SET k \"unclosed\r\n")).startsWith("-ERR Protocol error: unbalanced quotes"));
    byte[] garbage = new byte[4096];
    new java.util.Random(3).nextBytes(garbage);
    garbage[0] = '*';
    assertTrue(exchange(garbage).startsWith("-ERR Protocol error"), "random bytes");
    othersAreServedAndDataIsIntact();
  }

  /** What the node answers to {@code input} within a second, the connection left open. */
  private static String pipelined(String input) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(1_000);
      s.getOutputStream().write(ascii(input));
      return readUntilClosed(s.getInputStream());
    }
  }

  @Test
  void pipelinedCommandsRunAsTheConnectionIsAfterTheOnesBefore() throws IOException {
    // QUIT ends the connection: a write after it in the same pipeline does not run.
    assertEquals("+OK\r\n+OK\r\n<closed>", pipelined("SET before-quit 1\r\nQUIT\r\nSET after-quit 2\r\n"));
    assertEquals("$1\r\n1\r\n$-1\r\n<still open>", pipelined("GET before-quit\r\nGET after-quit\r\n"));
    // SET ... GET reads, then writes: the write pipelined after it is not overtaken by it.
    assertEquals("$-1\r\n+OK\r\n$1\r\nb\r\n<still open>", pipelined("SET sg a GET\r\nSET sg b\r\nGET sg\r\n"));
    // A reply keeps the protocol of its command: HELLO 3 changes the replies after it only.
    String hello = pipelined("GET nothing-here\r\nHELLO 3\r\nGET nothing-here\r\n");
    assertTrue(hello.startsWith("$-1\r\n%7\r\n"), hello);
    assertTrue(hello.endsWith("_\r\n<still open>"), hello);
    // A broken command after a write: the write's reply first, then the error, then the close.
    assertEquals("+OK\r\n-ERR Protocol error: expected '$', got '+'\r\n<closed>",
        pipelined("SET before-error v\r\n*1\r\n+x\r\n"));
    othersAreServedAndDataIsIntact();
  }

  @Test
  void aCommandOverTheFrameLimitIsRefused() throws IOException {
    ByteArrayOutputStream big = new ByteArrayOutputStream();
    big.writeBytes(ascii("*3000\r\n$4\r\nMSET\r\n"));
    for (int i = 0; i < 2999; i++) {
      big.writeBytes(ascii("$1000\r\n" + "v".repeat(1000) + "\r\n"));
    }
    assertTrue(exchange(big.toByteArray()).startsWith("-ERR Protocol error: a command of more than 1048576 bytes"));
    othersAreServedAndDataIsIntact();
  }

  @Test
  void aCommandThatTricklesInIsCutOff() throws IOException {
    long start = System.nanoTime();
    String answer = exchange(ascii("*2\r\n$3\r\nGET\r\n$9\r\npreci"));
    assertTrue(answer.startsWith("-ERR a command did not arrive whole within 500 ms"), answer);
    assertTrue(System.nanoTime() - start < 9_000_000_000L, "closed at the deadline, not by the test's own timeout");
    othersAreServedAndDataIsIntact();
  }

  @Test
  void aClientThatNeverReadsIsPausedWhileOthersAreServed() throws Exception {
    try (Socket flood = new Socket("127.0.0.1", port)) {
      flood.setSoTimeout(5_000);
      OutputStream out = flood.getOutputStream();
      byte[] gets = ascii("*2\r\n$3\r\nGET\r\n$8\r\nprecious\r\n".repeat(1_000));
      java.util.concurrent.ExecutorService writer = java.util.concurrent.Executors.newSingleThreadExecutor();
      java.util.concurrent.Future<?> writing = writer.submit(() -> {
        for (int i = 0; i < 2_000; i++) { // 64 MB of requests; the node stops reading long before
          out.write(gets);
        }
        return null;
      });
      try {
        // Its answers pile up unsent; the node stops reading it, and serves the others meanwhile.
        for (int i = 0; i < 20; i++) {
          othersAreServedAndDataIsIntact();
        }
        assertTrue(node.node.clientInputBudget().used() < Limits.INPUT_BYTES_MAX,
            "held input " + node.node.clientInputBudget().used());
      } finally {
        flood.close(); // the blocked writer fails; the node drops the connection
        writing.cancel(true);
        writer.shutdownNow();
        assertTrue(writer.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS));
      }
    }
    othersAreServedAndDataIsIntact();
  }

  @Test
  void refusalsAndCommandsShowInTheMetrics() throws Exception {
    int metricsPort = node.node.startMetrics(new InetSocketAddress("127.0.0.1", 0));
    exchange(ascii("PING\r\n*1\r\n:1\r\n"));
    var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).timeout(java.time.Duration.ofSeconds(10))
        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    String body = response.body();
    for (String metric : new String[] {"lattice_resp_connections_refused_total", "lattice_resp_commands_total",
        "lattice_resp_connections_received_total"}) {
      assertTrue(java.util.regex.Pattern.compile("(?m)^" + metric + " [1-9]").matcher(body).find(), metric + ":\n" + body);
    }
    assertTrue(body.contains("lattice_resp_connections "), body);
  }

  @Test
  void connectionsOverTheLimitAreRefusedInRespWords() throws IOException {
    java.util.List<Socket> open = new java.util.ArrayList<>();
    try {
      String refused = null;
      for (int i = 0; i < CONNECTIONS_MAX + 5 && refused == null; i++) {
        Socket s = new Socket("127.0.0.1", port);
        open.add(s);
        s.setSoTimeout(300);
        s.getOutputStream().write(ascii("PING\r\n"));
        byte[] buf = new byte[256];
        int n;
        try {
          n = s.getInputStream().read(buf);
        } catch (SocketTimeoutException e) {
          n = 0;
        }
        String answer = n > 0 ? new String(buf, 0, n, StandardCharsets.UTF_8) : "";
        if (answer.startsWith("-ERR")) {
          refused = answer;
        } else {
          assertEquals("+PONG\r\n", answer);
        }
      }
      assertTrue(refused != null && refused.contains("too many connections"), "refused: " + refused);
    } finally {
      for (Socket s : open) {
        s.close();
      }
      // The node counts a connection until it has seen the close: wait for that before the next test.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!servesANewConnection()) {
        assertTrue(System.nanoTime() < deadline, "the closed connections were still counted after 10 s");
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
      }
    }
  }

  private static boolean servesANewConnection() {
    try {
      return pipelined("PING\r\n").startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }
}
