package io.latticekv.tests.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;

/**
 * The frame decoder on any byte stream, cut into any reads: it passes on frames no longer than the
 * limit, refuses the rest with a decoder exception (never another), never holds more than the
 * budget, and gives every byte of it back when the connection closes.
 */
class FrameDecoderFuzzTest {

  private static final int FRAME_BYTES_MAX = 4096;
  private static final long BUDGET_BYTES = 8192;

  /** Keeps what reaches the end of the pipeline, releasing frames. */
  private static final class Sink extends ChannelInboundHandlerAdapter {
    Throwable failure;
    int frames;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf frame = (ByteBuf) msg;
      assertTrue(frame.readableBytes() <= FRAME_BYTES_MAX, "a frame of " + frame.readableBytes() + " bytes passed");
      frames++;
      frame.release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failure = cause;
    }
  }

  @FuzzTest
  void anyStreamIsFramedOrRefusedWithinTheBudget(FuzzedDataProvider data) {
    InputBudget budget = new InputBudget(BUDGET_BYTES);
    Sink sink = new Sink();
    EmbeddedChannel channel = new EmbeddedChannel(new VarintFrameDecoder(FRAME_BYTES_MAX, budget, 0), sink);
    while (data.remainingBytes() > 0) {
      byte[] chunk = data.consumeBytes(1 + data.consumeInt(0, 600));
      try {
        channel.writeInbound(Unpooled.wrappedBuffer(chunk));
      } catch (DecoderException refused) {
        // the way a broken stream is refused
      }
      assertTrue(sink.failure == null || sink.failure instanceof DecoderException, String.valueOf(sink.failure));
      assertTrue(budget.used() <= BUDGET_BYTES, "holding " + budget.used());
    }
    channel.close();
    assertEquals(0, budget.used(), "a closed connection kept part of the budget");
  }
}
