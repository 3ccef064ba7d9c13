package io.latticekv.tests;

import io.latticekv.client.LatticeClient;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.server.security.AuthFile;
import io.latticekv.server.security.Authenticator;
import io.latticekv.server.security.CertificateAuthority;
import io.latticekv.server.security.PasswordHash;
import io.latticekv.server.security.Role;
import io.latticekv.server.security.Security;
import io.latticekv.server.security.TlsContexts;
import io.latticekv.server.security.TlsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The security of a test cluster: a CA made for the test in {@code dir}, a node certificate per
 * node name (issued once, so a restarted node keeps its id), and an auth file with three users:
 * {@code alice} (admin), {@code writer} (write) and {@code bob} (read), each with the password
 * {@code NAME-password}.
 */
final class TestSecurity {

  static final String ADMIN = "alice";

  final Path dir;
  final CertificateAuthority ca;
  final Path caPem;
  final Path users;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, TlsFiles> issued = new HashMap<>();

  TestSecurity(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    this.ca = CertificateAuthority.create("test CA", random);
    this.caPem = dir.resolve("ca.pem");
    ca.save(caPem, dir.resolve("ca.key"));
    this.users = dir.resolve("users");
    AuthFile.empty()
        .with(new AuthFile.User("alice", Role.ADMIN, PasswordHash.of(password("alice").toCharArray(), random)))
        .with(new AuthFile.User("writer", Role.WRITE, PasswordHash.of(password("writer").toCharArray(), random)))
        .with(new AuthFile.User("bob", Role.READ, PasswordHash.of(password("bob").toCharArray(), random)))
        .save(users);
  }

  static String password(String user) {
    return user + "-password";
  }

  /** The certificate of node {@code name}, issued for a fresh id the first time it is asked for. */
  TlsFiles node(String name) throws IOException {
    TlsFiles files = issued.get(name);
    if (files == null) {
      files = issue(ca, caPem, name, NodeId.random(random));
      issued.put(name, files);
    }
    return files;
  }

  /** Writes DIR/name.pem and DIR/name.key: a node certificate from {@code by} naming {@code id}. */
  TlsFiles issue(CertificateAuthority by, Path byPem, String name, NodeId id) throws IOException {
    return issue(by, byPem, name, id, List.of("localhost", "127.0.0.1"));
  }

  /** As above, the certificate naming {@code hosts}. */
  TlsFiles issue(CertificateAuthority by, Path byPem, String name, NodeId id, List<String> hosts) throws IOException {
    CertificateAuthority.save(by.node(id, hosts), dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
    return new TlsFiles(dir.resolve(name + ".pem"), dir.resolve(name + ".key"), byPem);
  }

  /** What node {@code name} runs with: its certificate and the users. */
  Security forNode(String name) throws IOException {
    return forNode(node(name));
  }

  Security forNode(TlsFiles files) throws IOException {
    TlsContexts tls = TlsContexts.load(files);
    try {
      return new Security(tls, Authenticator.open(users));
    } catch (IOException | RuntimeException e) {
      tls.close();
      throw e;
    }
  }

  /** A client builder that trusts the CA and logs in as {@code user}. */
  LatticeClient.Builder client(LatticeClient.Builder builder, String user) {
    return builder.tls(caPem).credentials(user, password(user));
  }
}
