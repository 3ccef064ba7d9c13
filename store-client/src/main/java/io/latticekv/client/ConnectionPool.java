package io.latticekv.client;

import io.latticekv.proto.AuthRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.wire.ProtobufFrameEncoder;
import io.latticekv.proto.wire.ProtobufMessageDecoder;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;

/**
 * The client's connections: {@code poolSize} per node address, opened on first use and reopened
 * after a node restarts. A connection is ready once TCP is up, the TLS handshake (when the client
 * has a CA) has verified the node's certificate against the CA and the host dialed, and the login
 * (when the client has credentials) has succeeded; until then no request is sent on it. Thread-safe.
 */
final class ConnectionPool implements AutoCloseable {

  /** Credentials, kept for every new connection's login. */
  record Credentials(String user, String password) {
    @Override
    public String toString() {
      return "Credentials[user=" + user + ", password=(hidden)]";
    }
  }

  private final List<InetSocketAddress> addresses;
  private final EventLoopGroup group;
  private final Bootstrap bootstrap;
  private final List<AtomicReferenceArray<CompletableFuture<NodeConnection>>> pools = new ArrayList<>();
  private final AtomicInteger roundRobin = new AtomicInteger();
  private final int frameBytesMax;
  private final SslContext tls;
  private final Credentials credentials;
  private final LongSupplier ids;
  private final long loginTimeoutMillis;

