package io.latticekv.proto.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

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
 * <p>Unlike Netty's {@code ProtobufVarint32FrameDecoder}, it refuses a length over {@code
 * frameBytesMax} as soon as the prefix is read, before buffering anything, so a hostile peer
 * cannot make it hold gigabytes. A prefix longer than 5 bytes, or negative, is corrupt. Both
 * throw; the pipeline's exception handler answers and closes the connection.
 */
public final class VarintFrameDecoder extends ByteToMessageDecoder {

  private volatile int frameBytesMax;

  public VarintFrameDecoder(int frameBytesMax) {
    if (frameBytesMax <= 0) {
      throw new IllegalArgumentException("frameBytesMax must be positive");
    }
    this.frameBytesMax = frameBytesMax;
  }

  /**
   * Changes the limit for frames not yet started: a peer connection accepts only small frames
   * until its handshake succeeds, then the full limit.
   */
  public void setFrameBytesMax(int frameBytesMax) {
    if (frameBytesMax <= 0) {
      throw new IllegalArgumentException("frameBytesMax must be positive");
    }
    this.frameBytesMax = frameBytesMax;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    in.markReaderIndex();
    int length = readVarint32(in);
    if (length == -1) {
      in.resetReaderIndex(); // the prefix is not complete yet
      return;
    }
    if (length > frameBytesMax) {
      throw new TooLongFrameException(
          "frame of " + Integer.toUnsignedString(length) + " bytes exceeds the limit of " + frameBytesMax);
    }
    if (in.readableBytes() < length) {
      in.resetReaderIndex();
      return;
    }
    out.add(in.readRetainedSlice(length));
  }

  /** The varint at the reader index, -1 if it is not all there yet. */
  private static int readVarint32(ByteBuf in) {
    int result = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (!in.isReadable()) {
        return -1;
      }
      byte b = in.readByte();
      if (shift == 28 && (b & 0xF0) != 0) {
        throw new CorruptedFrameException("frame length prefix exceeds 32 bits");
      }
      result |= (b & 0x7F) << shift;
      if (b >= 0) {
        return result;
      }
    }
    throw new CorruptedFrameException("frame length prefix is longer than 5 bytes");
  }
}
