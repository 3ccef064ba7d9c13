package io.latticekv.server.security;

/**
 * A node's security settings: TLS on both ports (null: plaintext) and the users who may log in on
 * the client port (null: every connection may do everything). docs/security.md has the threat model.
 */
public record Security(TlsContexts tls, Authenticator auth) implements AutoCloseable {

  public static final Security NONE = new Security(null, null);

  @Override
  public void close() {
    if (tls != null) {
      tls.close();
    }
    if (auth != null) {
      auth.close();
    }
  }
}
