package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.CounterEntry;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Hello;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.PnCounterState;
import io.latticekv.server.LatticeNode;
import io.latticekv.server.api.Limits;
import io.latticekv.server.cli.Lattice;
import io.latticekv.server.cluster.ClusterService;
import io.latticekv.server.peer.PeerNetwork;
import io.latticekv.server.security.AuthFile;
import io.latticekv.server.security.CertificateAuthority;
import io.latticekv.server.security.PasswordHash;
import io.latticekv.server.security.Role;
import io.latticekv.server.security.Security;
import io.latticekv.server.security.TlsFiles;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, peers that prove who they are, and client logins, on real sockets: in-process nodes with
 * certificates from a CA made for the test and users in an auth file ({@link TestSecurity}). The
 * consistency levels over TLS are in {@link ConsistencyLevelTest}.
 */
class SecurityTest {

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();
  private final List<LatticeNode> nodes = new ArrayList<>();
  private TestSecurity security;

  @AfterEach
  void stop() {
    nodes.forEach(LatticeNode::halt);
  }

  private LatticeNode start(String name, Security nodeSecurity, String seed) throws Exception {
    ClusterService.Settings settings = TestCluster.settings(0, seed == null ? List.of() : List.of(seed), "test");
    LatticeNode node = new LatticeNode(StoreOptions.defaults(dir.resolve(name), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2, settings, nodeSecurity);
    nodes.add(node);
    return node;
  }

  private List<LatticeNode> secureCluster(int n) throws Exception {
    security = new TestSecurity(dir.resolve("tls"));
    String seed = null;
    for (int i = 0; i < n; i++) {
      LatticeNode node = start("n" + i, security.forNode("node" + i), seed);
      if (seed == null) {
        seed = node.cluster().peerAddress();
      }
    }
    List<LatticeNode> formed = List.copyOf(nodes);
    assertTrue(ClusterTest.await(() -> ClusterTest.allSee(formed, n), 30_000) >= 0, "the TLS cluster did not form");
    return formed;
  }

  private LatticeClient client(LatticeNode node, String user, String password) {
    return LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort()).tls(security.caPem)
        .credentials(user, password).requestTimeout(Duration.ofSeconds(5)).build();
  }

  private LatticeClient client(LatticeNode node, String user) {
    return client(node, user, TestSecurity.password(user));
  }

