package io.latticekv.client;

import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One connection to one node, with any number of requests in flight: answers are matched to
 * requests by id, in whatever order they come.
 */
final class NodeConnection extends SimpleChannelInboundHandler<Response> {

  /** The request never left: safe to send elsewhere, whatever it is. */
  static final class NotSent extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotSent(String message, Throwable cause) {
      super(message, cause, false, false);
    }
  }

  /** The request was sent and the connection died before its answer: it may have been applied. */
  static final class Lost extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Lost(String message) {
      super(message, null, false, false);
    }
  }

  private record Pending(CompletableFuture<Response> answer, long deadlineNanos, long timeoutMillis) {}

  /**
   * How often pending requests are checked against their deadlines. One sweep per connection is
   * far cheaper than a timer task per request; a timeout fires up to this much late.
   */
  private static final long SWEEP_MILLIS = 20;

  private final InetSocketAddress address;
  private final String name;
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private volatile Channel channel;

  NodeConnection(InetSocketAddress address) {
    this.address = address;
    this.name = Requests.hostPort(address);
  }

  void attach(Channel channel) {
    this.channel = channel;
    ScheduledFuture<?> sweeper = channel.eventLoop().scheduleAtFixedRate(
        this::expireOverdue, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
    channel.closeFuture().addListener(closed -> sweeper.cancel(false));
  }

  private void expireOverdue() {
    long now = System.nanoTime();
    for (Map.Entry<Long, Pending> entry : pending.entrySet()) {
      Pending p = entry.getValue();
      if (now - p.deadlineNanos() >= 0 && pending.remove(entry.getKey(), p)) {
        p.answer().completeExceptionally(new LatticeTimeoutException(
            "no answer from " + name + " within " + p.timeoutMillis() + " ms"));
      }
    }
  }

  boolean isActive() {
    Channel ch = channel;
    return ch != null && ch.isActive();
  }

  InetSocketAddress address() {
    return address;
  }

  CompletableFuture<Response> send(Request request, long timeoutMillis) {
    CompletableFuture<Response> answer = new CompletableFuture<>();
    Channel ch = channel;
    if (ch == null || !ch.isActive()) {
      answer.completeExceptionally(new NotSent("connection to " + name + " is closed", null));
      return answer;
    }
    long id = request.getId();
    pending.put(id, new Pending(answer, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), timeoutMillis));
    ch.writeAndFlush(request).addListener(done -> {
      if (!done.isSuccess() && pending.remove(id) != null) {
        answer.completeExceptionally(new NotSent("could not send to " + name, done.cause()));
      }
    });
    return answer;
  }

  /**
   * The connection whose answer is being delivered on this thread, if any. A request made from
   * that answer's callback goes back on the same connection: it is then written during the
   * connection's read and flushed with the other answers' follow-ups in one system call, and
   * never crosses to another thread.
   */
  private static final ThreadLocal<NodeConnection> ANSWERING = new ThreadLocal<>();

  static NodeConnection answering() {
    return ANSWERING.get();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, Response response) {
    Pending waiting = pending.remove(response.getId());
    if (waiting != null) {
      ANSWERING.set(this);
      try {
        waiting.answer().complete(response);
      } finally {
        ANSWERING.remove();
      }
    } else if (response.hasError()) {
      // An error for no request of ours: the node refused the connection itself (TLS required,
      // too many connections, broken framing) and closes it; what was pending fails with its word.
      failAll(new LatticeException(response.getError().getCode(), "node " + name + " closed the connection: "
          + response.getError().getMessage()));
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    failAll(new Lost("connection to " + name + " was lost before the answer"));
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  private void failAll(RuntimeException why) {
    for (Long id : pending.keySet()) {
      Pending waiting = pending.remove(id);
      if (waiting != null) {
        waiting.answer().completeExceptionally(why);
      }
    }
  }

  void close() {
    Channel ch = channel;
    if (ch != null) {
      ch.close();
    }
  }
}
