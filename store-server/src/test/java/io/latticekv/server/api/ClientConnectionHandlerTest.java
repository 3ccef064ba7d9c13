package io.latticekv.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.CounterUpdate;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.MergeRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.wire.ProtobufFrameEncoder;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.IdleStateEvent;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client-port pipeline in an {@link EmbeddedChannel}: framing, answers, refusals, backpressure. */
class ClientConnectionHandlerTest {

  @TempDir Path dir;
  private Store store;
  private final ArrayDeque<Runnable> parkedWrites = new ArrayDeque<>();
  private final Executor parked = parkedWrites::add;

  @BeforeEach
  void open() {
    store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE));
  }

  @AfterEach
  void close() {
    store.close();
  }

  private EmbeddedChannel channel(int inflightMax, Executor writes) {
    Limits limits = new Limits(1024, 64, 64, 10, inflightMax, 10, 60_000);
    RequestProcessor processor = new RequestProcessor(store, limits, Runnable::run, writes);
    return new EmbeddedChannel(
        new VarintFrameDecoder(limits.frameBytesMax()),
        new ProtobufFrameEncoder(),
        new ClientConnectionHandler(processor, inflightMax, new Inflight()));
  }

  private static ByteBuf frame(Request request) {
    EmbeddedChannel encoder = new EmbeddedChannel(new ProtobufFrameEncoder());
    encoder.writeOutbound(request);
    return encoder.readOutbound();
  }

  private static Response answer(EmbeddedChannel ch) throws Exception {
    ByteBuf out = ch.readOutbound();
    if (out == null) {
      return null;
    }
    EmbeddedChannel decoder = new EmbeddedChannel(new VarintFrameDecoder(1 << 20));
    decoder.writeInbound(out);
    ByteBuf body = decoder.readInbound();
    try {
      return Response.parseFrom(body.nioBuffer());
    } finally {
      body.release();
    }
  }

  private static Request incr(long id, String key) {
    return Request.newBuilder().setId(id).setMerge(MergeRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(key)).setCounter(CounterUpdate.newBuilder().setAmount(1))).build();
  }

  @Test
  void pipelinedRequestsAreAnsweredWithTheirIds() throws Exception {
    EmbeddedChannel ch = channel(16, Runnable::run);
    ByteBuf both = Unpooled.wrappedBuffer(frame(incr(7, "a")), frame(incr(8, "a")));
    ch.writeInbound(both);
    Response first = answer(ch);
    Response second = answer(ch);
    assertEquals(7, first.getId());
    assertEquals(1, first.getMerge().getValue().getCounter());
    assertEquals(8, second.getId());
    assertEquals(2, second.getMerge().getValue().getCounter());
  }

  @Test
  void garbageGetsAnErrorAndTheConnectionIsClosed() throws Exception {
    EmbeddedChannel ch = channel(16, Runnable::run);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x04, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}));
    Response error = answer(ch);
    assertEquals(0, error.getId());
    assertEquals(ErrorCode.BAD_REQUEST, error.getError().getCode());
    assertTrue(error.getError().getMessage().startsWith("frame is not a valid request"));
    assertFalse(ch.isOpen());
  }

  @Test
  void anOversizedFrameIsRefusedBeforeItArrives() throws Exception {
    EmbeddedChannel ch = channel(16, Runnable::run);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, (byte) 0x80, 0x40})); // 1 MiB
    Response error = answer(ch);
    assertEquals(ErrorCode.BAD_REQUEST, error.getError().getCode());
    assertTrue(error.getError().getMessage().contains("exceeds the limit of 1024"), error.getError().getMessage());
    assertFalse(ch.isOpen());
  }

  @Test
  void aTruncatedFrameWaitsForTheRestWithoutAnswering() throws Exception {
    EmbeddedChannel ch = channel(16, Runnable::run);
    ByteBuf whole = frame(Request.newBuilder().setId(3).setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))).build());
    ch.writeInbound(whole.readRetainedSlice(whole.readableBytes() - 1));
    assertNull(answer(ch));
    assertTrue(ch.isOpen());
    ch.writeInbound(whole);
    assertEquals(3, answer(ch).getId());
  }

  @Test
  void readingStopsAtTheInflightLimitAndResumesAsAnswersDrain() throws Exception {
    EmbeddedChannel ch = channel(2, parked);
    ch.writeInbound(frame(incr(1, "a")));
    assertTrue(ch.config().isAutoRead());
    ch.writeInbound(frame(incr(2, "a")));
    assertFalse(ch.config().isAutoRead(), "two requests outstanding: stop reading");
    assertNull(answer(ch));
    parkedWrites.poll().run();
    ch.runPendingTasks();
    assertEquals(1, answer(ch).getId());
    assertTrue(ch.config().isAutoRead(), "one answered: read again");
    parkedWrites.poll().run();
    ch.runPendingTasks();
    assertEquals(2, answer(ch).getId());
  }

  @Test
  void anIdleConnectionIsClosedOnlyWhenNoRequestOfItsIsRunning() throws Exception {
    EmbeddedChannel ch = channel(16, parked);
    ch.writeInbound(frame(incr(1, "a")));
    ch.pipeline().fireUserEventTriggered(IdleStateEvent.FIRST_READER_IDLE_STATE_EVENT);
    assertTrue(ch.isOpen(), "a request still running: the connection waits for it");
    parkedWrites.poll().run();
    ch.runPendingTasks();
    assertEquals(1, answer(ch).getId());
    ch.pipeline().fireUserEventTriggered(IdleStateEvent.READER_IDLE_STATE_EVENT);
    assertFalse(ch.isOpen(), "silent and owed nothing: closed");
  }
}
