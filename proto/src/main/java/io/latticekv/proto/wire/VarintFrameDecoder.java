package io.latticekv.proto.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits a byte stream into frames, each a base-128 varint length followed by that many bytes:
 *
 * <pre>
 * BEFORE DECODE (7 bytes)              AFTER DECODE (5 bytes)
 * +--------+-----------------+         +-----------------+
 * | Length | Protobuf bytes  |  -----> | Protobuf bytes  |
 * | 0x05   | 5 bytes         |         | 5 bytes         |
 * +--------+-----------------+         +-----------------+
 * </pre>
 *
 * <p>The decoder is in one of two states: reading a length prefix (at most 5 bytes, kept as it
 * arrives; "need more bytes" is the only way to be incomplete, and no value of the prefix can be
 * mistaken for it), or receiving the bytes of a frame whose length is known. The length is read
 * as an unsigned 32-bit number and refused as soon as it exceeds {@code frameBytesMax}, before
 * anything is buffered; a prefix longer than 5 bytes, or one whose fifth byte carries bits beyond
 * 32, is corrupt. Both throw, and the pipeline's exception handler answers and closes.
 *
 * <p>A frame that arrived whole in one read is passed on as a slice of it, without a copy. A frame
 * still arriving is copied into a buffer of exactly its length, reserved from the port's {@link
 * InputBudget} (which may evict it later in favour of newer frames), and must complete within
 * {@code partialFrameTimeoutMs}; otherwise a {@link InputBudgetExceededException} or a {@link
 * FrameTimeoutException} goes to the exception handler. After any of these the decoder drops all
 * further input: the stream cannot be trusted to be framed right.
 *
 * <p>Not sharable: one per connection, touched by its event loop only (the budget's eviction
 * hands its work to that loop).
 */
public final class VarintFrameDecoder extends ChannelInboundHandlerAdapter {

  private static final int PREFIX_BYTES_MAX = 5;

  private volatile int frameBytesMax;
  private final InputBudget budget;
  private final long partialFrameTimeoutMs;

  private int prefix;
  private int prefixBytes;
  private ByteBuf frame;
  private InputBudget.Reservation reservation;
  private ScheduledFuture<?> deadline;
  private boolean failed;

  /** A decoder without a budget or a timeout: for the client side, which trusts its node. */
  public VarintFrameDecoder(int frameBytesMax) {
    this(frameBytesMax, InputBudget.unlimited(), 0);
  }

  /**
   * @param budget the port's budget for buffered input
   * @param partialFrameTimeoutMs a frame must arrive whole within this long after its prefix; 0
   *     for no limit
   */
  public VarintFrameDecoder(int frameBytesMax, InputBudget budget, long partialFrameTimeoutMs) {
    checkPositive(frameBytesMax);
    if (partialFrameTimeoutMs < 0) {
      throw new IllegalArgumentException("partialFrameTimeoutMs must be >= 0");
    }
    this.frameBytesMax = frameBytesMax;
    this.budget = budget;
    this.partialFrameTimeoutMs = partialFrameTimeoutMs;
  }

  /**
   * Changes the limit for frames not yet started: a peer connection accepts only small frames
   * until its handshake succeeds, then the full limit.
   */
  public void setFrameBytesMax(int frameBytesMax) {
    checkPositive(frameBytesMax);
    this.frameBytesMax = frameBytesMax;
  }

  private static void checkPositive(int frameBytesMax) {
    if (frameBytesMax <= 0) {
      throw new IllegalArgumentException("frameBytesMax must be positive");
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      while (in.isReadable() && !failed) {
        if (frame == null) {
          long length = readPrefix(in);
          if (length < 0) {
            return; // the prefix is not complete yet
          }
          if (in.readableBytes() >= length) {
            ctx.fireChannelRead(in.readRetainedSlice((int) length));
            continue;
          }
          startFrame(ctx, (int) length);
          if (failed) {
            return;
          }
        }
        frame.writeBytes(in, Math.min(in.readableBytes(), frame.writableBytes()));
        if (!frame.isWritable()) {
          ByteBuf done = frame;
          frame = null;
          endFrame();
          ctx.fireChannelRead(done);
        }
      }
    } finally {
      in.release();
    }
  }

  /**
   * Consumes prefix bytes; returns the frame length once the prefix is complete, -1 while more
   * bytes are needed.
   */
  private long readPrefix(ByteBuf in) {
    while (in.isReadable()) {
      int b = in.readByte() & 0xFF;
      if (prefixBytes == PREFIX_BYTES_MAX - 1 && (b & 0xF0) != 0) {
        fail();
        throw new CorruptedFrameException("frame length prefix exceeds 32 bits");
      }
      prefix |= (b & 0x7F) << (7 * prefixBytes);
      prefixBytes++;
      if ((b & 0x80) == 0) {
        long length = Integer.toUnsignedLong(prefix);
        prefix = 0;
        prefixBytes = 0;
        if (length > frameBytesMax) {
          fail();
          throw new TooLongFrameException("frame of " + length + " bytes exceeds the limit of " + frameBytesMax);
        }
        return length;
      }
      if (prefixBytes == PREFIX_BYTES_MAX) {
        fail();
        throw new CorruptedFrameException("frame length prefix is longer than 5 bytes");
      }
    }
    return -1;
  }

  private void startFrame(ChannelHandlerContext ctx, int length) {
    reservation = budget.reserve(length, () -> ctx.executor().execute(() -> evicted(ctx, length)));
    if (reservation == null) {
      fail();
      throw new InputBudgetExceededException("the node is holding " + budget.used() + " bytes of input, its limit; "
          + "a frame of " + length + " bytes does not fit");
    }
    frame = ctx.alloc().buffer(length, length);
    if (partialFrameTimeoutMs > 0) {
      ByteBuf started = frame;
      deadline = ctx.executor().schedule(() -> {
        if (frame == started && !failed) {
          int received = frame.readableBytes();
          fail();
          ctx.fireExceptionCaught(new FrameTimeoutException("a frame of " + length + " bytes did not arrive within "
              + partialFrameTimeoutMs + " ms (" + received + " bytes did)"));
        }
      }, partialFrameTimeoutMs, TimeUnit.MILLISECONDS);
    }
  }

  private void evicted(ChannelHandlerContext ctx, int length) {
    if (failed || frame == null) {
      return;
    }
    int received = frame.readableBytes();
    fail();
    ctx.fireExceptionCaught(new InputBudgetExceededException("the node's input budget of " + budget.bytesMax()
        + " bytes ran out; this connection's frame of " + length + " bytes (" + received
        + " received) was the oldest still arriving"));
  }

  private void endFrame() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
    if (reservation != null) {
      reservation.release();
      reservation = null;
    }
  }

  /** Drops what is buffered and ignores everything that follows. */
  private void fail() {
    failed = true;
    if (frame != null) {
      frame.release();
      frame = null;
    }
    endFrame();
  }

  /** Bytes of the frame being received, 0 between frames. */
  public int partialBytes() {
    return frame == null ? 0 : frame.readableBytes();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    fail();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail();
    ctx.fireChannelInactive();
  }
}
