package io.latticekv.server.api;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.proto.ErrorCode;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.group.ChannelGroup;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses connections beyond {@code connectionsMax} as soon as they open, with an {@code
 * OVERLOADED} error frame (id 0) before the close, so the client can say why; tracks the open ones.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);

  private final int connectionsMax;
  private final AtomicInteger open;
  /** What is written before the close, in the port's protocol, given the sentence. */
  private final java.util.function.Function<String, Object> refusal;
  /** A flood of connections is one line per interval, with a count, not one per connection. */
  private final RateLimitedLog refusals = new RateLimitedLog(log, Clock.system(), 10_000);
  private final ChannelGroup channels;

  ConnectionLimiter(int connectionsMax, ChannelGroup channels) {
    this(connectionsMax, channels, new AtomicInteger(),
        why -> Errors.errorResponse(0, ErrorCode.OVERLOADED, why));
  }

  private ConnectionLimiter(int connectionsMax, ChannelGroup channels, AtomicInteger open,
      java.util.function.Function<String, Object> refusal) {
    this.connectionsMax = connectionsMax;
    this.channels = channels;
    this.open = open;
    this.refusal = refusal;
  }

  /** A limiter for another port that counts against the same limit, refusing in that port's protocol. */
  ConnectionLimiter sharedWith(java.util.function.Function<String, Object> otherRefusal) {
    return new ConnectionLimiter(connectionsMax, channels, open, otherRefusal);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (open.incrementAndGet() > connectionsMax) {
      String why = "too many connections: " + (open.get() - 1) + " are open, the limit is " + connectionsMax
          + " (--connections-max)";
      refusals.warn("limit", "refusing connection from {}: {}", ctx.channel().remoteAddress(), why);
      ctx.channel().config().setAutoRead(false);
      // From the channel, not ctx: the answer must pass the encoder, which comes after this handler.
      ctx.channel().writeAndFlush(refusal.apply(why))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    channels.add(ctx.channel());
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    open.decrementAndGet();
    ctx.fireChannelInactive();
  }

  int open() {
    return open.get();
  }
}
