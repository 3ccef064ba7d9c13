package io.latticekv.server.api;

import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.server.security.Security;
import io.latticekv.server.security.TlsContexts;
import io.latticekv.proto.wire.ProtobufFrameEncoder;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client port: a Netty server that frames, decodes and hands requests to a
 * {@link RequestProcessor} whose storage work runs on a worker pool. Epoll where the native
 * transport loads, NIO otherwise.
 *
 * <p>Pipeline per connection: flush consolidation (one syscall for many pipelined answers), idle
 * timeout, {@link VarintFrameDecoder}, {@link ProtobufFrameEncoder}, {@link
 * ClientConnectionHandler}.
 */
public final class ClientServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ClientServer.class);

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ExecutorService storageWorkers;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final Inflight inflight = new Inflight();
  private final Channel listener;
  private final String transport;
  private final RequestProcessor processor;
  private final InputBudget inputBudget;
  private final Store store;
  private final Limits limits;
  private final TlsContexts tls;
  private final ConnectionLimiter limiter;
  private final Class<? extends ServerChannel> channelType;
  /** Ports opened beside the native one ({@link #openPort}): the RESP port. */
  private final java.util.List<Channel> otherListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The port's budget of buffered client input, for metrics. */
  public InputBudget inputBudget() {
    return inputBudget;
  }

  /** The processor, to attach metrics. */
  public RequestProcessor processor() {
    return processor;
  }

  /**
   * Binds {@code address} and starts serving.
   *
   * @param ioThreads event loops serving connections; reads and most writes run on them
   * @param storageThreads threads that run writes under the ALWAYS sync policy; they block on
   *     fsync, so more than cores lets RocksDB group more of them into one fsync
   */
  public ClientServer(InetSocketAddress address, Store store, Limits limits, int ioThreads, int storageThreads)
      throws InterruptedException {
    this(address, store, limits, ioThreads, storageThreads, RequestProcessor.Replicator.NONE, Coordinator.LOCAL, null,
        Security.NONE);
  }

  /**
   * @param security TLS for the port (the first handler of every connection) and the users who may
   *     log in; {@link Security#NONE} for plaintext without logins
   */
  public ClientServer(InetSocketAddress address, Store store, Limits limits, int ioThreads, int storageThreads,
      RequestProcessor.Replicator replicator, Coordinator coordinator,
      java.util.function.Supplier<io.latticekv.proto.StatusResponse> status, Security security)
      throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channelType =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    this.transport = epoll ? "epoll" : "nio";
    this.channelType = channelType;
    this.store = store;
    this.limits = limits;
    this.boss = new MultiThreadIoEventLoopGroup(1, io);
    this.workers = new MultiThreadIoEventLoopGroup(ioThreads, io);
    this.storageWorkers = Executors.newFixedThreadPool(storageThreads, namedThreads("lattice-storage"));
    // Reads run on the event loop. Unsynced (or group-committed) writes too, gathered into one
    // store batch per pass of the loop; writes that fsync one by one (ALWAYS) block, and run on a
    // pool, where RocksDB groups concurrent ones into one fsync.
    Executor inline = Runnable::run;
    RequestProcessor.StoreWriter writer = store.sync() == SyncPolicy.ALWAYS
        ? RequestProcessor.StoreWriter.on(store, storageWorkers)
        : new WriteCombiner(store, workers);
    RequestProcessor processor = new RequestProcessor(store, limits, inline, writer, replicator, coordinator,
        status != null ? status : RequestProcessor.aloneStatus(store));
    this.processor = processor;
    if (security.auth() != null) {
      processor.requireLogins(security.auth());
    }
    TlsContexts tls = security.tls();
    this.tls = tls;
    ConnectionLimiter limiter = new ConnectionLimiter(limits.connectionsMax(), connections);
    this.limiter = limiter;
    this.inputBudget = new InputBudget(limits.inputBytesMax());
    ProtobufFrameEncoder encoder = new ProtobufFrameEncoder();
    ServerBootstrap bootstrap = bootstrap(ch -> {
      if (tls != null) {
        // The current context: a rotated certificate serves new connections at once.
        ch.pipeline().addLast("plaintext", new PlaintextRefuser())
            .addLast("tls", tls.clientPort().newHandler(ch.alloc()));
      }
      ch.pipeline()
          .addLast("limit", limiter)
          .addLast("flush", new FlushConsolidationHandler(256, true))
          .addLast("idle", idleTimeout(limits))
          .addLast("frames", new VarintFrameDecoder(limits.frameBytesMax(), inputBudget,
              limits.partialFrameTimeoutMs()))
          .addLast("encoder", encoder)
          .addLast("requests", new ClientConnectionHandler(processor, limits.inflightPerConnectionMax(),
              limits.inflightBytesPerConnectionMax(), inputBudget, inflight));
    });
    try {
      this.listener = bootstrap.bind(address).sync().channel();
    } catch (Exception e) {
      shutdownThreads();
      throw e;
    }
    log.info("serving clients on {} ({})", localAddress(), transport);
  }

  /** A server on the client port's event loops, each new connection's pipeline set up by {@code init}. */
  private ServerBootstrap bootstrap(java.util.function.Consumer<SocketChannel> init) {
    return new ServerBootstrap()
        .group(boss, workers)
        .channel(channelType)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            init.accept(ch);
          }
        });
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) listener.localAddress();
  }

  /** What another client port's protocol handlers are built from. */
  public record PortContext(RequestProcessor processor, Store store, Limits limits, InputBudget inputBudget,
      Inflight inflight) {}

  /** What the handlers of another port share with the native one. */
  public PortContext portContext() {
    return new PortContext(processor, store, limits, inputBudget, inflight);
  }

  /**
   * Both ports' idle timeout: it watches reads only (watching writes put a listener on every write),
   * and each handler closes an idle connection only when it owes no answer.
   */
  private static IdleStateHandler idleTimeout(Limits limits) {
    return new IdleStateHandler(limits.idleTimeoutMs(), 0, 0, TimeUnit.MILLISECONDS);
  }

  /** Adds a protocol's handlers to a connection's pipeline, after TLS, the connection limit and the idle timeout. */
  public interface PortHandlers {
    void add(io.netty.channel.ChannelPipeline pipeline);
  }

  /**
   * Opens another client port on the same event loops, with the same TLS, logins, connection
   * limit (counted over both ports), input budget and idle timeout; a graceful stop drains it with
   * the native port. {@code refusal} turns a sentence into the error the protocol writes before a
   * close (too many connections, plaintext on a TLS port). Returns the bound address.
   */
  public InetSocketAddress openPort(String protocol, InetSocketAddress address,
      java.util.function.Function<String, Object> refusal, PortHandlers handlers) throws InterruptedException {
    ConnectionLimiter portLimiter = limiter.sharedWith(refusal);
    ServerBootstrap bootstrap = bootstrap(ch -> {
      if (tls != null) {
        ch.pipeline().addLast("plaintext", new PlaintextRefuser(refusal))
            .addLast("tls", tls.clientPort().newHandler(ch.alloc()));
      }
      ch.pipeline()
          .addLast("limit", portLimiter)
          .addLast("idle", idleTimeout(limits));
      handlers.add(ch.pipeline());
    });
    Channel bound = bootstrap.bind(address).sync().channel();
    otherListeners.add(bound);
    InetSocketAddress local = (InetSocketAddress) bound.localAddress();
    log.info("serving {} clients on {} ({})", protocol, local, transport);
    return local;
  }

  /** Requests received and not yet answered, over all connections. */
  public int inflight() {
    return inflight.get();
  }

  /**
   * Graceful stop: stop accepting, let in-flight requests finish (up to {@code drainMillis}), then
   * close every connection and stop the threads. The store is the caller's to close afterwards.
   */
  public void close(long drainMillis) {
    listener.close().syncUninterruptibly();
    for (Channel other : otherListeners) {
      other.close().syncUninterruptibly();
    }
    for (var ch : connections) {
      ch.config().setAutoRead(false);
    }
    int left = inflight.awaitNone(drainMillis);
    if (left > 0) {
      log.warn("{} requests still in flight after {} ms; closing anyway", left, drainMillis);
    }
    connections.close().awaitUninterruptibly(drainMillis);
    shutdownThreads();
  }

  @Override
  public void close() {
    close(10_000);
  }

  private void shutdownThreads() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    storageWorkers.shutdown();
    try {
      if (!storageWorkers.awaitTermination(10, TimeUnit.SECONDS)) {
        storageWorkers.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    boss.terminationFuture().awaitUninterruptibly(5_000);
    workers.terminationFuture().awaitUninterruptibly(5_000);
  }

  private static java.util.concurrent.ThreadFactory namedThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
