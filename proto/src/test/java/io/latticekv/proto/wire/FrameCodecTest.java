package io.latticekv.proto.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.Request;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

  private static Request request(long id) {
    return Request.newBuilder().setId(id).setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))).build();
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

  @Test
  void aLengthPrefixOfSixBytesIsCorrupt() {
    EmbeddedChannel in = new EmbeddedChannel(new VarintFrameDecoder(1024));
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
    assertThrows(CorruptedFrameException.class, () -> in.writeInbound(Unpooled.wrappedBuffer(garbage)));
  }
}
