package io.latticekv.proto.wire;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageDecoder;
import java.io.IOException;
import java.util.List;

/**
 * Parses each frame from {@link VarintFrameDecoder} as one protobuf message. A frame that does not
 * parse raises a {@link io.netty.handler.codec.DecoderException} for the pipeline's exception
 * handler. Stateless and sharable.
 */
@ChannelHandler.Sharable
public final class ProtobufMessageDecoder<T extends MessageLite> extends MessageToMessageDecoder<ByteBuf> {

  private final Parser<T> parser;

  public ProtobufMessageDecoder(Parser<T> parser) {
    this.parser = parser;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) throws IOException {
    // A view of the frame's bytes, not a stream: a stream parse allocates a 4 KB buffer per message.
    // Fields are copied out (no aliasing), so the frame can be released afterwards.
    out.add(parser.parseFrom(frame.nioBuffer()));
  }
}
