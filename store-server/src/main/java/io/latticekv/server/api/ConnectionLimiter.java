package io.latticekv.server.api;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.group.ChannelGroup;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Closes connections beyond {@code connectionsMax} as soon as they open; tracks the open ones. */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);

  private final int connectionsMax;
  private final AtomicInteger open = new AtomicInteger();
  private final ChannelGroup channels;

  ConnectionLimiter(int connectionsMax, ChannelGroup channels) {
    this.connectionsMax = connectionsMax;
    this.channels = channels;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (open.incrementAndGet() > connectionsMax) {
      log.warn("refusing connection from {}: {} connections open, the limit is {}",
          ctx.channel().remoteAddress(), open.get() - 1, connectionsMax);
      ctx.close();
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
