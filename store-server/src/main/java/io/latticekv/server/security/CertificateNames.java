package io.latticekv.server.security;

import io.latticekv.core.crdt.NodeId;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * What a certificate says about who holds it. A node's certificate names its node id in a subject
 * alternative name URI {@code urn:latticekv:node:<32 hex digits>} (written by {@code lattice
 * gen-certs}); a peer may only claim the id its certificate names. A client certificate names its
 * user in the subject's common name.
 */
public final class CertificateNames {

  public static final String NODE_URI_PREFIX = "urn:latticekv:node:";
  /** The subject alternative name type of a URI (RFC 5280, 4.2.1.6). */
  private static final int SAN_URI = 6;

  private CertificateNames() {}

  /** The node id the certificate names, or null when it names none. */
  public static NodeId nodeId(X509Certificate cert) {
    Collection<List<?>> names;
    try {
      names = cert.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return null;
    }
    if (names == null) {
      return null;
    }
    for (List<?> name : names) {
      if (name.size() >= 2 && Integer.valueOf(SAN_URI).equals(name.get(0)) && name.get(1) instanceof String uri
          && uri.startsWith(NODE_URI_PREFIX)) {
        try {
          return NodeId.parse(uri.substring(NODE_URI_PREFIX.length()));
        } catch (IllegalArgumentException malformed) {
          return null;
        }
      }
    }
    return null;
  }

  /**
   * The subject's most specific common name (the leftmost CN of {@code CN=alice,CN=Users,DC=corp}),
   * or null when it has none.
   */
  public static String commonName(X509Certificate cert) {
    try {
      List<Rdn> rdns = new LdapName(cert.getSubjectX500Principal().getName()).getRdns(); // rightmost first
      for (int i = rdns.size() - 1; i >= 0; i--) {
        if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdns.get(i).getValue());
        }
      }
    } catch (InvalidNameException e) {
      return null;
    }
    return null;
  }
}
