package io.latticekv.server.api;

import com.google.protobuf.InvalidProtocolBufferException;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: decodes each frame into a {@link Request}, hands it to the
 * {@link RequestProcessor}, and writes the answer when it completes, in whatever order answers
 * complete (the response's id tells the client which request it answers).
 *
 * <p>Backpressure: when {@code inflightPerConnectionMax} requests are outstanding, the handler
 * stops reading from the socket; TCP then pushes back on the client. Reading resumes as answers
 * drain.
 *
 * <p>Broken input: a frame that is not a protobuf {@code Request}, an oversized length prefix or a
 * corrupt one gets an error answer (id 0: the request's own id is unknown) and the connection is
 * closed, since nothing after it can be trusted to be framed right. Other connections are not
 * affected.
 */
final class ClientConnectionHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ClientConnectionHandler.class);

  private final RequestProcessor processor;
  private final int inflightMax;
  private final AtomicInteger serverInflight;
  private int inflight; // touched on the event loop only

  ClientConnectionHandler(RequestProcessor processor, int inflightMax, AtomicInteger serverInflight) {
    this.processor = processor;
    this.inflightMax = inflightMax;
    this.serverInflight = serverInflight;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Request request;
    ByteBuf frame = (ByteBuf) msg;
    try {
      request = Request.parseFrom(frame.nioBuffer()); // a view: no 4 KB stream buffer per request
    } catch (InvalidProtocolBufferException e) {
      refuseAndClose(ctx, ErrorCode.BAD_REQUEST, "frame is not a valid request: " + e.getMessage());
      return;
    } finally {
      frame.release();
    }
    inflight++;
    serverInflight.incrementAndGet();
    if (inflight >= inflightMax) {
      ctx.channel().config().setAutoRead(false);
    }
    processor.process(request).whenComplete((response, failure) -> {
      Response answer = failure == null
          ? response
          : RequestProcessor.error(request.getId(), failure);
      if (ctx.executor().inEventLoop()) {
        answered(ctx, answer);
      } else {
        ctx.executor().execute(() -> answered(ctx, answer));
      }
    });
  }

  private void answered(ChannelHandlerContext ctx, Response answer) {
    ctx.writeAndFlush(answer, ctx.voidPromise());
    inflight--;
    if (serverInflight.decrementAndGet() == 0) {
      synchronized (serverInflight) {
        serverInflight.notifyAll(); // a graceful stop may be waiting for the last answer
      }
    }
    if (inflight < inflightMax && !ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent) {
      log.debug("closing idle connection {}", ctx.channel().remoteAddress());
      ctx.close();
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof TooLongFrameException || cause instanceof CorruptedFrameException) {
      refuseAndClose(ctx, ErrorCode.BAD_REQUEST, cause.getMessage());
    } else if (cause instanceof IOException) {
      log.debug("connection {} failed: {}", ctx.channel().remoteAddress(), cause.getMessage());
      ctx.close();
    } else {
      log.warn("closing connection {} after an unexpected error", ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  private void refuseAndClose(ChannelHandlerContext ctx, ErrorCode code, String message) {
    log.info("closing connection {}: {}", ctx.channel().remoteAddress(), message);
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(RequestProcessor.errorResponse(0, code, message))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