  private static String cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Lattice.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return code + " " + out.toString().strip() + err.toString().strip();
  }

  @Test
  void aTlsClusterReplicatesAndConverges() throws Exception {
    List<LatticeNode> cluster = secureCluster(3);
    try (LatticeClient a = client(cluster.get(0), "alice");
        LatticeClient c = client(cluster.get(2), "writer")) {
      a.increment("hits", 5);
      assertTrue(ClusterTest.await(() -> c.counter("hits") == 5, 5_000) >= 0, "no replication over TLS");
      c.add("set", "x");
      assertTrue(ClusterTest.await(() -> a.elements("set").elementsAsStrings().equals(List.of("x")), 5_000) >= 0,
          "no replication over TLS");
    }
    String root = cluster.get(0).status().getMerkleRoot();
    assertTrue(ClusterTest.await(() -> cluster.stream().allMatch(n -> n.status().getMerkleRoot().equals(root)), 10_000)
        >= 0, "the TLS cluster did not converge");
  }

  @Test
  void everyLoginMistakeIsOneClearError() throws Exception {
    LatticeNode node = secureCluster(1).get(0);
    String at = "127.0.0.1:" + node.clientAddress().getPort();
    LatticeException wrong = assertThrows(LatticeException.class,
        () -> client(node, "alice", "not-her-password").counter("c"));
    assertEquals(ErrorCode.UNAUTHENTICATED, wrong.code());
    assertTrue(wrong.getMessage().contains("wrong password for user 'alice'"), wrong.getMessage());
    LatticeException unknown = assertThrows(LatticeException.class, () -> client(node, "mallory", "x").counter("c"));
    assertEquals(ErrorCode.UNAUTHENTICATED, unknown.code());
    assertTrue(unknown.getMessage().contains("unknown user 'mallory'"), unknown.getMessage());
    try (LatticeClient bob = client(node, "bob")) {
      assertEquals(0, bob.counter("c"));
      LatticeException forbidden = assertThrows(LatticeException.class, () -> bob.increment("c", 1));
      assertEquals(ErrorCode.FORBIDDEN, forbidden.code());
      assertTrue(forbidden.getMessage().contains("user 'bob' has the read role; a write needs write"),
          forbidden.getMessage());
    }
    try (LatticeClient writer = client(node, "writer")) {
      CrdtValue claim = CrdtValue.newBuilder().setFormatVersion(1).setPnCounter(PnCounterState.newBuilder()
          .addP(CounterEntry.newBuilder().setReplica(node.store().replicaId().toBytes()).setTotal(1_000_000))).build();
      LatticeException merge = assertThrows(LatticeException.class, () -> writer.mergeState("c", claim));
      assertEquals(ErrorCode.FORBIDDEN, merge.code(), "a whole-state merge needs admin");
      assertEquals(0, writer.counter("c"), "the refused merge left no trace");
    }
    try (LatticeClient anonymous = LatticeClient.builder().addresses(at).tls(security.caPem).build()) {
      LatticeException none = assertThrows(LatticeException.class, () -> anonymous.counter("c"));
      assertEquals(ErrorCode.UNAUTHENTICATED, none.code());
    }
    String plaintext = cli("--connect", at, "get", "c");
    assertTrue(plaintext.startsWith("1 ") && plaintext.contains("requires TLS") && plaintext.lines().count() == 1,
        plaintext);
    String otherCa = cli("--connect", at, "--tls-ca", writeOtherCa().toString(), "get", "c");
    assertTrue(otherCa.startsWith("3 ") && otherCa.contains("not signed by the CA given")
        && otherCa.lines().count() == 1, otherCa);
    String noTlsNode = cli("--connect", "127.0.0.1:" + plainNode().clientAddress().getPort(), "--tls-ca",
        security.caPem.toString(), "get", "c");
    assertTrue(noTlsNode.contains("does not speak TLS") && noTlsNode.lines().count() == 1, noTlsNode);
  }

  /** A reload of the auth file applies to connections already logged in: new roles, removed users. */
  @Test
  void aChangedAuthFileAppliesToOpenConnections() throws Exception {
    LatticeNode node = secureCluster(1).get(0);
    java.util.function.Function<String, LatticeClient> oneConnection = user -> LatticeClient.builder()
        .addresses("127.0.0.1:" + node.clientAddress().getPort()).poolSize(1).tls(security.caPem)
        .credentials(user, TestSecurity.password(user)).build();
    try (LatticeClient bob = oneConnection.apply("bob"); LatticeClient writer = oneConnection.apply("writer")) {
      assertEquals(0, bob.counter("c"));
      assertEquals(1, writer.increment("c", 1));
      AuthFile users = AuthFile.load(security.users);
      AuthFile.empty().with(users.user("alice")).with(new AuthFile.User("bob", Role.WRITE, users.user("bob").hash()))
          .save(security.users); // bob may write now; writer is gone
      node.security().auth().reload();
      assertEquals(2, bob.increment("c", 1), "bob's new role did not apply to his open connection");
      LatticeException gone = assertThrows(LatticeException.class, () -> writer.increment("c", 1));
      assertEquals(ErrorCode.UNAUTHENTICATED, gone.code());
      assertTrue(gone.getMessage().contains("user 'writer' is no longer a user of this node"), gone.getMessage());
    }
  }

  /** A port bound beyond loopback without TLS is reported at start and in every status, for every role. */
  @Test
  void aNodeOpenBeyondLoopbackWithoutTlsWarns() throws Exception {
    try (ClusterRobustnessTest.Logs logs = new ClusterRobustnessTest.Logs()) {
      LatticeNode open = new LatticeNode(StoreOptions.defaults(dir.resolve("open"), SyncPolicy.NONE),
          new InetSocketAddress("0.0.0.0", 0), Limits.DEFAULTS, 1, 2); // clients below use 127.0.0.1 only
      nodes.add(open);
      String expected = "the client port 0.0.0.0:" + open.clientAddress().getPort()
          + " is open beyond loopback without TLS: anyone who reaches it can read and write everything";
      assertTrue(logs.lines().stream().anyMatch(l -> l.contains(expected)), logs.lines().toString());
      try (LatticeClient c = LatticeClient.builder().addresses("127.0.0.1:" + open.clientAddress().getPort()).build()) {
        assertTrue(c.status().getWarningsList().stream().anyMatch(w -> w.startsWith(expected)),
            c.status().getWarningsList().toString());
      }
      String at = "127.0.0.1:" + open.clientAddress().getPort();
      assertTrue(cli("--connect", at, "status").contains("WARNING: " + expected), cli("--connect", at, "status"));
      assertTrue(cli("--connect", at, "status", "--json").contains("\"warnings\":[\"" + expected),
          cli("--connect", at, "status", "--json"));
    }
    security = new TestSecurity(dir.resolve("tls"));
    ClusterService.Settings settings = TestCluster.settings(0, List.of(), "test");
    LatticeNode safe = new LatticeNode(StoreOptions.defaults(dir.resolve("safe"), SyncPolicy.NONE),
        new InetSocketAddress("0.0.0.0", 0), Limits.DEFAULTS, 1, 2, settings, security.forNode("safe"));
    nodes.add(safe);
    try (LatticeClient bob = client(safe, "bob")) {
      assertEquals(List.of(), bob.status().getWarningsList(), "TLS on: nothing to warn of");
    }
  }

  @Test
  void aClientDoesNotSendAPasswordInTheClearBeyondLoopback() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LatticeClient.builder().addresses("10.255.255.1:7379").credentials("alice", "pw").build());
    assertTrue(e.getMessage().startsWith("credentials without TLS would send the password to 10.255.255.1:7379 in "
        + "the clear"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> LatticeClient.builder().addresses("db.example:7379").credentials("alice", "pw").build());
    LatticeClient.builder().addresses("127.0.0.1:7379,localhost:7380,[::1]:7381").credentials("alice", "pw").build()
        .close();
    LatticeClient.builder().addresses("10.255.255.1:7379").credentials("alice", "pw").allowCredentialsWithoutTls()
        .build().close();
  }

  private Path writeOtherCa() throws Exception {
    Path other = dir.resolve("other-ca.pem");
    CertificateAuthority.create("another CA", random).save(other, dir.resolve("other-ca.key"));
    return other;
  }

  private LatticeNode plainNode() throws Exception {
    LatticeNode node = new LatticeNode(StoreOptions.defaults(dir.resolve("plain"), SyncPolicy.NONE),
        new InetSocketAddress("127.0.0.1", 0), Limits.DEFAULTS, 1, 2);
    nodes.add(node);
    return node;
  }

  @Test
  void aClientCertificateLogsItsUserIn() throws Exception {
    LatticeNode node = secureCluster(1).get(0);
    CertificateAuthority.save(security.ca.client("writer"), dir.resolve("writer.pem"), dir.resolve("writer.key"));
    try (LatticeClient c = LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort())
        .tls(security.caPem, dir.resolve("writer.pem"), dir.resolve("writer.key")).build()) {
      assertEquals(3, c.increment("by-cert", 3));
    }
    CertificateAuthority.save(security.ca.client("nobody"), dir.resolve("nobody.pem"), dir.resolve("nobody.key"));
    try (LatticeClient c = LatticeClient.builder().addresses("127.0.0.1:" + node.clientAddress().getPort())
        .tls(security.caPem, dir.resolve("nobody.pem"), dir.resolve("nobody.key")).build()) {
      LatticeException unlisted = assertThrows(LatticeException.class, () -> c.counter("by-cert"));
      assertEquals(ErrorCode.UNAUTHENTICATED, unlisted.code(), unlisted.getMessage());
    }
  }

  @Test
  void aPeerWithAnotherCasCertificateNeverBecomesAMemberAndBothSidesSayWhy() throws Exception {
    List<LatticeNode> cluster = secureCluster(2);
    String seed = cluster.get(0).cluster().peerAddress();
    CertificateAuthority stranger = CertificateAuthority.create("stranger CA", random);
    Path strangerCa = dir.resolve("stranger-ca.pem");
    stranger.save(strangerCa, dir.resolve("stranger-ca.key"));
    try (ClusterRobustnessTest.Logs logs = new ClusterRobustnessTest.Logs()) {
      LatticeNode outsider = start("outsider", security.forNode(security.issue(stranger, strangerCa, "outsider",
          NodeId.random(random))), seed);
      assertTrue(ClusterTest.await(() -> logs.lines().stream().anyMatch(l -> l.contains("refused peer")
          && l.contains("TLS handshake failed")) && logs.lines().stream().anyMatch(l -> l.contains("cannot reach peer "
          + seed + " over TLS")), 10_000) >= 0, "both sides must log the refusal: " + logs.lines());
      for (LatticeNode member : cluster) {
        assertEquals(2, member.status().getMembersCount(), "a stranger became a member");
      }
      assertEquals(1, outsider.status().getMembersCount(), "the outsider learned the members");
    }
  }

  /** Peers are known by the node id their certificates name, not by host: certificates need not name the address. */
  @Test
  void peersDoNotCheckHostNames() throws Exception {
    security = new TestSecurity(dir.resolve("tls"));
    String seed = null;
    for (int i = 0; i < 2; i++) {
      TlsFiles files = security.issue(security.ca, security.caPem, "elsewhere" + i, NodeId.random(random),
          List.of("node" + i + ".invalid"));
      LatticeNode node = start("e" + i, security.forNode(files), seed);
      seed = seed == null ? node.cluster().peerAddress() : seed;
    }
    List<LatticeNode> formed = List.copyOf(nodes);
    assertTrue(ClusterTest.await(() -> ClusterTest.allSee(formed, 2), 30_000) >= 0,
        "peers whose certificates name other hosts did not form a cluster");
  }

  /** A peer whose certificate is good but names another node than its Hello claims is refused. */
  @Test
  void aPeerClaimingAnotherIdThanItsCertificateNamesIsRefused() throws Exception {
    List<LatticeNode> cluster = secureCluster(1);
    NodeId certified = NodeId.random(random);
    NodeId claimed = NodeId.random(random);
    TlsFiles files = security.issue(security.ca, security.caPem, "liar", certified);
    SSLContext tls = sslContext(files);
    int port = Integer.parseInt(cluster.get(0).cluster().peerAddress().split(":")[1]);
    try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      PeerFrame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(PeerNetwork.PROTOCOL_VERSION)
          .setCluster("test").setNodeId(claimed.toBytes()).setAddress("127.0.0.1:1")
          .setMerkleSegments((1 << MerkleTree.DEFAULT_SEGMENT_BITS) << 8 | Hashing.VERSION)).build()
          .writeDelimitedTo(s.getOutputStream());
      PeerFrame answer = PeerFrame.parseDelimitedFrom(s.getInputStream());
      assertTrue(answer.hasRefused(), "welcomed: " + answer);
      assertTrue(answer.getRefused().getReason().contains("certificate names node " + certified
          + " but its Hello claims " + claimed), answer.getRefused().getReason());
    }
    assertEquals(1, cluster.get(0).status().getMembersCount());
  }

  /** A JDK TLS context presenting {@code files}' certificate and trusting their CA. */
  private SSLContext sslContext(TlsFiles files) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("k", readKey(files.key()), new char[0], new Certificate[] {readCert(files.cert())});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(keys, new char[0]);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", readCert(files.ca()));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), random);
    return context;
  }

  private static X509Certificate readCert(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private static PrivateKey readKey(Path pem) throws Exception {
    String base64 = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
  }

  @Test
  void aDirectoryOfAnotherNodeIsRefusedWithTheCertificateItNeeds() throws Exception {
    security = new TestSecurity(dir.resolve("tls"));
    LatticeNode node = start("dirA", security.forNode("a"), null);
    NodeId first = node.store().nodeId();
    node.close();
    nodes.remove(node);
    RuntimeException refused = assertThrows(RuntimeException.class, () -> start("dirA", security.forNode("b"), null));
    assertTrue(refused.getMessage().contains("belongs to node " + first), refused.getMessage());
  }

  @Test
  void aCertificateIsReplacedWithoutDroppingTheCluster() throws Exception {
    List<LatticeNode> cluster = secureCluster(2);
    NodeId id = cluster.get(0).store().nodeId();
    long[] peerConnections = peerConnections(cluster);
    BigInteger before = servedSerial(cluster.get(0));
    security.issue(security.ca, security.caPem, "node0", id); // new key and certificate, same id, same files
    cluster.get(0).security().tls().reload(); // what SIGHUP does (the files are also watched)
    assertTrue(ClusterTest.await(() -> !servedSerial(cluster.get(0)).equals(before), 10_000) >= 0,
        "new connections still get the old certificate");
    try (LatticeClient a = client(cluster.get(0), "alice");
        LatticeClient b = client(cluster.get(1), "alice")) {
      a.increment("after-rotation", 1);
      assertTrue(ClusterTest.await(() -> b.counter("after-rotation") == 1, 5_000) >= 0, "replication stopped");
    }
    assertTrue(ClusterTest.allSee(cluster, 2), "the rotation dropped the cluster");
    assertEquals(java.util.Arrays.toString(peerConnections), java.util.Arrays.toString(peerConnections(cluster)),
        "the rotation closed peer connections (they were dialed again)");
  }

  /**
   * A node process takes its TLS files and users from its --config file, and SIGHUP rereads the
   * users: the file is rewritten in place with the same size and modification time, so only the
   * signal can have made the node see it.
   */
  @Test
  void aNodeProcessReadsItsSecurityFromItsConfigFileAndRereadsItsUsersOnSighup() throws Exception {
    security = new TestSecurity(dir.resolve("tls"));
    TlsFiles files = security.node("proc");
    Path config = dir.resolve("node.properties");
    Files.writeString(config, "tls-cert=" + files.cert() + "\ntls-key=" + files.key() + "\ntls-ca=" + files.ca()
        + "\nauth-file=" + security.users + "\n");
    try (NodeProcess node = NodeProcess.start(dir.resolve("proc"), "none", dir.resolve("proc.log"),
        "--config", config.toString())) {
      java.util.function.Function<String, LatticeClient> as = password -> LatticeClient.builder()
          .addresses(node.address()).tls(security.caPem).credentials("bob", password).build();
      try (LatticeClient bob = as.apply("bob-password")) {
        assertEquals(0, bob.counter("c"), "TLS and logins from the config file");
      }
      java.nio.file.attribute.FileTime modified = Files.getLastModifiedTime(security.users);
      long size = Files.size(security.users);
      Path staged = dir.resolve("users.next");
      AuthFile.load(security.users).with(new AuthFile.User("bob", Role.READ,
          PasswordHash.of("bob-new-pass".toCharArray(), random))).save(staged);
      Files.write(security.users, Files.readAllBytes(staged)); // in place: the same inode
      Files.setLastModifiedTime(security.users, modified);
      assertEquals(size, Files.size(security.users), "a hash of the same length keeps the size");
      Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(node.process.pid())).start();
      assertTrue(hup.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && hup.exitValue() == 0, "kill -HUP failed");
      assertTrue(ClusterTest.await(() -> {
        try (LatticeClient bob = as.apply("bob-new-pass")) {
          return bob.counter("c") == 0;
        } catch (LatticeException notYet) {
          return false;
        }
      }, 15_000) >= 0, "SIGHUP did not reread the auth file");
    }
  }

  /**
   * {@code lattice cluster --secure}, as a newcomer runs it: TLS on every port, an admin whose
   * password is printed once; started again, the nodes keep their certificates (and ids) and the
   * password stays the same, unprinted.
   */
  @Test
  void theSecureLocalClusterServesOnlyOverTlsAndKeepsItsCertificatesAcrossRestarts() throws Exception {
    int base = freeBasePort();
    Path data = dir.resolve("data");
    Path caPem = data.resolve("tls").resolve("ca.pem");
    String password;
    java.util.List<String> ids;
    try (LocalCluster first = LocalCluster.start(data, base, dir.resolve("first.out"))) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("User admin, password (\\S+) ").matcher(first.output());
      assertTrue(m.find(), first.output());
      password = m.group(1);
      try (LatticeClient a = LatticeClient.builder().addresses("127.0.0.1:" + base).tls(caPem)
          .credentials("admin", password).build();
          LatticeClient b = LatticeClient.builder().addresses("127.0.0.1:" + (base + 1)).tls(caPem)
              .credentials("admin", password).build()) {
        a.increment("hits", 1);
        assertTrue(ClusterTest.await(() -> b.counter("hits") == 1, 10_000) >= 0, "no replication");
        ids = java.util.List.of(a.status().getNodeId(), b.status().getNodeId());
      }
      String plaintext = cli("--connect", "127.0.0.1:" + base, "get", "hits");
      assertTrue(plaintext.contains("requires TLS"), plaintext);
      assertEquals(0, first.stop(), first.output());
    }
    try (LocalCluster again = LocalCluster.start(data, base, dir.resolve("again.out"))) {
      assertTrue(!again.output().contains("password " + password), "the password was printed twice");
      try (LatticeClient a = LatticeClient.builder().addresses("127.0.0.1:" + base).tls(caPem)
          .credentials("admin", password).build()) {
        assertEquals(1, a.counter("hits"));
        assertEquals(ids.get(0), a.status().getNodeId(), "node1 has a new id");
      }
      assertEquals(0, again.stop(), again.output());
    }
  }

  /** {@code lattice cluster --secure --nodes 2} in a child JVM, its output in a file. */
  private record LocalCluster(Process process, Path out) implements AutoCloseable {

    static LocalCluster start(Path data, int base, Path out) throws Exception {
      Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-cp", System.getProperty("java.class.path"), "io.latticekv.server.cli.Lattice", "cluster", "--secure",
          "--nodes", "2", "--dir", data.toString(), "--base-port", Integer.toString(base))
          .redirectErrorStream(true).redirectOutput(out.toFile()).start();
      LocalCluster cluster = new LocalCluster(p, out);
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(90);
      while (!cluster.output().contains("Ctrl-C stops every node.")) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          cluster.close();
          throw new AssertionError("the secure cluster did not start: " + cluster.output());
        }
        java.util.concurrent.locks.LockSupport.parkNanos(100_000_000); // poll the output until the deadline
      }
      return cluster;
    }

    String output() throws java.io.IOException {
      return Files.readString(out);
    }

    int stop() throws InterruptedException {
      process.destroy(); // SIGTERM: the command stops its nodes
      assertTrue(process.waitFor(90, java.util.concurrent.TimeUnit.SECONDS), "the cluster did not stop");
      return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    }
  }

  /** A base port whose client, peer and metrics ports (base, +1, +100, +101, +200, +201) are free now. */
  private static int freeBasePort() throws java.io.IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      int base = 20_000 + new SecureRandom().nextInt(30_000);
      boolean free = true;
      for (int offset : new int[] {0, 1, 100, 101, 200, 201}) {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(base + offset, 1,
            java.net.InetAddress.getLoopbackAddress())) {
          probe.setReuseAddress(true);
        } catch (java.io.IOException taken) {
          free = false;
          break;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new java.io.IOException("no free base port found in 100 attempts");
  }

  /** Each node's count of peer connections accepted since start. */
  private static long[] peerConnections(List<LatticeNode> cluster) {
    return cluster.stream().mapToLong(n -> n.status().getPeerConnectionsAccepted()).toArray();
  }

  /** The serial number of the certificate a node's client port presents to a new connection. */
  private BigInteger servedSerial(LatticeNode node) {
    try {
      SSLContext trustAll = SSLContext.getInstance("TLS");
      X509Certificate[][] seen = new X509Certificate[1][];
      trustAll.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
          seen[0] = chain;
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, null);
      try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1",
          node.clientAddress().getPort())) {
        s.startHandshake();
      }
      return seen[0][0].getSerialNumber();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
