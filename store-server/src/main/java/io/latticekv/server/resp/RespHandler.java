package io.latticekv.server.resp;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.proto.wire.FrameTimeoutException;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.InputBudgetExceededException;
import io.latticekv.server.api.TlsLogin;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One RESP connection: runs each decoded command through {@link RespCommands} and writes the
 * replies in the order the commands came, as RESP requires (a pipelined command may complete
 * before an earlier one, say a read before a write at quorum; its reply waits its turn). Replies
 * completed in one pass of the event loop go out in one flush.
 *
 * <p>Backpressure as on the native port: with {@code inflightMax} commands, or {@code
 * inflightBytesMax} bytes of them, unanswered, or the port's input budget used up while replies
 * are pending, or replies piling up unsent, the connection is not read until replies drain.
 */
final class RespHandler extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(RespHandler.class);

  /** Broken or hostile connections are logged a line per interval and kind, not one each. */
  static final RateLimitedLog refusals = new RateLimitedLog(log, Clock.system(), 10_000);

  /** A connection to a node that requires logins must log in within this long of connecting, or be closed. */
  static final long LOGIN_DEADLINE_MS = 30_000;

  private final RespCommands commands;
  private final int inflightMax;
  private final long inflightBytesMax;
  private final InputBudget budget;
  private final AtomicInteger serverInflight;
  private RespClient client;
  /** Commands in the order they came, each with its reply once it has one. Bounded by inflightMax (backpressure). */
  private final ArrayDeque<Slot> replies = new ArrayDeque<>();
  private long inflightBytes;
  private boolean closing;

  private static final class Slot {
    final int bytes;
    Reply reply;

    Slot(int bytes) {
      this.bytes = bytes;
    }
  }

  RespHandler(RespCommands commands, int inflightMax, long inflightBytesMax, InputBudget budget,
      AtomicInteger serverInflight) {
    this.commands = commands;
    this.inflightMax = inflightMax;
    this.inflightBytesMax = inflightBytesMax;
    this.budget = budget;
    this.serverInflight = serverInflight;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    client = commands.connected(ctx.channel().remoteAddress(), ctx.channel().localAddress());
    if (commands.loginsRequired()) {
      ctx.executor().schedule(() -> {
        if (client.session.principal() == null && ctx.channel().isActive()) {
          refuseAndClose(ctx, "NOAUTH no login within " + LOGIN_DEADLINE_MS / 1000 + " s of connecting");
        }
      }, LOGIN_DEADLINE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (client != null) {
      commands.disconnected(client);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    RespCommand command = (RespCommand) msg;
    if (closing) {
      return; // QUIT, or a refusal that closes, came first: nothing after it runs
    }
    Slot slot = new Slot(command.bytes());
    replies.add(slot);
    inflightBytes += command.bytes();
    budget.hold(command.bytes());
    serverInflight.incrementAndGet();
    if (mustPause(ctx)) {
      ctx.channel().config().setAutoRead(false);
    }
    CompletableFuture<Reply> reply;
    try {
      reply = commands.run(command, client);
    } catch (RuntimeException e) {
      reply = CompletableFuture.completedFuture(RespCommands.failure(e));
    }
    reply.whenComplete((r, failure) -> {
      Reply answer = failure == null ? r : RespCommands.failure(failure);
      if (ctx.executor().inEventLoop()) {
        answered(ctx, slot, answer);
      } else {
        ctx.executor().execute(() -> answered(ctx, slot, answer));
      }
    });
  }

  private boolean mustPause(ChannelHandlerContext ctx) {
    return replies.size() >= inflightMax || inflightBytes >= inflightBytesMax
        || (!replies.isEmpty() && budget.exhausted()) || !ctx.channel().isWritable();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!mustPause(ctx) && !ctx.channel().config().isAutoRead() && !closing) {
      ctx.channel().config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** Fills the slot, then writes every reply at the head that is ready, in order, and flushes once. */
  private void answered(ChannelHandlerContext ctx, Slot slot, Reply reply) {
    slot.reply = reply;
    boolean wrote = false;
    while (!replies.isEmpty() && replies.peek().reply != null) {
      Slot done = replies.poll();
      release(done);
      if (closing) {
        continue;
      }
      ByteBuf out = ctx.alloc().ioBuffer();
      done.reply.write(out, client.protocol);
      if (done.reply instanceof Reply.Closing) {
        closing = true;
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.write(out, ctx.voidPromise());
        wrote = true;
      }
    }
    if (wrote && !closing) {
      ctx.flush();
    }
    if (!closing && !mustPause(ctx) && !ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  private void release(Slot done) {
    inflightBytes -= done.bytes;
    budget.free(done.bytes);
    if (serverInflight.decrementAndGet() == 0) {
      synchronized (serverInflight) {
        serverInflight.notifyAll(); // a graceful stop may be waiting for the last answer
      }
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent) {
      log.debug("closing idle RESP connection {}", ctx.channel().remoteAddress());
      ctx.close();
    } else if (event instanceof SslHandshakeCompletionEvent handshake) {
      TlsLogin.handshakeDone(ctx, handshake, commands.authenticator(), client.session, refusals);
      ctx.fireUserEventTriggered(event);
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof NotSslRecordException || cause.getCause() instanceof NotSslRecordException
        || cause.getCause() instanceof javax.net.ssl.SSLException) {
      ctx.close();
    } else if (cause instanceof RespProtocolException) {
      refuseAndClose(ctx, "ERR Protocol error: " + cause.getMessage());
    } else if (cause instanceof FrameTimeoutException || cause instanceof InputBudgetExceededException) {
      refuseAndClose(ctx, "ERR " + cause.getMessage());
    } else if (cause instanceof IOException) {
      log.debug("RESP connection {} failed: {}", ctx.channel().remoteAddress(), cause.getMessage());
      ctx.close();
    } else {
      log.warn("closing RESP connection {} after an unexpected error", ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  /**
   * Answers {@code error} and closes. Replies still pending are dropped: the stream is broken, and
   * a client could not tell which command a late reply would answer.
   */
  private void refuseAndClose(ChannelHandlerContext ctx, String error) {
    if (closing) {
      return;
    }
    closing = true;
    refusals.warn(error.substring(0, Math.min(error.length(), 24)), "closing RESP connection {}: {}",
        ctx.channel().remoteAddress(), error);
    ctx.channel().config().setAutoRead(false);
    ByteBuf out = ctx.alloc().ioBuffer();
    new Reply.Error(error).write(out, client == null ? 2 : client.protocol);
    ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
  }
}