  ConnectionPool(List<InetSocketAddress> addresses, int poolSize, int ioThreads, Duration connectTimeout,
      int frameBytesMax, SslContext tls, Credentials credentials, LongSupplier ids, long loginTimeoutMillis) {
    this.addresses = addresses;
    this.group = new MultiThreadIoEventLoopGroup(ioThreads, NioIoHandler.newFactory());
    this.bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis());
    for (int i = 0; i < addresses.size(); i++) {
      pools.add(new AtomicReferenceArray<>(poolSize));
    }
    this.frameBytesMax = frameBytesMax;
    this.tls = tls;
    this.credentials = credentials;
    this.ids = ids;
    this.loginTimeoutMillis = loginTimeoutMillis;
  }

  /**
   * A TLS context trusting only {@code ca}, presenting {@code cert} and {@code key} when given (a
   * client certificate logs its user in instead of a password).
   */
  static SslContext tlsContext(Path ca, Path cert, Path key) {
    try {
      SslContextBuilder b = SslContextBuilder.forClient().trustManager(ca.toFile()).protocols("TLSv1.3", "TLSv1.2");
      if (cert != null) {
        b.keyManager(cert.toFile(), key.toFile());
      }
      return b.build();
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot use the TLS files " + ca + (cert == null ? "" : ", " + cert + ", " + key)
          + ": " + rootMessage(e), e);
    }
  }

  /** A ready connection to address {@code at}, from its pool, connecting when needed. */
  CompletableFuture<NodeConnection> connection(int at) {
    NodeConnection answering = NodeConnection.answering();
    if (answering != null && answering.isActive() && answering.address().equals(addresses.get(at))) {
      return CompletableFuture.completedFuture(answering);
    }
    AtomicReferenceArray<CompletableFuture<NodeConnection>> pool = pools.get(at);
    int slot = Math.floorMod(roundRobin.getAndIncrement(), pool.length());
    CompletableFuture<NodeConnection> current = pool.get(slot);
    if (current != null && (!current.isDone() || (!current.isCompletedExceptionally() && current.join().isActive()))) {
      return current;
    }
    CompletableFuture<NodeConnection> fresh = new CompletableFuture<>();
    if (!pool.compareAndSet(slot, current, fresh)) {
      return connection(at);
    }
    connect(addresses.get(at), fresh);
    return fresh;
  }

  private void connect(InetSocketAddress address, CompletableFuture<NodeConnection> ready) {
    NodeConnection conn = new NodeConnection(address);
    bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        if (tls != null) {
          SslHandler handler = tls.newHandler(ch.alloc(), address.getHostString(), address.getPort());
          SSLParameters params = handler.engine().getSSLParameters();
          params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host dialed
          handler.engine().setSSLParameters(params);
          ch.pipeline().addLast(handler);
        }
        ch.pipeline()
            // Requests written during a read of this connection (see NodeConnection.answering)
            // are flushed once, when the read completes.
            .addLast(new FlushConsolidationHandler(256, false))
            .addLast(new VarintFrameDecoder(frameBytesMax))
            .addLast(new ProtobufMessageDecoder<>(Response.parser()))
            .addLast(new ProtobufFrameEncoder())
            .addLast(conn);
      }
    }).connect(address).addListener(done -> {
      if (!done.isSuccess()) {
        ready.completeExceptionally(new NodeConnection.NotSent("cannot connect to " + Requests.hostPort(address)
            + ": " + rootMessage(done.cause()), done.cause()));
        return;
      }
      Channel channel = ((ChannelFuture) done).channel();
      SslHandler handler = channel.pipeline().get(SslHandler.class);
      if (handler == null) {
        connected(conn, channel, ready);
        return;
      }
      handler.handshakeFuture().addListener(handshake -> {
        if (handshake.isSuccess()) {
          connected(conn, channel, ready);
        } else {
          channel.close();
          ready.completeExceptionally(new NodeConnection.NotSent(tlsFailure(address, handshake.cause()),
              handshake.cause()));
        }
      });
    });
  }

  /** Transport up (and TLS verified): log in if the client has credentials, then it is ready. */
  private void connected(NodeConnection conn, Channel channel, CompletableFuture<NodeConnection> ready) {
    conn.attach(channel);
    if (credentials == null) {
      ready.complete(conn);
      return;
    }
    Request login = Request.newBuilder().setId(ids.getAsLong())
        .setAuth(AuthRequest.newBuilder().setUser(credentials.user()).setPassword(credentials.password())).build();
    conn.send(login, loginTimeoutMillis).whenComplete((response, failure) -> {
      if (failure != null) {
        conn.close();
        ready.completeExceptionally(failure instanceof LatticeException e ? e : new NodeConnection.NotSent(
            "login at " + Requests.hostPort(conn.address()) + " failed: " + rootMessage(failure), failure));
      } else if (response.hasError()) {
        conn.close();
        ready.completeExceptionally(new LatticeException(response.getError().getCode(), "login as '"
            + credentials.user() + "' at " + Requests.hostPort(conn.address()) + " failed: "
            + response.getError().getMessage()));
      } else {
        ready.complete(conn);
      }
    });
  }

  /** One line saying why a TLS handshake failed, in the terms a user can act on. */
  static String tlsFailure(InetSocketAddress address, Throwable cause) {
    String at = Requests.hostPort(address);
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      if (root instanceof NotSslRecordException) {
        break;
      }
      root = root.getCause();
    }
    String message = String.valueOf(root.getMessage());
    if (root instanceof NotSslRecordException || message.contains("not an SSL/TLS record")) {
      return "the node at " + at + " does not speak TLS on this port (drop --tls-ca, or check the port)";
    }
    if (message.contains("PKIX") || message.contains("unable to find valid certification path")
        || message.contains("does not chain")) {
      return "the certificate of the node at " + at + " is not signed by the CA given (--tls-ca): " + message;
    }
    if (message.contains("No subject alternative") || message.contains("doesn't match")) {
      return "the certificate of the node at " + at + " does not name the host " + address.getHostString() + ": "
          + message;
    }
    if (cause instanceof SSLHandshakeException || root instanceof javax.net.ssl.SSLException) {
      return "TLS handshake with the node at " + at + " failed: " + message;
    }
    return "TLS with the node at " + at + " failed: " + message;
  }

  static String rootMessage(Throwable t) {
    if (t == null) {
      return "no attempt made";
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
  }

  @Override
  public void close() {
    for (AtomicReferenceArray<CompletableFuture<NodeConnection>> pool : pools) {
      for (int i = 0; i < pool.length(); i++) {
        CompletableFuture<NodeConnection> c = pool.get(i);
        if (c != null && c.isDone() && !c.isCompletedExceptionally()) {
          c.join().close();
        }
      }
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
  }
}
