package io.latticekv.server.resp;

import io.latticekv.proto.Level;
import io.latticekv.server.api.Session;

/**
 * One RESP connection's state: its login, the protocol it chose ({@code HELLO}), its name, and the
 * consistency levels its reads and writes ask for ({@code LATTICE.LEVEL}). Touched by the
 * connection's event loop only, apart from the session's login, which a password check completes.
 */
final class RespClient {

  final long id;
  final String address;
  final String localAddress;
  final long connectedMillis = System.currentTimeMillis();
  final Session session = new Session();
  volatile int protocol = 2; // HELLO may set it on the thread that checked its login
  volatile String name = ""; // HELLO ... SETNAME may set it on the thread that checked its login
  String libName = "";
  String libVersion = "";
  Level w = Level.LEVEL_ONE;
  Level r = Level.LEVEL_ONE;
  String lastCommand = "NULL";
  /** Who the client certificate logged in, if one did: RESET returns to it, as Redis returns to the default user. */
  volatile io.latticekv.server.security.Authenticator.Principal certificateLogin;

  RespClient(long id, String address, String localAddress) {
    this.id = id;
    this.address = address;
    this.localAddress = localAddress;
  }

  /** RESET: what a fresh connection has, logged out when logins are required. */
  void reset() {
    protocol = 2;
    name = "";
    w = Level.LEVEL_ONE;
    r = Level.LEVEL_ONE;
    if (certificateLogin != null) {
      session.logIn(certificateLogin);
    } else {
      session.logOut();
    }
  }

  /** CLIENT INFO's line, in Redis's format (the fields LatticeKV has). */
  String info() {
    long age = (System.currentTimeMillis() - connectedMillis) / 1000;
    String user = session.principal() == null ? "default" : session.principal().user();
    return "id=" + id + " addr=" + address + " laddr=" + localAddress + " name=" + name + " age=" + age
        + " db=0 resp=" + protocol + " user=" + user + " lib-name=" + libName + " lib-ver=" + libVersion
        + " cmd=" + lastCommand + " lattice-w=" + levelName(w) + " lattice-r=" + levelName(r) + "\n";
  }

  static String levelName(Level level) {
    return switch (level) {
      case LEVEL_QUORUM -> "quorum";
      case LEVEL_ALL -> "all";
      default -> "one";
    };
  }
}
