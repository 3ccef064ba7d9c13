package io.latticekv.server.api;

import io.latticekv.server.security.Authenticator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client connection's login: who it is logged in as, if anyone. Set by a successful {@code
 * AuthRequest} or by a client certificate naming a user; read for every request.
 *
 * <p>A connection may have one login being checked at a time, and is closed after {@link
 * #FAILED_LOGINS_MAX} failed ones: guessing passwords costs a connection (and a TLS handshake) per
 * few guesses, and one connection cannot fill the node's queue of slow hash checks.
 */
public final class Session {

  /** Failed logins a connection may make; the last one's answer is followed by the close. */
  static final int FAILED_LOGINS_MAX = 3;

  private volatile Authenticator.Principal principal;
  private volatile String unknownCertificate;
  private volatile String source = "?";
  private final AtomicBoolean loginInFlight = new AtomicBoolean();
  private final AtomicInteger failedLogins = new AtomicInteger();

  /** A session logged in as an admin: for calls from inside the node and for tests. */
  public static Session admin() {
    Session s = new Session();
    s.principal = Authenticator.ANYONE;
    return s;
  }

  public Authenticator.Principal principal() {
    return principal;
  }

  public void logIn(Authenticator.Principal who) {
    this.principal = who;
  }

  /** The client's IP address, for the per-source limit on logins. */
  String source() {
    return source;
  }

  public void source(String address) {
    this.source = address;
  }

  /** Whether a login may start now (none is being checked on this connection). */
  boolean beginLogin() {
    return loginInFlight.compareAndSet(false, true);
  }

  /** A login ended: logged in as {@code who}, or failed when null. */
  void endLogin(Authenticator.Principal who) {
    if (who != null) {
      principal = who;
    } else {
      failedLogins.incrementAndGet();
    }
    loginInFlight.set(false);
  }

  /** Whether the connection has failed to log in too often and must be closed after this answer. */
  public boolean tooManyFailedLogins() {
    return failedLogins.get() >= FAILED_LOGINS_MAX;
  }

  /** The connection presented a client certificate naming {@code user}, who is not listed: said when it is refused. */
  public void unknownCertificate(String user) {
    this.unknownCertificate = user;
  }

  /** Ends the login (RESET on the RESP port): the connection must log in again before its next request. */
  public void logOut() {
    principal = null;
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
