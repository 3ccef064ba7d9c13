package io.latticekv.server.security;

import io.latticekv.core.crdt.NodeId;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's TLS contexts, built from its {@link TlsFiles} with Netty's {@link SslContextBuilder}:
 * TLS 1.3, and 1.2 for older clients. Three of them: the client port (a client certificate is
 * asked for but optional; it logs its user in), the peer port (a certificate signed by the cluster
 * CA is required), and the peer dialer (presents this node's certificate, trusts only the CA).
 *
 * <p>Rotation: the files are checked every {@link #RELOAD_CHECK_MS} and on {@link #reload()}
 * (SIGHUP); new connections use the new contexts, open ones keep theirs, so nothing is dropped. A
 * new certificate must name the same node id; files that do not load leave the current contexts in
 * place, with an error in the log. Thread-safe.
 */
public final class TlsContexts implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);

  static final long RELOAD_CHECK_MS = 2_000;
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  /** The contexts of one generation of the files. */
  private record Contexts(SslContext clientPort, SslContext peerServer, SslContext peerClient, NodeId nodeId,
      java.util.List<FileStamp> stamp) {}

  private final TlsFiles files;
  private final SslProvider provider;
  private volatile Contexts current;
  private final ScheduledExecutorService watcher;

  private TlsContexts(TlsFiles files, SslProvider provider) throws IOException {
    this.files = files;
    this.provider = provider;
    this.current = build();
    this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lattice-tls-watch");
      t.setDaemon(true);
      return t;
    });
    watcher.scheduleWithFixedDelay(this::reloadIfChanged, RELOAD_CHECK_MS, RELOAD_CHECK_MS, TimeUnit.MILLISECONDS);
  }

  /**
   * Loads the files; fails with a clear message when one does not parse, the key does not match the
   * certificate, or the certificate names no node.
   */
  public static TlsContexts load(TlsFiles files) throws IOException {
    // The JDK's TLS: BoringSSL through netty-tcnative measured no faster once warm
    // (docs/benchmarks.md), and it would add a native library per platform.
    return new TlsContexts(files, SslProvider.JDK);
  }

  private java.util.List<FileStamp> stamp() throws IOException {
    return java.util.List.of(FileStamp.of(files.cert()), FileStamp.of(files.key()), FileStamp.of(files.ca()));
  }

  private Contexts build() throws IOException {
    java.util.List<FileStamp> stamp = stamp(); // before reading: a change after it is seen at the next check
    X509Certificate own = readCertificate(files.cert());
    NodeId id = CertificateNames.nodeId(own);
    if (id == null) {
      throw new IllegalArgumentException("certificate " + files.cert() + " names no node (a subject alternative name "
          + CertificateNames.NODE_URI_PREFIX + "<node id>); issue node certificates with lattice gen-certs");
    }
    CertificateAuthority.checkPair(own, CertificateAuthority.readKey(files.key()), files.cert(), files.key());
    try {
      SslContext clientPort = SslContextBuilder.forServer(files.cert().toFile(), files.key().toFile())
          .trustManager(files.ca().toFile()).clientAuth(ClientAuth.OPTIONAL).protocols(PROTOCOLS).sslProvider(provider)
          .build();
      SslContext peerServer = SslContextBuilder.forServer(files.cert().toFile(), files.key().toFile())
          .trustManager(files.ca().toFile()).clientAuth(ClientAuth.REQUIRE).protocols(PROTOCOLS).sslProvider(provider)
          .build();
      // No host name check between peers: a peer is who its certificate's node id says, wherever
      // it dials from or is dialed at (PeerNetwork checks the id), so nodes may change addresses.
      SslContext peerClient = SslContextBuilder.forClient().keyManager(files.cert().toFile(), files.key().toFile())
          .trustManager(files.ca().toFile()).protocols(PROTOCOLS).sslProvider(provider)
          .endpointIdentificationAlgorithm(null).build();
      return new Contexts(clientPort, peerServer, peerClient, id, stamp);
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot use the TLS files " + files.cert() + ", " + files.key() + ", "
          + files.ca() + ": " + rootMessage(e), e);
    }
  }

  private static String rootMessage(Throwable e) {
    while (e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    return e.getMessage();
  }

  static X509Certificate readCertificate(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (CertificateException e) {
      throw new IllegalArgumentException("certificate " + file + " does not parse: " + e.getMessage(), e);
    }
  }

  private void reloadIfChanged() {
    try {
      if (!stamp().equals(current.stamp())) {
        reload();
      }
    } catch (IOException e) {
      log.error("cannot check the TLS files: {}", e.getMessage());
    }
  }

  /** Rebuilds the contexts from the files now; keeps the current ones if they do not load. */
  public synchronized void reload() {
    try {
      Contexts next = build();
      if (!next.nodeId().equals(current.nodeId())) {
        log.error("TLS files not reloaded: the new certificate names node {}, this node is {}", next.nodeId(),
            current.nodeId());
        return;
      }
      current = next;
      log.info("reloaded the TLS certificate {} (new connections use it)", files.cert());
    } catch (IOException | IllegalArgumentException e) {
      log.error("TLS files not reloaded, the current ones stay in use: {}", e.getMessage());
    }
  }

  public SslContext clientPort() {
    return current.clientPort();
  }

  public SslContext peerServer() {
    return current.peerServer();
  }

  public SslContext peerClient() {
    return current.peerClient();
  }

  /** The node id this node's certificate names. */
  public NodeId nodeId() {
    return current.nodeId();
  }

  @Override
  public void close() {
    watcher.shutdownNow();
  }
}
