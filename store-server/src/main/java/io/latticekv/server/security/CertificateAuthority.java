package io.latticekv.server.security;

import io.latticekv.core.crdt.NodeId;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority for a cluster, on Bouncy Castle: an EC P-256 CA, node certificates
 * that name their node id ({@link CertificateNames}) and the local host, and client certificates
 * that name their user. What {@code lattice gen-certs} writes; an operator with a CA of their own
 * issues the same fields with it instead.
 */
public final class CertificateAuthority {

  /** Node and client certificates: renewed well before this, through rotation. */
  static final Duration LEAF_VALIDITY = Duration.ofDays(825);
  static final Duration CA_VALIDITY = Duration.ofDays(3650);

  private final KeyPair keys;
  private final X509Certificate cert;
  private final SecureRandom random;

  private CertificateAuthority(KeyPair keys, X509Certificate cert, SecureRandom random) {
    this.keys = keys;
    this.cert = cert;
    this.random = random;
  }

  /** A new CA named {@code name}. */
  public static CertificateAuthority create(String name, SecureRandom random) {
    KeyPair keys = ecKeys(random);
    X500Name subject = new X500Name("CN=" + name);
    try {
      X509v3CertificateBuilder b = builder(subject, subject, keys, CA_VALIDITY, random);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new CertificateAuthority(keys, sign(b, keys.getPrivate()), random);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a CA certificate", e);
    }
  }

  /** The CA written by {@link #save(Path, Path)}, to sign with again (rotation, new nodes). */
  public static CertificateAuthority load(Path certFile, Path keyFile, SecureRandom random) throws IOException {
    X509Certificate cert = TlsContexts.readCertificate(certFile);
    PrivateKey key = readKey(keyFile);
    checkPair(cert, key, certFile, keyFile);
    return new CertificateAuthority(new KeyPair(cert.getPublicKey(), key), cert, random);
  }

  /** An unencrypted PKCS#8 private key in PEM; a clear error for anything else. */
  static PrivateKey readKey(Path keyFile) throws IOException {
    Object parsed;
    try (org.bouncycastle.openssl.PEMParser pem = new org.bouncycastle.openssl.PEMParser(
        Files.newBufferedReader(keyFile, StandardCharsets.US_ASCII))) {
      parsed = pem.readObject();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("key " + keyFile + " does not parse: " + e.getMessage(), e);
    }
    if (!(parsed instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info)) {
      throw new IllegalArgumentException("key " + keyFile + " is not an unencrypted PKCS#8 private key (PEM "
          + "'BEGIN PRIVATE KEY'; openssl pkcs8 -topk8 -nocrypt converts others)");
    }
    return new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter().getPrivateKey(info);
  }

  /**
   * Fails unless {@code key} is the private key of {@code cert}'s public key: it signs a random
   * challenge and the certificate's key verifies it. (Netty's JDK provider does not check the
   * pair, and a certificate rotated before its key would otherwise fail every handshake.)
   */
  static void checkPair(X509Certificate cert, PrivateKey key, Path certFile, Path keyFile) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (algorithm == null) {
      return; // a key type we cannot test here; the handshake will tell
    }
    try {
      byte[] challenge = new byte[32];
      new java.security.SecureRandom().nextBytes(challenge);
      java.security.Signature signer = java.security.Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      java.security.Signature verifier = java.security.Signature.getInstance(algorithm);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(challenge);
      if (verifier.verify(signature)) {
        return;
      }
    } catch (GeneralSecurityException mismatch) {
      // a key of another type than the certificate's: not its pair
    }
    throw new IllegalArgumentException("key " + keyFile + " is not the private key of certificate " + certFile);
  }

  /** A certificate and its key. */
  public record Issued(X509Certificate cert, PrivateKey key) {}

  /**
   * A node's certificate: it names the node id, and {@code hosts} (names and IP addresses) for
   * clients that check the host they dialed; good for both TLS server and client use (a node also
   * dials its peers).
   */
  public Issued node(NodeId id, List<String> hosts) {
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, CertificateNames.NODE_URI_PREFIX + id));
    for (String host : hosts) {
      names.add(new GeneralName(host.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, host));
    }
    return issue("CN=lattice-node-" + id, names, new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth,
        KeyPurposeId.id_kp_clientAuth});
  }

  /** A client certificate for {@code user}: it logs them in instead of a password. */
  public Issued client(String user) {
    AuthFile.checkName(user, "user");
    return issue("CN=" + user, List.of(), new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth});
  }

  private Issued issue(String subject, List<GeneralName> names, KeyPurposeId[] purposes) {
    KeyPair leaf = ecKeys(random);
    try {
      X509v3CertificateBuilder b = builder(new X500Name(cert.getSubjectX500Principal().getName()),
          new X500Name(subject), leaf, LEAF_VALIDITY, random);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
      if (!names.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      return new Issued(sign(b, keys.getPrivate()), leaf.getPrivate());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue a certificate for " + subject, e);
    }
  }

  public X509Certificate certificate() {
    return cert;
  }

  /** Writes the CA's certificate and key, the key readable by its owner only. */
  public void save(Path certFile, Path keyFile) throws IOException {
    writePem(certFile, cert, false);
    writePem(keyFile, new JcaPKCS8Generator(keys.getPrivate(), null).generate(), true);
  }

  /** Writes an issued certificate and its key (PKCS#8), the key readable by its owner only. */
  public static void save(Issued issued, Path certFile, Path keyFile) throws IOException {
    writePem(certFile, issued.cert(), false);
    writePem(keyFile, new JcaPKCS8Generator(issued.key(), null).generate(), true);
  }

  /** Writes {@code object} as PEM, atomically; a key readable by its owner only. */
  private static void writePem(Path file, Object object, boolean secret) throws IOException {
    AtomicFile.write(file, StandardCharsets.US_ASCII, secret, out -> {
      JcaPEMWriter pem = new JcaPEMWriter(out);
      pem.writeObject(object);
      pem.flush();
    });
  }



  private static KeyPair ecKeys(SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no EC P-256", e);
    }
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys, Duration validity,
      SecureRandom random) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, random), Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(validity)), subject, keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
          .build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }
}
