package io.latticekv.proto.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.Request;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

  private static Request request(long id) {
    return Request.newBuilder().setId(id).setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))).build();
  }

  /** Records the exceptions that reach the end of the pipeline. */
  private static final class Errors extends ChannelInboundHandlerAdapter {
    final List<Throwable> seen = new ArrayList<>();

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      seen.add(cause);
    }
  }

  private static byte[] prefix(long length) {
    byte[] out = new byte[5];
    int n = 0;
    do {
      int b = (int) (length & 0x7F);
      length >>>= 7;
      out[n++] = (byte) (length != 0 ? b | 0x80 : b);
    } while (length != 0);
    return java.util.Arrays.copyOf(out, n);
  }

  @Test
  void framesRoundTripEvenWhenBytesArriveOneAtATime() throws Exception {
    EmbeddedChannel out = new EmbeddedChannel(new ProtobufFrameEncoder());
    out.writeOutbound(request(1), request(2));
    ByteBuf wire = Unpooled.buffer();
    for (ByteBuf b; (b = out.readOutbound()) != null; ) {
      wire.writeBytes(b);
      b.release();
    }
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1024));
    while (wire.isReadable()) {
      in.writeInbound(wire.readRetainedSlice(1));
    }
    for (long id = 1; id <= 2; id++) {
      ByteBuf frame = in.readInbound();
      assertEquals(request(id), Request.parseFrom(frame.nioBuffer()));
      frame.release();
    }
    assertNull(in.readInbound());
    wire.release();
  }

  @Test
  void anOversizedLengthIsRefusedBeforeItsBytesArrive() {
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1024));
    ByteBuf prefix = Unpooled.wrappedBuffer(new byte[] {(byte) 0x81, 0x10}); // 2049
    DecoderException e = assertThrows(DecoderException.class, () -> in.writeInbound(prefix));
    assertEquals(TooLongFrameException.class, e.getClass());
  }

  /**
   * {@code ff ff ff ff 0f} is 2^32 - 1, which a signed decoder read as -1, the value it also used
   * for "prefix incomplete": the limit was never checked and every following byte was buffered.
   */
  @Test
  void aFiveBytePrefixOfAllOnesIsTooLongNotIncomplete() {
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(4 << 20));
    byte[] bomb = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
    TooLongFrameException e = assertThrows(TooLongFrameException.class,
        () -> in.writeInbound(Unpooled.wrappedBuffer(bomb)));
    assertTrue(e.getMessage().contains("4294967295 bytes"), e.getMessage());
    in.writeInbound(Unpooled.wrappedBuffer(new byte[1 << 16])); // what follows is dropped, not buffered
    assertNull(in.readInbound());
  }

  @Test
  void everyLengthThatIsNegativeAsASignedIntIsTooLong() {
    for (long length : new long[] {1L << 31, (1L << 31) + 1, 0xFFFF_FFFEL, 0xFFFF_FFFFL, 3L << 30}) {
      EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(4 << 20));
      assertThrows(TooLongFrameException.class, () -> in.writeInbound(Unpooled.wrappedBuffer(prefix(length))),
          "length " + length);
    }
  }

  @Test
  void aPrefixSplitAcrossReadsIsAssembled() {
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1 << 20));
    byte[] p = prefix(300);
    in.writeInbound(Unpooled.wrappedBuffer(new byte[] {p[0]}));
    in.writeInbound(Unpooled.wrappedBuffer(new byte[] {p[1]}));
    in.writeInbound(Unpooled.wrappedBuffer(new byte[300]));
    ByteBuf frame = in.readInbound();
    assertEquals(300, frame.readableBytes());
    frame.release();
  }

  @Test
  void aLengthPrefixOfSixBytesIsCorrupt() {
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1024));
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
    assertThrows(CorruptedFrameException.class, () -> in.writeInbound(Unpooled.wrappedBuffer(garbage)));
  }

  @Test
  void aFrameStillArrivingHoldsExactlyItsLengthOfTheBudgetUntilItCompletes() {
    InputBudget budget = new InputBudget(1 << 20);
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 0));
    in.writeInbound(Unpooled.wrappedBuffer(prefix(100_000)));
    assertEquals(100_000, budget.used());
    in.writeInbound(Unpooled.wrappedBuffer(new byte[60_000]));
    assertEquals(100_000, budget.used());
    in.writeInbound(Unpooled.wrappedBuffer(new byte[40_000]));
    assertEquals(0, budget.used());
    ByteBuf frame = in.readInbound();
    assertEquals(100_000, frame.readableBytes());
    frame.release();
  }

  @Test
  void whenTheBudgetRunsOutTheOldestFrameStillArrivingIsEvicted() {
    InputBudget budget = new InputBudget(150_000);
    Errors oldErrors = new Errors();
    EmbeddedChannel old = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 0), oldErrors);
    EmbeddedChannel fresh = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 0));
    old.writeInbound(Unpooled.wrappedBuffer(prefix(100_000)));
    old.writeInbound(Unpooled.wrappedBuffer(new byte[10]));
    fresh.writeInbound(Unpooled.wrappedBuffer(prefix(100_000)));
    assertEquals(100_000, budget.used(), "the old frame's reservation went to the new one");
    assertEquals(1, budget.evictions());
    old.runPendingTasks();
    assertEquals(1, oldErrors.seen.size());
    assertInstanceOf(InputBudgetExceededException.class, oldErrors.seen.get(0));
    old.writeInbound(Unpooled.wrappedBuffer(new byte[99_990]));
    assertNull(old.readInbound(), "an evicted connection's frame is dropped");
    fresh.writeInbound(Unpooled.wrappedBuffer(new byte[100_000]));
    ByteBuf frame = fresh.readInbound();
    assertNotNull(frame);
    frame.release();
    assertEquals(0, budget.used());
  }

  @Test
  void aFrameLargerThanTheWholeBudgetIsRefused() {
    InputBudget budget = new InputBudget(1_000);
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 0));
    assertThrows(InputBudgetExceededException.class, () -> in.writeInbound(Unpooled.wrappedBuffer(prefix(5_000))));
    assertEquals(0, budget.used());
  }

  @Test
  void aFrameThatDoesNotCompleteInTimeFailsAndFreesItsBudget() {
    InputBudget budget = new InputBudget(1 << 20);
    Errors errors = new Errors();
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 30_000), errors);
    in.freezeTime(); // virtual time only: the test's own pace must not count
    in.writeInbound(Unpooled.wrappedBuffer(prefix(1_000)));
    in.writeInbound(Unpooled.wrappedBuffer(new byte[999]));
    in.advanceTimeBy(29_999, TimeUnit.MILLISECONDS);
    in.runScheduledPendingTasks();
    assertTrue(errors.seen.isEmpty());
    in.advanceTimeBy(2, TimeUnit.MILLISECONDS);
    in.runScheduledPendingTasks();
    assertEquals(1, errors.seen.size());
    assertInstanceOf(FrameTimeoutException.class, errors.seen.get(0));
    assertTrue(errors.seen.get(0).getMessage().contains("999 bytes"), errors.seen.get(0).getMessage());
    assertEquals(0, budget.used());
    assertFalse(in.finish(), "nothing was passed on");
  }

  @Test
  void aClosedConnectionGivesItsReservationBack() {
    InputBudget budget = new InputBudget(1 << 20);
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1 << 20, budget, 0));
    in.writeInbound(Unpooled.wrappedBuffer(prefix(500_000)));
    assertEquals(500_000, budget.used());
    in.close();
    assertEquals(0, budget.used());
  }
}
