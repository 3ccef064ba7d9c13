package io.latticekv.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.core.crdt.NodeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();

  @Test
  void aNodeCertificateNamesItsIdAndIsSignedByTheCa() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("test CA", random);
    NodeId id = NodeId.random(random);
    CertificateAuthority.Issued node = ca.node(id, List.of("localhost", "127.0.0.1"));
    node.cert().verify(ca.certificate().getPublicKey());
    assertEquals(id, CertificateNames.nodeId(node.cert()));
    assertNull(CertificateNames.nodeId(ca.client("alice").cert()), "a client certificate names no node");
    assertEquals("alice", CertificateNames.commonName(ca.client("alice").cert()));
  }

  @Test
  void savedFilesLoadBackKeysOwnerOnly() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("test CA", random);
    ca.save(dir.resolve("ca.pem"), dir.resolve("ca.key"));
    CertificateAuthority.save(ca.client("bob"), dir.resolve("bob.pem"), dir.resolve("bob.key"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("bob.key"))));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("bob.pem"))));
    try (var files = Files.list(dir)) {
      assertEquals(4, files.count(), "temporary files left behind");
    }
    CertificateAuthority loaded = CertificateAuthority.load(dir.resolve("ca.pem"), dir.resolve("ca.key"), random);
    X509Certificate issued = loaded.client("carol").cert();
    issued.verify(ca.certificate().getPublicKey()); // the loaded CA signs with the saved key
    assertEquals(ca.certificate(), TlsContexts.readCertificate(dir.resolve("ca.pem")));
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create("test CA", random);
    ca.save(dir.resolve("ca.pem"), dir.resolve("ca.key"));
    NodeId id = NodeId.random(random);
    CertificateAuthority.save(ca.node(id, List.of("localhost")), dir.resolve("a.pem"), dir.resolve("a.key"));
    CertificateAuthority.save(ca.node(id, List.of("localhost")), dir.resolve("b.pem"), dir.resolve("b.key"));
    TlsContexts.load(new TlsFiles(dir.resolve("a.pem"), dir.resolve("a.key"), dir.resolve("ca.pem"))).close();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsContexts.load(new TlsFiles(dir.resolve("a.pem"), dir.resolve("b.key"), dir.resolve("ca.pem"))));
    assertEquals("key " + dir.resolve("b.key") + " is not the private key of certificate " + dir.resolve("a.pem"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> CertificateAuthority.load(dir.resolve("ca.pem"), dir.resolve("a.key"), random));
  }

  @Test
  void theMostSpecificCommonNameNamesTheUser() throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    java.security.KeyPair keys = g.generateKeyPair();
    org.bouncycastle.asn1.x500.X500Name subject = new org.bouncycastle.asn1.x500.X500Name("DC=corp,CN=Users,CN=alice");
    X509Certificate cert = new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(subject, java.math.BigInteger.ONE,
            new java.util.Date(), new java.util.Date(System.currentTimeMillis() + 60_000), subject, keys.getPublic())
            .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                .build(keys.getPrivate())));
    assertEquals("CN=alice,CN=Users,DC=corp", cert.getSubjectX500Principal().getName()); // as a directory issues it
    assertEquals("alice", CertificateNames.commonName(cert));
  }

  @Test
  void aFileThatIsNotACertificateIsAClearError() throws Exception {
    Files.writeString(dir.resolve("bad.pem"), "not a certificate");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsContexts.readCertificate(dir.resolve("bad.pem")));
    assertTrue(e.getMessage().startsWith("certificate " + dir.resolve("bad.pem") + " does not parse"), e.getMessage());
  }
}
