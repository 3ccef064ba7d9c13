package io.latticekv.server.api;

import io.latticekv.server.security.Authenticator;

/**
 * One client connection's login: who it is logged in as, if anyone. Set by a successful {@code
 * AuthRequest} or by a client certificate naming a user; read for every request.
 */
public final class Session {

  private volatile Authenticator.Principal principal;

  /** A session logged in as an admin: for calls from inside the node and for tests. */
  public static Session admin() {
    Session s = new Session();
    s.principal = Authenticator.ANYONE;
    return s;
  }

  public Authenticator.Principal principal() {
    return principal;
  }

  void logIn(Authenticator.Principal who) {
    this.principal = who;
  }

  private volatile String unknownCertificate;

  /** The connection presented a client certificate naming {@code user}, who is not listed: said when it is refused. */
  void unknownCertificate(String user) {
    this.unknownCertificate = user;
  }

  /** Why the connection is not logged in, for the refusal's message. */
  String whyNotLoggedIn() {
    String cert = unknownCertificate;
    return cert == null
        ? "this node requires a login: send an AuthRequest first (lattice --user NAME)"
        : "the client certificate names '" + cert + "', who is not a user of this node; log in with a password "
            + "(lattice --user NAME) or use a certificate of a listed user";
  }
}
