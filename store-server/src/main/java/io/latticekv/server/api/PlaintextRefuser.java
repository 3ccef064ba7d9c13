package io.latticekv.server.api;

import io.latticekv.proto.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.util.List;

/**
 * First on a TLS client port: looks at the first bytes of a connection. TLS goes on to the {@link
 * SslHandler}; a client speaking plaintext (it was not given the CA) gets one plaintext error
 * frame saying the port requires TLS, then the close — a TLS alert would mean nothing to it, and
 * the SSL handler alone would only close.
 */
public final class PlaintextRefuser extends ByteToMessageDecoder {

  /** A TLS record header is 5 bytes; fewer cannot be told apart. */
  private static final int HEADER_BYTES = 5;

  /** What is written before the close, in the port's protocol, given the sentence. */
  private final java.util.function.Function<String, Object> refusal;

  /** A refuser for the native port: a protobuf error frame. */
  PlaintextRefuser() {
    this(why -> Errors.errorResponse(0, ErrorCode.UNAUTHENTICATED, why));
  }

  public PlaintextRefuser(java.util.function.Function<String, Object> refusal) {
    this.refusal = refusal;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (in.readableBytes() < HEADER_BYTES) {
      return;
    }
    if (SslHandler.isEncrypted(in, false)) {
      ctx.pipeline().remove(this); // what was read goes on to the SSL handler
      return;
    }
    ClientConnectionHandler.refusals.warn("plaintext", "closing client connection {}: it does not speak TLS",
        ctx.channel().remoteAddress());
    in.skipBytes(in.readableBytes());
    ctx.pipeline().remove(SslHandler.class);
    ctx.channel().config().setAutoRead(false);
    ctx.channel().writeAndFlush(refusal.apply(
        "this node's client port requires TLS: connect with the cluster's CA certificate (lattice --tls-ca FILE)"))
        .addListener(ChannelFutureListener.CLOSE);
    ctx.pipeline().remove(this);
  }
}
