package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.client.LatticeTimeoutException;
import io.latticekv.client.LatticeUnavailableException;
import io.latticekv.client.SetContext;
import io.latticekv.client.SetValue;
import io.latticekv.client.Value;
import io.latticekv.proto.ErrorCode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientBehaviourTest {

  @TempDir Path dir;

  /** A port nothing listens on: bound, then released. */
  private static int deadPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * A fake node on loopback: accepts connections and, per {@code hangUp}, either closes each one
   * once a request has arrived, or holds it open and never answers.
   */
  private static final class FakeNode implements AutoCloseable {
    final ServerSocket server;
    final List<Socket> accepted = new ArrayList<>();
    final Thread thread;

    FakeNode(boolean hangUp) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            Socket s = server.accept();
            synchronized (accepted) {
              accepted.add(s);
            }
            if (hangUp) {
              s.setSoTimeout(10_000);
              s.getInputStream().read(); // wait for the request to arrive, then drop it
              s.close();
            }
          } catch (IOException closed) {
            return;
          }
        }
      });
      thread.setDaemon(true);
      thread.start();
    }

    String address() {
      return "127.0.0.1:" + server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      server.close();
      synchronized (accepted) {
        for (Socket s : accepted) {
          s.close();
        }
      }
    }
  }

  /**
   * Writes that arrive together are stored as one batch per pass of the node's event loop; each
   * must still see the ones before it, a refused one must fail alone, and a read sent after a
   * write on the same connection must see it.
   */
  @Test
  void pipelinedWritesOnOneConnectionBehaveAsIfAppliedOneByOne() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).poolSize(1).build()) {
      client.add("a-set", "x");
      int n = 2_000;
      List<CompletableFuture<Long>> increments = new ArrayList<>();
      List<CompletableFuture<Long>> refused = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        increments.add(client.incrementAsync("hits", 1));
        if (i % 100 == 0) {
          refused.add(client.incrementAsync("a-set", 1)); // a set: refused, in the middle of a batch
        }
      }
      for (int i = 0; i < n; i++) {
        // One connection, so the node applies them in the order sent: the i-th saw i before it.
        assertEquals(i + 1, increments.get(i).get(30, TimeUnit.SECONDS), "answer to increment " + i);
      }
      for (CompletableFuture<Long> f : refused) {
        java.util.concurrent.ExecutionException e =
            assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.TYPE_MISMATCH, ((LatticeException) e.getCause()).code());
      }
      for (int i = 0; i < 200; i++) {
        CompletableFuture<Long> write = client.incrementAsync("read-your-write", 1);
        CompletableFuture<Long> read = client.counterAsync("read-your-write");
        assertEquals(i + 1, read.get(30, TimeUnit.SECONDS), "the read sent after the write saw it");
        assertEquals(i + 1, write.get(30, TimeUnit.SECONDS));
      }
    }
  }

  @Test
  void typedOperationsOnAllThreeTypes() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      assertEquals(5, client.increment("views", 5));
      assertEquals(3, client.decrement("views", 2));
      assertEquals(3, client.counter("views"));
      assertEquals(0, client.counter("never-written"));

      assertEquals(3, client.add("tags", "red", "green", "blue"), "an add answers the set's size, not the set");
      SetValue set = client.elements("tags");
      assertEquals(List.of("blue", "green", "red"), set.elementsAsStrings());
      assertEquals(List.of("blue", "red"), client.removeAndGet("tags", "green").elementsAsStrings());
      assertEquals(List.of("blue", "red", "white"), client.addAndGet("tags", "white").elementsAsStrings());
      assertEquals(2, client.remove("tags", "white"));
      assertTrue(client.contains("tags", "red"));
      assertFalse(client.contains("tags", "green"));
      assertEquals(2, client.size("tags"));
      assertEquals(0, client.size("never-written"));

      assertEquals("hello", client.put("greeting", "hello").asString());
      assertEquals("hello", client.register("greeting").orElseThrow().asString());
      assertTrue(client.register("nothing").isEmpty());

      Value generic = client.get("views").orElseThrow();
      assertEquals(3, ((Value.Counter) generic).value());

      LatticeException mismatch = assertThrows(LatticeException.class, () -> client.add("views", "x"));
      assertEquals(ErrorCode.TYPE_MISMATCH, mismatch.code());
    }
  }

  @Test
  void aRemoveWithAReadsContextSparesAConcurrentAdd() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      client.add("s", "x");
      SetContext seen = client.elements("s").context();
      client.add("s", "x"); // a newer add of x the reader did not see
      client.add("s", "y");
      assertEquals(2, client.remove("s", seen, "x", "y"));
      assertEquals(List.of("x", "y"), client.elements("s").elementsAsStrings(),
          "the remove saw neither the second add of x nor y, so both stay");
      SetContext now = client.elements("s").context();
      assertEquals(1, client.remove("s", now, "x"));
      assertEquals(List.of("y"), client.elements("s").elementsAsStrings());
    }
  }

  @Test
  void pipelinedAsyncRequestsFromManyThreadsAreAllCounted() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).poolSize(3).build()) {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      List<Future<List<CompletableFuture<Long>>>> batches = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        batches.add(pool.submit(() -> {
          List<CompletableFuture<Long>> mine = new ArrayList<>();
          for (int i = 0; i < 500; i++) {
            mine.add(client.incrementAsync("shared", 1));
          }
          return mine;
        }));
      }
      for (Future<List<CompletableFuture<Long>>> batch : batches) {
        for (CompletableFuture<Long> f : batch.get(1, TimeUnit.MINUTES)) {
          f.get(1, TimeUnit.MINUTES);
        }
      }
      pool.shutdown();
      assertEquals(4_000, client.counter("shared"));
    }
  }

  @Test
  void aDownAddressIsSkippedForTheNextOne() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder()
            .addresses("127.0.0.1:" + deadPort() + "," + node.address()).build()) {
      assertEquals(1, client.increment("c", 1));
    }
  }

  @Test
  void noReachableNodeIsAClearUnavailableError() throws Exception {
    try (LatticeClient client = LatticeClient.builder()
        .addresses("127.0.0.1:" + deadPort() + ",127.0.0.1:" + deadPort()).build()) {
      LatticeUnavailableException e = assertThrows(LatticeUnavailableException.class, () -> client.counter("c"));
      assertTrue(e.getMessage().startsWith("no node reachable at"), e.getMessage());
    }
  }

  @Test
  void theClientReconnectsAfterTheNodeRestarts() throws Exception {
    TestNode node = TestNode.start(dir, 0);
    int port = node.port();
    try (LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      client.increment("c", 1);
      node.close();
      node = TestNode.start(dir, port);
      assertEquals(2, client.increment("c", 1));
    } finally {
      node.close();
    }
  }

  @Test
  void aRequestWithoutAnAnswerTimesOut() throws Exception {
    try (FakeNode silent = new FakeNode(false);
        LatticeClient client = LatticeClient.builder().addresses(silent.address())
            .requestTimeout(Duration.ofMillis(300)).build()) {
      LatticeTimeoutException e = assertThrows(LatticeTimeoutException.class, () -> client.counter("c"));
      assertTrue(e.getMessage().contains("within 300 ms"), e.getMessage());
    }
  }

  @Test
  void anIncrementWhoseConnectionDiedIsNotRetriedButAReadIs() throws Exception {
    try (FakeNode dropper = new FakeNode(true);
        TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(dropper.address() + "," + node.address()).build()) {
      LatticeUnavailableException e = assertThrows(LatticeUnavailableException.class, () -> client.increment("c", 1));
      assertTrue(e.getMessage().contains("may or may not have been applied"), e.getMessage());
      assertEquals(0, client.counter("c"), "the read failed over to the live node");
    }
  }

  @Test
  void retryingNonIdempotentUpdatesIsTheCallersChoice() throws Exception {
    try (FakeNode dropper = new FakeNode(true);
        TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(dropper.address() + "," + node.address())
            .retryNonIdempotent(true).build()) {
      assertEquals(1, client.increment("c", 1));
    }
  }
}
