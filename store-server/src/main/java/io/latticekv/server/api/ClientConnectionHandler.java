package io.latticekv.server.api;

import com.google.protobuf.InvalidProtocolBufferException;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.wire.FrameTimeoutException;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.InputBudgetExceededException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: decodes each frame into a {@link Request}, hands it to the
 * {@link RequestProcessor}, and writes the answer when it completes, in whatever order answers
 * complete (the response's id tells the client which request it answers).
 *
 * <p>Backpressure: when {@code inflightPerConnectionMax} requests, or {@code
 * inflightBytesPerConnectionMax} bytes of them, are outstanding, or the port's {@link InputBudget}
 * is used up while this connection has answers pending, or its answers are piling up unsent (the
 * client does not read), the handler stops reading from the socket; TCP then pushes back on the client. Reading resumes as answers drain. The bytes of every
 * request count against the port's budget until it is answered.
 *
 * <p>Broken input: a frame that is not a protobuf {@code Request}, an oversized length prefix or a
 * corrupt one, a frame that arrives too slowly, or one the input budget cannot hold, gets an error
 * answer (id 0: the request's own id is unknown) and the connection is closed, since nothing after
 * it can be trusted to be framed right. Other connections are not affected.
 */
final class ClientConnectionHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ClientConnectionHandler.class);

  /** Broken or hostile connections are logged a line per interval and kind, not one each. */
  static final RateLimitedLog refusals = new RateLimitedLog(log, Clock.system(), 10_000);

  private final RequestProcessor processor;
  private final int inflightMax;
  private final long inflightBytesMax;
  private final InputBudget budget;
  private final Inflight serverInflight;
  private final Session session = new Session();
  private int inflight; // touched on the event loop only
  private long inflightBytes; // likewise

  ClientConnectionHandler(RequestProcessor processor, int inflightMax, Inflight serverInflight) {
    this(processor, inflightMax, Long.MAX_VALUE, InputBudget.unlimited(), serverInflight);
  }

  ClientConnectionHandler(RequestProcessor processor, int inflightMax, long inflightBytesMax, InputBudget budget,
      Inflight serverInflight) {
    this.processor = processor;
    this.inflightMax = inflightMax;
    this.inflightBytesMax = inflightBytesMax;
    this.budget = budget;
    this.serverInflight = serverInflight;
  }

  /** A connection to a node that requires logins must log in within this long of connecting, or be closed. */
  static final long LOGIN_DEADLINE_MS = 30_000;

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress remote && remote.getAddress() != null) {
      session.source(remote.getAddress().getHostAddress());
    }
    if (processor.authenticator() != null) {
      ctx.executor().schedule(() -> {
        if (session.principal() == null && ctx.channel().isActive()) {
          refuseAndClose(ctx, ErrorCode.UNAUTHENTICATED, "no login within " + LOGIN_DEADLINE_MS / 1000
              + " s of connecting");
        }
      }, LOGIN_DEADLINE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Request request;
    ByteBuf frame = (ByteBuf) msg;
    int bytes = frame.readableBytes();
    try {
      request = Request.parseFrom(frame.nioBuffer()); // a view: no 4 KB stream buffer per request
    } catch (InvalidProtocolBufferException e) {
      refuseAndClose(ctx, ErrorCode.BAD_REQUEST, "frame is not a valid request: " + e.getMessage());
      return;
    } finally {
      frame.release();
    }
    inflight++;
    inflightBytes += bytes;
    budget.hold(bytes);
    serverInflight.begin();
    if (mustPause(ctx)) {
      ctx.channel().config().setAutoRead(false);
    }
    processor.process(request, session).whenComplete((response, failure) -> {
      Response answer = failure == null
          ? response
          : Errors.error(request.getId(), failure);
      if (ctx.executor().inEventLoop()) {
        answered(ctx, answer, bytes);
      } else {
        ctx.executor().execute(() -> answered(ctx, answer, bytes));
      }
    });
  }

  /**
   * Whether to stop reading: too much of this connection is unanswered, or the port's budget is
   * used up and an answer of ours is pending (which will resume reading; a connection with nothing
   * pending keeps reading, so that it cannot be paused forever).
   */
  private boolean mustPause(ChannelHandlerContext ctx) {
    return inflight >= inflightMax || inflightBytes >= inflightBytesMax || (inflight > 0 && budget.exhausted())
        || !ctx.channel().isWritable();
  }

  /**
   * A client that sends and never reads would otherwise have every answer queued in memory: while
   * its answers pile up unsent the connection is not read; it resumes once they drain.
   */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!mustPause(ctx) && !ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void answered(ChannelHandlerContext ctx, Response answer, int bytes) {
    if (answer.hasError() && answer.getError().getCode() == ErrorCode.UNAUTHENTICATED
        && session.tooManyFailedLogins()) {
      refusals.warn("logins", "closing client connection {}: {} failed logins", ctx.channel().remoteAddress(),
          Session.FAILED_LOGINS_MAX);
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.writeAndFlush(answer, ctx.voidPromise());
    }
    inflight--;
    inflightBytes -= bytes;
    budget.free(bytes);
    serverInflight.end();
    if (!mustPause(ctx) && !ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent) {
      if (inflight == 0) { // silent and owed nothing; a request still running is waited for (next interval)
        log.debug("closing idle connection {}", ctx.channel().remoteAddress());
        ctx.close();
      }
    } else if (event instanceof SslHandshakeCompletionEvent handshake) {
      TlsLogin.handshakeDone(ctx, handshake, processor.authenticator(), session, refusals);
      ctx.fireUserEventTriggered(event);
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (TlsLogin.handshakeFailed(cause)) {
      ctx.close(); // logged once by TlsLogin, answered by PlaintextRefuser
    } else if (cause instanceof TooLongFrameException || cause instanceof CorruptedFrameException
        || cause instanceof FrameTimeoutException) {
      refuseAndClose(ctx, ErrorCode.BAD_REQUEST, cause.getMessage());
    } else if (cause instanceof InputBudgetExceededException) {
      refuseAndClose(ctx, ErrorCode.OVERLOADED, cause.getMessage());
    } else if (cause instanceof IOException) {
      log.debug("connection {} failed: {}", ctx.channel().remoteAddress(), cause.getMessage());
      ctx.close();
    } else {
      log.warn("closing connection {} after an unexpected error", ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  private void refuseAndClose(ChannelHandlerContext ctx, ErrorCode code, String message) {
    refusals.warn(code.name(), "closing client connection {}: {}", ctx.channel().remoteAddress(), message);
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(Errors.errorResponse(0, code, message))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
