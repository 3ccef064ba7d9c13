package io.latticekv.server.peer;

import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.Transport;
import io.latticekv.proto.Hello;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.Refused;
import io.latticekv.proto.Welcome;
import io.latticekv.proto.wire.ProtobufFrameEncoder;
import io.latticekv.proto.wire.ProtobufMessageDecoder;
import io.latticekv.proto.wire.VarintFrameDecoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port, and the {@link Transport} the protocol objects send through: one outbound
 * connection per peer address, opened on first use, each starting with a handshake.
 *
 * <p>Handshake: the dialer sends {@code Hello} (protocol version, cluster name, node id, its own
 * peer address); the listener checks version and cluster and answers {@code Welcome}, or {@code
 * Refused} with the reason and closes. A node of another cluster or version is refused with a log
 * line on both sides. Nothing but a Hello is accepted before the handshake; after it, any frame
 * that does not decode closes that connection, and only that one.
 *
 * <p>Delivery is best effort, as the protocols expect: messages to an unreachable peer are
 * dropped, and at most {@link #PENDING_MAX} wait for a connection being opened.
 */
public final class PeerNetwork implements Transport, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PeerNetwork.class);

  public static final int PROTOCOL_VERSION = 1;
  /**
   * What peers must agree on for anti-entropy to compare trees: the segment count and the hash
   * functions' version, packed as {@code segments << 8 | Hashing.VERSION}.
   */
  private final int merkleLayout;
  static final int PENDING_MAX = 1024;
  /** Largest frame before the handshake: a Hello is a few dozen bytes. */
  static final int HANDSHAKE_FRAME_BYTES_MAX = 4096;
  /** A connection that has not completed its handshake by then is closed. */
  static final long HANDSHAKE_TIMEOUT_MS = 5_000;
  /** Peers probe each other every probe interval; a connection silent this long is dead. */
  static final long PEER_IDLE_TIMEOUT_MS = 60_000;

  /** Where decoded messages go (the protocol thread). */
  public interface Inbox {
    void deliver(PeerMessage message);
  }

  private final NodeId self;
  private final String selfAddress;
  private final String cluster;
  private final int frameBytesMax;
  private final Inbox inbox;
  private final EventLoopGroup group;
  private final Channel listener;
  private final Bootstrap dialer;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final Map<String, Outbound> outbound = new ConcurrentHashMap<>();
  private volatile boolean closed;
  /** Test-only fault injection: peer addresses whose traffic is dropped both ways. */
  private volatile java.util.Set<String> dropped = java.util.Set.of();

  /** Drops all traffic to and from {@code peers} (test-only; an empty set heals). */
  public void dropPeers(java.util.Set<String> peers) {
    this.dropped = java.util.Set.copyOf(peers);
    log.warn("fault injection: dropping traffic with {}", peers.isEmpty() ? "nobody" : peers);
  }
  private final java.util.concurrent.atomic.AtomicLong messagesSent = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong bytesSent = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong antiEntropyBytesSent = new java.util.concurrent.atomic.AtomicLong();

  public PeerNetwork(InetSocketAddress listen, String advertised, NodeId self, String cluster,
      int frameBytesMax, int merkleSegments, Inbox inbox) throws InterruptedException {
    this.self = self;
    this.merkleLayout = merkleSegments << 8 | io.latticekv.core.merkle.Hashing.VERSION;
    this.cluster = cluster;
    this.frameBytesMax = frameBytesMax;
    this.inbox = inbox;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    ServerBootstrap server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            VarintFrameDecoder frames = new VarintFrameDecoder(HANDSHAKE_FRAME_BYTES_MAX);
            ch.pipeline()
                .addLast(new io.netty.handler.timeout.ReadTimeoutHandler(PEER_IDLE_TIMEOUT_MS, TimeUnit.MILLISECONDS))
                .addLast(frames)
                .addLast(new ProtobufMessageDecoder<>(PeerFrame.parser()))
                .addLast(new ProtobufFrameEncoder())
                .addLast(new Inbound(frames));
          }
        });
    try {
      this.listener = server.bind(listen).sync().channel();
    } catch (Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    this.selfAddress = advertised != null ? advertised : bound.getHostString() + ":" + bound.getPort();
    this.dialer = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1_000);
    log.info("peer port {} (cluster '{}')", selfAddress, cluster);
  }

  /** The Merkle layout value a Hello must carry to be welcomed here. */
  public int merkleLayout() {
    return merkleLayout;
  }

  /** This node's peer address as others should dial it. */
  public String address() {
    return selfAddress;
  }

  private io.netty.channel.ChannelPipeline codec(Channel ch) {
    return ch.pipeline()
        .addLast(new VarintFrameDecoder(frameBytesMax))
        .addLast(new ProtobufMessageDecoder<>(PeerFrame.parser()))
        .addLast(new ProtobufFrameEncoder());
  }

  // ---------------------------------------------------------------- sending

  @Override
  public void send(String address, PeerMessage message) {
    if (closed || address.equals(selfAddress) || dropped.contains(address)) {
      return;
    }
    PeerFrame frame = PeerCodec.encode(message);
    messagesSent.incrementAndGet();
    bytesSent.addAndGet(frame.getSerializedSize());
    if (frame.getBodyCase().getNumber() >= 30) { // fields 30 and up are anti-entropy's
      antiEntropyBytesSent.addAndGet(frame.getSerializedSize());
    }
    outbound.computeIfAbsent(address, this::dial).send(frame);
  }

  /** Protocol messages handed to the network since start (some may have been dropped). */
  public long messagesSent() {
    return messagesSent.get();
  }

  /** Bytes of anti-entropy messages sent since start. */
  public long antiEntropyBytesSent() {
    return antiEntropyBytesSent.get();
  }

  /** Bytes of those messages, frame prefixes not counted. */
  public long bytesSent() {
    return bytesSent.get();
  }

  private Outbound dial(String address) {
    Outbound out = new Outbound(address);
    int colon = address.lastIndexOf(':');
    InetSocketAddress target;
    try {
      target = InetSocketAddress.createUnresolved(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    } catch (RuntimeException e) {
      log.warn("ignoring peer address '{}': not HOST:PORT", address);
      out.fail();
      return out;
    }
    dialer.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        channels.add(ch);
        codec(ch).addLast(out);
      }
    }).connect(target).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        log.debug("cannot reach peer {}: {}", address, f.cause().getMessage());
        out.fail();
      } else {
        f.channel().writeAndFlush(PeerFrame.newBuilder().setHello(Hello.newBuilder()
            .setProtocolVersion(PROTOCOL_VERSION).setCluster(cluster).setNodeId(self.toBytes())
            .setAddress(selfAddress).setMerkleSegments(merkleLayout)).build());
      }
    });
    return out;
  }

  /** One outbound connection: frames wait for the Welcome, then flow. */
  private final class Outbound extends SimpleChannelInboundHandler<PeerFrame> {
    private final String address;
    private final ArrayDeque<PeerFrame> pending = new ArrayDeque<>();
    private Channel channel;
    private boolean welcomed;
    private boolean dead;

    Outbound(String address) {
      this.address = address;
    }

    synchronized void send(PeerFrame frame) {
      if (dead) {
        return;
      }
      if (welcomed) {
        channel.writeAndFlush(frame, channel.voidPromise());
      } else if (pending.size() < PENDING_MAX) {
        pending.add(frame);
      }
    }

    synchronized void fail() {
      dead = true;
      pending.clear();
      outbound.remove(address, this);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerFrame frame) {
      if (frame.hasWelcome()) {
        synchronized (this) {
          channel = ctx.channel();
          welcomed = true;
          for (PeerFrame f; (f = pending.poll()) != null; ) {
            channel.write(f, channel.voidPromise());
          }
          channel.flush();
        }
      } else if (frame.hasRefused()) {
        log.error("peer {} refused this node: {}", address, frame.getRefused().getReason());
        ctx.close();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      fail();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("peer connection to {} failed: {}", address, cause.getMessage());
      ctx.close();
    }
  }

  // ---------------------------------------------------------------- receiving

  /** One inbound connection: a Hello first, then protocol frames to the inbox. */
  private final class Inbound extends SimpleChannelInboundHandler<PeerFrame> {
    private final VarintFrameDecoder frames;
    private boolean welcomed;
    private String peer = "?";
    private String peerAddress = "";

    Inbound(VarintFrameDecoder frames) {
      this.frames = frames;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.executor().schedule(() -> {
        if (!welcomed && ctx.channel().isActive()) {
          log.warn("closing peer connection from {}: no handshake within {} ms",
              ctx.channel().remoteAddress(), HANDSHAKE_TIMEOUT_MS);
          ctx.close();
        }
      }, HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerFrame frame) {
      if (!welcomed) {
        handshake(ctx, frame);
        return;
      }
      if (dropped.contains(peerAddress)) {
        return; // fault injection
      }
      try {
        inbox.deliver(PeerCodec.decode(frame));
      } catch (PeerCodec.BadFrame e) {
        log.warn("closing peer connection from {}: {}", peer, e.getMessage());
        ctx.close();
      }
    }

    private void handshake(ChannelHandlerContext ctx, PeerFrame frame) {
      String remote = String.valueOf(ctx.channel().remoteAddress());
      if (!frame.hasHello()) {
        refuse(ctx, remote, "the first frame must be a Hello, got " + frame.getBodyCase());
        return;
      }
      Hello hello = frame.getHello();
      if (hello.getProtocolVersion() != PROTOCOL_VERSION) {
        refuse(ctx, remote, "peer protocol version " + hello.getProtocolVersion() + " is not " + PROTOCOL_VERSION);
      } else if (!hello.getCluster().equals(cluster)) {
        refuse(ctx, remote, "cluster '" + hello.getCluster() + "' is not this node's cluster '" + cluster + "'");
      } else if (hello.getMerkleSegments() != merkleLayout) {
        refuse(ctx, remote, "Merkle tree layout " + (hello.getMerkleSegments() >>> 8) + " segments, hash version "
            + (hello.getMerkleSegments() & 0xff) + " differs from this node's " + (merkleLayout >>> 8) + " segments, hash version "
            + (merkleLayout & 0xff));
      } else {
        welcomed = true;
        frames.setFrameBytesMax(frameBytesMax);
        peer = hello.getAddress() + " (" + remote + ")";
        peerAddress = hello.getAddress();
        ctx.writeAndFlush(PeerFrame.newBuilder().setWelcome(Welcome.newBuilder().setNodeId(self.toBytes())).build());
      }
    }

    private void refuse(ChannelHandlerContext ctx, String remote, String reason) {
      log.warn("refused peer {}: {}", remote, reason);
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(PeerFrame.newBuilder().setRefused(Refused.newBuilder().setReason(reason)).build())
          .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (ctx.channel().isActive()) {
        log.warn("closing peer connection from {}: {}", peer.equals("?") ? ctx.channel().remoteAddress() : peer,
            cause.getMessage());
        ctx.close();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    listener.close().awaitUninterruptibly(2_000);
    channels.close().awaitUninterruptibly(2_000);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
  }
}
