package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.latticekv.client.LatticeClient;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken input against a live node: each bad connection gets an error or is closed,
 * and the node keeps serving a well-behaved client with its data intact.
 */
class ProtocolRobustnessTest {

  @TempDir Path dir;
  private TestNode node;
  private LatticeClient client;

  @BeforeEach
  void start() throws Exception {
    node = TestNode.start(dir, 0);
    client = LatticeClient.builder().addresses(node.address()).build();
    client.increment("c", 10);
    client.add("s", "a", "b");
    client.put("r", "value");
  }

  @AfterEach
  void stop() {
    client.close();
    node.close();
  }

  private void assertDataIntact() {
    assertEquals(10, client.counter("c"));
    assertEquals(List.of("a", "b"), client.elements("s").elementsAsStrings());
    assertEquals("value", client.register("r").orElseThrow().asString());
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket("127.0.0.1", node.port());
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** Reads frames until the node closes the connection; returns them. Bounded by the socket timeout. */
  private static List<Response> readUntilClosed(Socket socket) throws IOException {
    List<Response> responses = new ArrayList<>();
    InputStream in = socket.getInputStream();
    for (int i = 0; i < 100; i++) {
      Response r = Response.parseDelimitedFrom(in);
      if (r == null) {
        return responses;
      }
      responses.add(r);
    }
    throw new AssertionError("the node kept answering garbage");
  }

  private static byte[] frame(byte[] body) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.writeUInt32NoTag(body.length);
    coded.writeRawBytes(body);
    coded.flush();
    return out.toByteArray();
  }

  @Test
  void randomGarbageClosesOnlyThatConnection() throws Exception {
    Random random = new Random(1);
    for (int i = 0; i < 20; i++) {
      byte[] garbage = new byte[1 + random.nextInt(2000)];
      random.nextBytes(garbage);
      try (Socket socket = connect()) {
        socket.getOutputStream().write(garbage);
        socket.getOutputStream().flush();
        socket.shutdownOutput();
        for (Response r : readUntilClosed(socket)) {
          assertTrue(r.hasError(), "garbage must not be answered as a request: " + r);
        }
      }
    }
    assertDataIntact();
  }

  @Test
  void anOversizedLengthPrefixGetsAnErrorAndAClose() throws Exception {
    try (Socket socket = connect()) {
      socket.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f});
      List<Response> responses = readUntilClosed(socket);
      assertEquals(1, responses.size());
      assertEquals(ErrorCode.BAD_REQUEST, responses.get(0).getError().getCode());
      assertTrue(responses.get(0).getError().getMessage().contains("exceeds the limit"));
    }
    assertDataIntact();
  }

  @Test
  void aTruncatedFrameFollowedByAHangUpHarmsNothing() throws Exception {
    byte[] whole = frame(Request.newBuilder().setId(5).setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("c"))).build().toByteArray());
    try (Socket socket = connect()) {
      socket.getOutputStream().write(whole, 0, whole.length - 2);
    }
    assertDataIntact();
  }

  @Test
  void anUnknownRequestTypeIsAnsweredAndTheConnectionGoesOn() throws Exception {
    // Field 99 of Request, as a newer client might send: this node does not know it.
    byte[] unknown = frame(new byte[] {0x08, 0x09, (byte) 0x9a, 0x06, 0x01, 0x00});
    byte[] valid = frame(Request.newBuilder().setId(10).setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("c"))).build().toByteArray());
    try (Socket socket = connect()) {
      socket.getOutputStream().write(unknown);
      socket.getOutputStream().write(valid);
      InputStream in = socket.getInputStream();
      Response first = Response.parseDelimitedFrom(in);
      Response second = Response.parseDelimitedFrom(in);
      assertEquals(9, first.getId());
      assertEquals(ErrorCode.UNKNOWN_REQUEST, first.getError().getCode());
      assertEquals(10, second.getId());
      assertEquals(10, second.getGet().getValue().getCounter());
    }
  }

  @Test
  void aWellBehavedClientIsServedWhileOthersSendGarbage() throws Exception {
    List<CompletableFuture<Long>> increments = new ArrayList<>();
    Random random = new Random(2);
    for (int i = 0; i < 200; i++) {
      increments.add(client.incrementAsync("busy", 1));
      if (i % 20 == 0) {
        try (Socket socket = connect()) {
          byte[] garbage = new byte[500];
          random.nextBytes(garbage);
          socket.getOutputStream().write(garbage);
        }
      }
    }
    for (CompletableFuture<Long> f : increments) {
      f.get(30, TimeUnit.SECONDS);
    }
    assertEquals(200, client.counter("busy"));
    assertDataIntact();
  }
}
