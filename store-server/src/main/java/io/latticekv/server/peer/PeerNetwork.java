package io.latticekv.server.peer;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.Transport;
import io.latticekv.core.util.RateLimitedLog;
import io.latticekv.proto.Hello;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.Refused;
import io.latticekv.proto.Welcome;
import io.latticekv.proto.wire.InputBudget;
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
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.latticekv.server.security.CertificateNames;
import io.latticekv.server.security.TlsContexts;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port, and the {@link Transport} the protocol objects send through: one outbound
 * connection per peer address, opened on first use, each starting with a handshake.
 *
 * <p>Handshake: the dialer sends {@code Hello} (protocol version, cluster name, node id, its own
 * peer address); the listener checks them and answers {@code Welcome}, or {@code Refused} with the
 * reason and closes. A node of another cluster or version is refused with a log line on both
 * sides. Nothing but a Hello is accepted before the handshake; after it, every message must come
 * from the node the Hello named (a connection speaks for one node), and a frame that does not
 * decode, or breaks the {@link PeerCodec.Limits}, closes that connection, and only that one.
 *
 * <p>Bounds, each against a peer that sends faster than the node works or reads slower than it
 * writes: frames still arriving share the port's {@link InputBudget} and must arrive within
 * {@link #PARTIAL_FRAME_TIMEOUT_MS}; decoded messages waiting for the protocol thread are held to
 * {@link #INBOX_BYTES_MAX}, past which the connections that sent them stop being read until it
 * drains; at most {@link #INBOUND_CONNECTIONS_MAX} inbound connections; an outbound connection
 * queues at most {@link #PENDING_MAX} frames while it opens, and drops messages while its socket
 * buffer is full rather than queue without end. Delivery is best effort, as the protocols expect.
 */
public final class PeerNetwork implements Transport, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PeerNetwork.class);

  /** 2: key lives, stamps of epoch and replica id, removed members (1 had none). */
  public static final int PROTOCOL_VERSION = 2;
  /** Frames queued while a connection opens, at most; probes are sent every interval anyway. */
  static final int PENDING_MAX = 1024;
  /** Largest frame before the handshake: a Hello is a few dozen bytes. */
  static final int HANDSHAKE_FRAME_BYTES_MAX = 4096;
  /** A connection that has not completed its handshake by then is closed. */
  static final long HANDSHAKE_TIMEOUT_MS = 5_000;
  /** Peers probe each other every probe interval; a connection silent this long is dead. */
  static final long PEER_IDLE_TIMEOUT_MS = 60_000;
  /** A frame must arrive whole within this long: a 4 MiB frame over a LAN takes milliseconds. */
  static final long PARTIAL_FRAME_TIMEOUT_MS = 10_000;
  /**
   * Bytes of frames all peers may have arriving at once: sixteen peers each sending a frame of the
   * 4 MiB limit at the same moment, which no cluster of this design reaches in practice.
   */
  static final long INPUT_BYTES_MAX = 64L << 20;
  /**
   * Bytes of decoded messages waiting for the protocol thread, at most, before the peer port stops
   * reading the connections that sent them: a few hundred milliseconds of the busiest peer traffic
   * measured, so a flood waits in TCP buffers (the sender's memory), not in ours.
   */
  static final long INBOX_BYTES_MAX = 32L << 20;
  /** Inbound peer connections at most: one per member and then some, for redials. */
  static final int INBOUND_CONNECTIONS_MAX = io.latticekv.core.membership.MembershipConfig.MEMBERS_MAX + 64;

  /** Where decoded messages go: the protocol thread, which calls {@code processed} once done with one. */
  public interface Inbox {
    void deliver(PeerMessage message, Runnable processed);
  }

  private final NodeId self;
  private final String selfAddress;
  private final String cluster;
  private final int frameBytesMax;
  private final PeerCodec.Limits limits;
  /** What peers must agree on for anti-entropy to compare trees: {@code segments << 8 | Hashing.VERSION}. */
  private final int merkleLayout;
  private final Inbox inbox;
  private final TlsContexts tls;
  private final EventLoopGroup group;
  private final Channel listener;
  private final Bootstrap dialer;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final Map<String, Outbound> outbound = new ConcurrentHashMap<>();
  private final InputBudget inputBudget = new InputBudget(INPUT_BYTES_MAX);
  private final AtomicLong inboxBytes = new AtomicLong();
  private final Queue<Channel> paused = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inboundConnections = new AtomicInteger();
  private final RateLimitedLog hostile = new RateLimitedLog(log, Clock.system(), 10_000);
  private volatile boolean closed;
  /** Test-only fault injection: peer addresses whose traffic is dropped both ways. */
  private volatile java.util.Set<String> dropped = java.util.Set.of();

  private final AtomicLong messagesSent = new AtomicLong();
  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicLong antiEntropyBytesSent = new AtomicLong();
  private final AtomicLong messagesDropped = new AtomicLong();
  private final AtomicLong connectionsRefused = new AtomicLong();
  private final AtomicLong connectionsAccepted = new AtomicLong();

  /**
   * @param tls TLS both ways with certificates required, each binding a peer to the node id it
   *     names; null for plaintext
   */
  /** Members removed for good: refused at the handshake. Written by the protocol thread. */
  private final java.util.Set<NodeId> removed = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Refuses {@code id}'s connections from now on (it was removed from the cluster). */
  public void refuse(NodeId id) {
    removed.add(id);
  }

  public PeerNetwork(InetSocketAddress listen, String advertised, NodeId self, String cluster,
      int frameBytesMax, int merkleSegments, PeerCodec.Limits limits, TlsContexts tls, Inbox inbox)
      throws InterruptedException {
    this.self = self;
    this.tls = tls;
    this.merkleLayout = merkleSegments << 8 | io.latticekv.core.merkle.Hashing.VERSION;
    this.cluster = cluster;
    this.frameBytesMax = frameBytesMax;
    this.limits = limits;
    this.inbox = inbox;
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    // A frame of the limit must fit without making the channel unwritable at once.
    WriteBufferWaterMark watermark = new WriteBufferWaterMark(frameBytesMax, 2 * frameBytesMax + (1 << 20));
    ServerBootstrap server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, watermark)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            VarintFrameDecoder frames = new VarintFrameDecoder(HANDSHAKE_FRAME_BYTES_MAX, inputBudget,
                PARTIAL_FRAME_TIMEOUT_MS);
            if (tls != null) {
              ch.pipeline().addLast(tls.peerServer().newHandler(ch.alloc()));
            }
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
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, watermark)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1_000);
    log.info("peer port {} (cluster '{}')", selfAddress, cluster);
  }

  /** This node's peer address as others should dial it. */
  public String address() {
    return selfAddress;
  }

  /** Drops all traffic to and from {@code peers} (test-only; an empty set heals). */
  public void dropPeers(java.util.Set<String> peers) {
    this.dropped = java.util.Set.copyOf(peers);
    log.warn("fault injection: dropping traffic with {}", peers.isEmpty() ? "nobody" : peers);
  }

  private io.netty.channel.ChannelPipeline codec(Channel ch) {
    return ch.pipeline()
        .addLast(new VarintFrameDecoder(frameBytesMax, inputBudget, PARTIAL_FRAME_TIMEOUT_MS))
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

  public long messagesSent() {
    return messagesSent.get();
  }

  public long antiEntropyBytesSent() {
    return antiEntropyBytesSent.get();
  }

  /** Bytes of the messages sent, frame prefixes not counted. */
  public long bytesSent() {
    return bytesSent.get();
  }

  /** Messages dropped because a peer's connection was not ready or its socket buffer was full. */
  public long messagesDropped() {
    return messagesDropped.get();
  }

  /** Inbound connections closed for hostile or broken input, or over the connection limit. */
  public long connectionsRefused() {
    return connectionsRefused.get();
  }

  /** Inbound connections accepted since start, refused ones included: a steady count means no churn. */
  public long connectionsAccepted() {
    return connectionsAccepted.get();
  }

  /** The peer port's budget of frames arriving. */
  public InputBudget inputBudget() {
    return inputBudget;
  }

  /** Bytes of decoded messages waiting for the protocol thread. */
  public long inboxBytes() {
    return inboxBytes.get();
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
    InetSocketAddress dialed = target;
    dialer.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        channels.add(ch);
        if (tls != null) {
          ch.pipeline().addLast(tls.peerClient().newHandler(ch.alloc(), dialed.getHostString(), dialed.getPort()));
        }
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

  /** One outbound connection: frames wait for the Welcome, then flow while the socket keeps up. */
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
        if (channel.isWritable()) {
          channel.writeAndFlush(frame, channel.voidPromise());
        } else {
          dropped(); // the peer reads slower than we write: what it misses, anti-entropy repairs
        }
      } else if (pending.size() < PENDING_MAX) {
        pending.add(frame);
      } else {
        dropped();
      }
    }

    private void dropped() {
      messagesDropped.incrementAndGet();
      hostile.warn("slow-peer", "dropping messages to peer {}: its connection is not keeping up", address);
    }

    synchronized void fail() {
      dead = true;
      pending.clear();
      outbound.remove(address, this);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
        hostile.warn("tls-out", "cannot reach peer {} over TLS: {}", address, rootMessage(handshake.cause()));
      }
      ctx.fireUserEventTriggered(event);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerFrame frame) {
      if (frame.hasWelcome() && tls != null && !welcomedByItsCertificate(ctx, frame.getWelcome())) {
        ctx.close();
        return;
      }
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

    /** The listener's certificate must name the node its Welcome names. */
    private boolean welcomedByItsCertificate(ChannelHandlerContext ctx, Welcome welcome) {
      NodeId certified = certifiedId(ctx);
      NodeId claimed;
      try {
        claimed = NodeId.fromBytes(welcome.getNodeId());
      } catch (CrdtDecodeException e) {
        claimed = null;
      }
      if (certified == null || !certified.equals(claimed)) {
        hostile.warn("tls-welcome", "dropped peer {}: its certificate names node {}, its Welcome node {}", address,
            certified, claimed);
        return false;
      }
      return true;
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

  /** A message has been handled by the protocol thread: its bytes leave the inbox. */
  private void processed(int bytes) {
    if (inboxBytes.addAndGet(-bytes) < INBOX_BYTES_MAX / 2) {
      for (Channel ch; (ch = paused.poll()) != null; ) {
        ch.config().setAutoRead(true);
      }
    }
  }

  /** One inbound connection: a Hello first, then protocol frames to the inbox. */
  private final class Inbound extends SimpleChannelInboundHandler<PeerFrame> {
    private final VarintFrameDecoder frames;
    private boolean welcomed;
    private boolean counted;
    private NodeId peerId;
    private String peer = "?";
    private String peerAddress = "";

    Inbound(VarintFrameDecoder frames) {
      this.frames = frames;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      counted = true;
      connectionsAccepted.incrementAndGet();
      if (inboundConnections.incrementAndGet() > INBOUND_CONNECTIONS_MAX) {
        connectionsRefused.incrementAndGet();
        hostile.warn("connections", "refusing peer connection from {}: {} are open, the limit",
            ctx.channel().remoteAddress(), INBOUND_CONNECTIONS_MAX);
        ctx.close();
        return;
      }
      ctx.executor().schedule(() -> {
        if (!welcomed && ctx.channel().isActive()) {
          hostile.warn("handshake", "closing peer connection from {}: no handshake within {} ms",
              ctx.channel().remoteAddress(), HANDSHAKE_TIMEOUT_MS);
          ctx.close();
        }
      }, HANDSHAKE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (counted) {
        inboundConnections.decrementAndGet();
      }
      ctx.fireChannelInactive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerFrame frame) {
      if (!welcomed) {
        handshake(ctx, frame);
        return;
      }
      if (dropped.contains(peerAddress) || closed) {
        return; // fault injection, or stopping
      }
      PeerMessage message;
      try {
        message = PeerCodec.decode(frame, limits);
      } catch (PeerCodec.BadFrame e) {
        closeHostile(ctx, e.getMessage());
        return;
      }
      if (!message.from().equals(peerId)) {
        closeHostile(ctx, "a message from " + message.from() + " on the connection of " + peerId);
        return;
      }
      int bytes = frame.getSerializedSize();
      if (inboxBytes.addAndGet(bytes) > INBOX_BYTES_MAX) {
        ctx.channel().config().setAutoRead(false);
        paused.add(ctx.channel());
        // Drained meanwhile: nobody else would resume us.
        if (inboxBytes.get() < INBOX_BYTES_MAX / 2 && paused.remove(ctx.channel())) {
          ctx.channel().config().setAutoRead(true);
        }
      }
      inbox.deliver(message, () -> processed(bytes));
    }

    private void closeHostile(ChannelHandlerContext ctx, String why) {
      connectionsRefused.incrementAndGet();
      hostile.warn("bad-frame", "closing peer connection from {}: {}", peer, why);
      ctx.close();
    }

    private void handshake(ChannelHandlerContext ctx, PeerFrame frame) {
      String remote = String.valueOf(ctx.channel().remoteAddress());
      if (!frame.hasHello()) {
        refuse(ctx, remote, "the first frame must be a Hello, got " + frame.getBodyCase());
        return;
      }
      Hello hello = frame.getHello();
      NodeId id;
      try {
        id = NodeId.fromBytes(hello.getNodeId());
      } catch (CrdtDecodeException e) {
        refuse(ctx, remote, "its node id is not valid: " + e.getMessage());
        return;
      }
      if (hello.getProtocolVersion() != PROTOCOL_VERSION) {
        refuse(ctx, remote, "peer protocol version " + hello.getProtocolVersion() + " is not " + PROTOCOL_VERSION);
      } else if (!hello.getCluster().equals(cluster)) {
        refuse(ctx, remote, "cluster '" + hello.getCluster() + "' is not this node's cluster '" + cluster + "'");
      } else if (hello.getMerkleSegments() != merkleLayout) {
        refuse(ctx, remote, "Merkle tree layout " + (hello.getMerkleSegments() >>> 8) + " segments, hash version "
            + (hello.getMerkleSegments() & 0xff) + " differs from this node's " + (merkleLayout >>> 8)
            + " segments, hash version " + (merkleLayout & 0xff));
      } else if (id.equals(self)) {
        refuse(ctx, remote, "it claims this node's own id " + self);
      } else if (removed.contains(id)) {
        refuse(ctx, remote, "node " + id + " was removed from the cluster: its data cannot come back; wipe its "
            + "data directory and start it as a new member");
      } else if (tls != null && !id.equals(certifiedId(ctx))) {
        NodeId certified = certifiedId(ctx);
        refuse(ctx, remote, certified == null ? "its certificate names no node"
            : "its certificate names node " + certified + " but its Hello claims " + id);
      } else if (hello.getAddress().isEmpty() || hello.getAddress().length() > PeerCodec.ADDRESS_CHARS_MAX) {
        refuse(ctx, remote, "its address has " + hello.getAddress().length() + " characters");
      } else {
        welcomed = true;
        peerId = id;
        frames.setFrameBytesMax(frameBytesMax);
        peer = hello.getAddress() + " (" + remote + ")";
        peerAddress = hello.getAddress();
        ctx.writeAndFlush(PeerFrame.newBuilder().setWelcome(Welcome.newBuilder().setNodeId(self.toBytes())).build());
      }
    }

    private void refuse(ChannelHandlerContext ctx, String remote, String reason) {
      connectionsRefused.incrementAndGet();
      hostile.warn("refused", "refused peer {}: {}", remote, reason);
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(PeerFrame.newBuilder().setRefused(Refused.newBuilder().setReason(reason)).build())
          .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
        connectionsRefused.incrementAndGet();
        hostile.warn("tls-in", "refused peer {}: TLS handshake failed: {}", ctx.channel().remoteAddress(),
            rootMessage(handshake.cause()));
      }
      ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (ctx.channel().isActive()) {
        connectionsRefused.incrementAndGet();
        hostile.warn("broken", "closing peer connection from {}: {}",
            peer.equals("?") ? ctx.channel().remoteAddress() : peer, cause.getMessage());
        ctx.close();
      }
    }
  }

  /** The node id the other end's certificate names, or null (no TLS, no certificate, none named). */
  private static NodeId certifiedId(ChannelHandlerContext ctx) {
    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
    if (ssl == null) {
      return null;
    }
    try {
      java.security.cert.Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
      return CertificateNames.nodeId((java.security.cert.X509Certificate) chain[0]);
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }

  /** Stops taking peer messages in: frames arriving from now on are dropped (the first step of a stop). */
  public void stopReceiving() {
    closed = true;
  }

  @Override
  public void close() {
    closed = true;
    listener.close().awaitUninterruptibly(2_000);
    channels.close().awaitUninterruptibly(2_000);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
  }
}
