package io.latticekv.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.AuthRequest;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.wire.ProtobufFrameEncoder;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.latticekv.server.security.AuthFile;
import io.latticekv.server.security.Authenticator;
import io.latticekv.server.security.PasswordHash;
import io.latticekv.server.security.Role;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What one connection may do about logging in: requests before it, one at a time, few failures, a deadline. */
class ClientLoginTest {

  @TempDir Path dir;
  private Store store;
  private Authenticator auth;
  private EmbeddedChannel ch;

  @BeforeEach
  void open() throws Exception {
    store = Store.open(StoreOptions.defaults(dir.resolve("data"), SyncPolicy.NONE));
    AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("alice-password".toCharArray(), new SecureRandom()))).save(dir.resolve("users"));
    auth = Authenticator.open(dir.resolve("users"));
    Limits limits = new Limits(1024, 64, 64, 10, 16, 10, 60_000);
    RequestProcessor processor = new RequestProcessor(store, limits, Runnable::run, Runnable::run);
    processor.requireLogins(auth);
    ch = new EmbeddedChannel(new VarintFrameDecoder(limits.frameBytesMax()), new ProtobufFrameEncoder(),
        new ClientConnectionHandler(processor, 16, new Inflight()));
  }

  @AfterEach
  void close() {
    ch.finishAndReleaseAll();
    auth.close();
    store.close();
  }

  private void send(Request request) {
    EmbeddedChannel encoder = new EmbeddedChannel(new ProtobufFrameEncoder());
    encoder.writeOutbound(request);
    ch.writeInbound((ByteBuf) encoder.readOutbound());
  }

  private static Request login(long id, String password) {
    return Request.newBuilder().setId(id).setAuth(AuthRequest.newBuilder().setUser("alice").setPassword(password))
        .build();
  }

  /** The next answer, waiting (at most 10 s) for one computed off the event loop. */
  private Response answer() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    ByteBuf out;
    while ((out = ch.readOutbound()) == null && System.nanoTime() < deadline) {
      ch.runPendingTasks();
      Thread.onSpinWait(); // polling with a deadline: the hash runs on the authenticator's threads
    }
    assertTrue(out != null, "no answer within 10 s");
    EmbeddedChannel decoder = new EmbeddedChannel(new VarintFrameDecoder(1 << 20));
    decoder.writeInbound(out);
    ByteBuf body = decoder.readInbound();
    try {
      return Response.parseFrom(body.nioBuffer());
    } finally {
      body.release();
    }
  }

  @Test
  void aRequestBeforeTheLoginIsRefusedAndOneAfterItIsServed() throws Exception {
    send(Request.newBuilder().setId(1).setGet(GetRequest.newBuilder().setKey(com.google.protobuf.ByteString
        .copyFromUtf8("k"))).build());
    assertEquals(ErrorCode.UNAUTHENTICATED, answer().getError().getCode());
    send(login(2, "alice-password"));
    assertEquals("read", answer().getAuth().getRole());
    send(Request.newBuilder().setId(3).setGet(GetRequest.newBuilder().setKey(com.google.protobuf.ByteString
        .copyFromUtf8("k"))).build());
    assertFalse(answer().hasError());
  }

  @Test
  void oneLoginAtATimeAndTheConnectionClosesAfterThreeFailures() throws Exception {
    send(login(1, "guess-1"));
    send(login(2, "guess-2")); // while the first is being checked
    Response second = answer();
    assertEquals(2, second.getId());
    assertEquals("a login is already being checked on this connection; wait for its answer",
        second.getError().getMessage());
    assertEquals("wrong password for user 'alice'", answer().getError().getMessage());
    send(login(3, "guess-3"));
    Response third = answer();
    assertEquals(ErrorCode.UNAUTHENTICATED, third.getError().getCode());
    assertTrue(ch.isOpen(), "closed after two failures");
    send(login(4, "guess-4"));
    Response fourth = answer();
    assertEquals(ErrorCode.UNAUTHENTICATED, fourth.getError().getCode(), fourth.toString());
    // The answer was written from the hash's thread (an EmbeddedChannel runs everything where it is
    // called), so the close follows it there: wait for it, with a deadline.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (ch.isOpen() && System.nanoTime() < deadline) {
      ch.runPendingTasks();
      Thread.onSpinWait();
    }
    assertFalse(ch.isOpen(), "a third failed login must close the connection");
  }

  @Test
  void aConnectionThatDoesNotLogInInTimeIsClosed() throws Exception {
    ch.advanceTimeBy(ClientConnectionHandler.LOGIN_DEADLINE_MS - 1_000, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertTrue(ch.isOpen());
    ch.advanceTimeBy(2_000, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    Response refused = answer();
    assertEquals("no login within 30 s of connecting", refused.getError().getMessage());
    ch.runPendingTasks();
    assertFalse(ch.isOpen());
  }
}
