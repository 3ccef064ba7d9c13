package io.latticekv.server.resp;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.proto.wire.FrameTimeoutException;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.InputBudgetExceededException;
import io.latticekv.server.api.Inflight;
import io.latticekv.server.api.TlsLogin;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One RESP connection: runs each decoded command through {@link RespCommands} and writes the
 * replies in the order the commands came, as RESP requires (a pipelined command may complete
 * before an earlier one, say a read before a write at quorum; its reply waits its turn). Replies
 * completed in one pass of the event loop go out in one buffer and one flush.
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
  private final Inflight serverInflight;
  /** Every command waits for the one before it (sync ALWAYS: writes run on a pool, which would reorder them). */
  private final boolean serial;
  private RespClient client; // null when the connection limit refused the connection
  /** Commands in the order they came, each with its reply once it has one. Bounded by inflightMax (backpressure). */
  private final ArrayDeque<Slot> replies = new ArrayDeque<>();
  /**
   * Commands read while a barrier runs (AUTH, HELLO, RESET, QUIT, SET ... GET): they start once it
   * is answered, so that they run as the connection is after it, as in Redis. Bounded: reading
   * stops while any wait, so at most one read's worth of commands gathers here.
   */
  private final ArrayDeque<RespCommand> waiting = new ArrayDeque<>();
  private Slot barrier; // the barrier running, or null
  private long inflightBytes;
  /**
   * Replies written since the last hand-over to the channel: the replies of one pass of the event
   * loop share one buffer and one write down the pipeline (a pipelined batch's answers complete
   * one by one). Handed over at the end of the pass, or at {@link #OUT_HANDOVER_BYTES}.
   */
  private ByteBuf out;
  private boolean handoverScheduled;
  /** A reply buffer is handed to the channel once it holds this much, so that it never grows past what one socket write takes. */
  static final int OUT_HANDOVER_BYTES = 64 * 1024;
  private boolean quit; // QUIT was read: nothing after it runs
  private boolean closing;

  /** Force-closes a connection whose closing error waits behind replies that do not come. */
  static final long CLOSE_WAIT_MS = 10_000;

  private static final class Slot {
    final int bytes;
    final int protocol; // the connection's protocol when the command started
    final boolean barrier;
    Reply reply;

    Slot(int bytes, int protocol, boolean barrier) {
      this.bytes = bytes;
      this.protocol = protocol;
      this.barrier = barrier;
    }
  }

  RespHandler(RespCommands commands, int inflightMax, long inflightBytesMax, InputBudget budget,
      Inflight serverInflight, boolean serial) {
    this.commands = commands;
    this.inflightMax = inflightMax;
    this.inflightBytesMax = inflightBytesMax;
    this.budget = budget;
    this.serverInflight = serverInflight;
    this.serial = serial;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    client = commands.connected(ctx.channel().remoteAddress(), ctx.channel().localAddress());
    loginDeadline(ctx);
    ctx.fireChannelActive();
  }

  /** A connection to a node that requires logins has this long to log in: from its start, and again after RESET. */
  private void loginDeadline(ChannelHandlerContext ctx) {
    if (commands.loginsRequired() && client.session.principal() == null) {
      ctx.executor().schedule(() -> {
        if (client.session.principal() == null && ctx.channel().isActive()) {
          refuseAndClose(ctx, "NOAUTH no login within " + LOGIN_DEADLINE_MS / 1000 + " s");
        }
      }, LOGIN_DEADLINE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
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
    if (closing || quit || client == null) {
      return; // QUIT or a refusal came first (or the connection limit refused it): nothing after it runs
    }
    if (barrier != null) {
      waiting.add(command);
      ctx.channel().config().setAutoRead(false);
      return;
    }
    start(ctx, command);
  }

  /** Runs {@code command}; its reply takes the next place in line. */
  private void start(ChannelHandlerContext ctx, RespCommand command) {
    boolean isBarrier = serial || commands.isBarrier(command);
    Slot slot = new Slot(command.bytes(), client.protocol, isBarrier);
    replies.add(slot);
    inflightBytes += command.bytes();
    budget.hold(command.bytes());
    serverInflight.begin();
    if (command.name().equals("quit")) {
      quit = true;
      ctx.channel().config().setAutoRead(false);
    }
    if (mustPause(ctx)) {
      ctx.channel().config().setAutoRead(false);
    }
    if (isBarrier) {
      barrier = slot;
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
    if (command.name().equals("reset")) {
      loginDeadline(ctx);
    }
  }

  private boolean mustPause(ChannelHandlerContext ctx) {
    return replies.size() >= inflightMax || inflightBytes >= inflightBytesMax
        || (!replies.isEmpty() && budget.exhausted()) || !ctx.channel().isWritable() || !waiting.isEmpty();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    resumeIfDrained(ctx);
    ctx.fireChannelWritabilityChanged();
  }

  private void resumeIfDrained(ChannelHandlerContext ctx) {
    if (!closing && !quit && !mustPause(ctx) && !ctx.channel().config().isAutoRead()) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /**
   * Fills the slot, then writes every reply at the head that is ready, in order, into the pass's
   * buffer, which is handed over and flushed once the pass is done ({@link #handoverLater}). A
   * barrier's reply lets the commands that waited for it start.
   */
  private void answered(ChannelHandlerContext ctx, Slot slot, Reply reply) {
    slot.reply = reply;
    while (!replies.isEmpty() && replies.peek().reply != null) {
      Slot done = replies.poll();
      release(done);
      if (closing && !(done.reply instanceof Reply.Closing)) {
        continue; // a close already went out
      }
      if (out == null) {
        out = ctx.alloc().ioBuffer();
      }
      // A barrier (HELLO, RESET) answers in the protocol it chose; nothing ran beside it.
      done.reply.write(out, done.barrier ? client.protocol : done.protocol);
      if (done.reply instanceof Reply.Closing) {
        if (!quit) {
          commands.stats.connectionsRefused.increment(); // too many failed logins (QUIT sets quit first)
        }
        closing = true; // the replies after it are released unwritten, as they come
        ctx.channel().config().setAutoRead(false);
        ByteBuf last = out;
        out = null;
        ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
        continue;
      }
      if (out.readableBytes() >= OUT_HANDOVER_BYTES) {
        ctx.write(out, ctx.voidPromise()); // flushed by the handover, with the rest of the pass
        out = null;
      }
      handoverLater(ctx);
    }
    if (slot == barrier) {
      barrier = null;
      while (barrier == null && !waiting.isEmpty() && !closing && !quit) {
        start(ctx, waiting.poll());
      }
      if (closing || quit) {
        waiting.clear();
      }
    }
    resumeIfDrained(ctx);
  }

  /** Hands the pass's replies to the channel, and flushes, once the event loop has run what is queued. */
  private void handoverLater(ChannelHandlerContext ctx) {
    if (!handoverScheduled) {
      handoverScheduled = true;
      ctx.executor().execute(() -> handover(ctx));
    }
  }

  private void handover(ChannelHandlerContext ctx) {
    handoverScheduled = false;
    if (out != null) {
      ByteBuf replies = out;
      out = null;
      ctx.write(replies, ctx.voidPromise()); // on a closed channel the write releases the buffer
    }
    ctx.flush();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (out != null) {
      out.release();
      out = null;
    }
  }

  private void release(Slot done) {
    inflightBytes -= done.bytes;
    budget.free(done.bytes);
    serverInflight.end();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent) {
      if (replies.isEmpty()) { // silent and owed nothing; a command still running is waited for (next interval)
        log.debug("closing idle RESP connection {}", ctx.channel().remoteAddress());
        ctx.close();
      }
    } else if (event instanceof SslHandshakeCompletionEvent handshake) {
      if (client != null) { // null: refused by the connection limit, and closing
        TlsLogin.handshakeDone(ctx, handshake, commands.authenticator(), client.session, refusals);
        client.certificateLogin = client.session.principal();
      }
      ctx.fireUserEventTriggered(event);
    } else {
      ctx.fireUserEventTriggered(event);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (TlsLogin.handshakeFailed(cause)) {
      ctx.close(); // logged once by TlsLogin, answered by PlaintextRefuser
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
   * Answers {@code error} after the replies of the commands before it, then closes (as Redis does);
   * reading stops at once. Should those replies not come within {@link #CLOSE_WAIT_MS}, the
   * connection is closed without them.
   */
  private void refuseAndClose(ChannelHandlerContext ctx, String error) {
    if (closing) {
      return;
    }
    refusals.warn(error.substring(0, Math.min(error.length(), 24)), "closing RESP connection {}: {}",
        ctx.channel().remoteAddress(), error);
    commands.stats.connectionsRefused.increment();
    quit = true;
    waiting.clear();
    ctx.channel().config().setAutoRead(false);
    if (client == null || replies.isEmpty()) {
      closing = true;
      ByteBuf last = out != null ? out : ctx.alloc().ioBuffer(); // after the replies still waiting for the pass's end
      out = null;
      new Reply.Error(error).write(last, client == null ? 2 : client.protocol);
      ctx.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    Slot last = new Slot(0, client.protocol, false);
    replies.add(last);
    serverInflight.begin(); // ended with the slot
    ctx.executor().schedule(() -> {
      if (ctx.channel().isActive()) {
        ctx.close();
      }
    }, CLOSE_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    answered(ctx, last, new Reply.Closing(new Reply.Error(error)));
  }
}
