package io.latticekv.proto.wire;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import java.io.IOException;

/**
 * Writes a protobuf message as one frame: its size as a base-128 varint, then its bytes (the
 * layout {@link VarintFrameDecoder} reads). Stateless and sharable.
 */
@ChannelHandler.Sharable
public final class ProtobufFrameEncoder extends MessageToByteEncoder<MessageLite> {

  @Override
  protected void encode(ChannelHandlerContext ctx, MessageLite message, ByteBuf out) throws IOException {
    int size = message.getSerializedSize();
    out.ensureWritable(CodedOutputStream.computeUInt32SizeNoTag(size) + size);
    CodedOutputStream coded = CodedOutputStream.newInstance(new ByteBufOutputStream(out), 4096);
    coded.writeUInt32NoTag(size);
    message.writeTo(coded);
    coded.flush();
  }
}
