package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import io.latticekv.core.storage.Store;
import io.latticekv.proto.AuthRequest;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Level;
import io.latticekv.proto.Request;
import io.latticekv.server.api.RequestProcessor;
import io.latticekv.server.security.Authenticator;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The RESP port's command table: each command's arity, flags and key positions (what {@code
 * COMMAND} tells client libraries), and what it does. Data commands go through {@link
 * DataCommands} to the node's {@link RequestProcessor}; connection and server commands are
 * answered here. Unknown commands and wrong arities get Redis's own error lines.
 *
 * <p>Shared by every RESP connection of a node; what belongs to one connection is its {@link
 * RespClient}.
 */
final class RespCommands {

  static final Reply WRONGTYPE = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value");
  static final Reply NOAUTH = Reply.error("NOAUTH Authentication required.");
  static final Reply NOT_INTEGER = Reply.error("ERR value is not an integer or out of range");
  static final Reply SYNTAX = Reply.error("ERR syntax error");
  static final Reply WRONGPASS = Reply.error("WRONGPASS invalid username-password pair or user is disabled.");

  /** What a command does, given its arguments and its connection. */
  @FunctionalInterface
  interface Handler {
    CompletableFuture<Reply> run(RespCommand command, RespClient client);
  }

  /**
   * A command as {@code COMMAND INFO} describes it: arity (negative: at least that many arguments,
   * the name included), flags, first and last key argument and the step between keys.
   */
  record Spec(String name, int arity, List<String> flags, int firstKey, int lastKey, int step, String group,
      String summary, Handler handler) {

    boolean arityFits(int args) {
      return arity >= 0 ? args == arity : args >= -arity;
    }
  }

  private final Map<String, Spec> table = new LinkedHashMap<>();
  private final RequestProcessor processor;
  private final DataCommands data;
  final RespInfo info;
  private final AtomicLong ids = new AtomicLong();
  final RespStats stats = new RespStats();

  RespCommands(RequestProcessor processor, Store store, int port, String sync) {
    this.processor = processor;
    this.data = new DataCommands(processor);
    this.info = new RespInfo(this, store, port, sync);
    define();
  }

  Map<String, Spec> table() {
    return table;
  }

  int connectedClients() {
    return stats.connected();
  }

  boolean loginsRequired() {
    return processor.authenticator() != null;
  }

  Authenticator authenticator() {
    return processor.authenticator();
  }

  RespClient connected(SocketAddress remote, SocketAddress local) {
    RespClient c = new RespClient(ids.incrementAndGet(), hostPort(remote), hostPort(local));
    if (remote instanceof java.net.InetSocketAddress inet && inet.getAddress() != null) {
      c.session.source(inet.getAddress().getHostAddress());
    }
    stats.connectionsReceived.increment();
    stats.connected.incrementAndGet();
    return c;
  }

  void disconnected(RespClient c) {
    stats.connected.decrementAndGet();
  }

  private static String hostPort(SocketAddress a) {
    return a instanceof java.net.InetSocketAddress inet
        ? inet.getAddress().getHostAddress() + ":" + inet.getPort() : String.valueOf(a);
  }

  /**
   * Whether the commands after {@code command} on its connection must wait until it is answered:
   * it changes what they run as (AUTH, HELLO, RESET), ends the connection (QUIT), or reads and then
   * writes a key (SET ... GET, GETSET), which a later write to the key must not overtake.
   */
  boolean isBarrier(RespCommand command) {
    String name = command.name();
    switch (name) {
      case "auth", "hello", "reset", "quit", "getset":
        return true;
      case "set":
        for (int i = 3; i < command.size(); i++) {
          if (command.text(i).equalsIgnoreCase("get")) {
            return true;
          }
        }
        return false;
      default:
        return false;
    }
  }

  /** Runs {@code command}; the future completes with a reply (errors are replies too). */
  CompletableFuture<Reply> run(RespCommand command, RespClient client) {
    stats.commandsProcessed.increment();
    String name = command.name();
    Spec spec = table.get(name);
    if (spec == null) {
      return done(Reply.error("ERR unknown command '" + clip(command.text(0)) + "', with args beginning with: "
          + argsPreview(command)));
    }
    client.lastCommand = name;
    if (!spec.arityFits(command.size())) {
      return done(Reply.error("ERR wrong number of arguments for '" + name + "' command"));
    }
    if (loginsRequired() && client.session.principal() == null && !spec.flags().contains("no-auth")) {
      return done(NOAUTH);
    }
    return spec.handler().run(command, client);
  }

  private static String argsPreview(RespCommand command) {
    StringBuilder out = new StringBuilder();
    for (int i = 1; i < command.size() && out.length() < 128; i++) {
      out.append('\'').append(clip(command.text(i))).append("' ");
    }
    return out.toString();
  }

  private static String clip(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }

  // ---------------------------------------------------------------- the table

  private void define() {
    // connection
    add("ping", -1, "fast", 0, 0, 0, "connection", "Returns PONG, or the message given",
        (cmd, c) -> done(cmd.size() == 1 ? new Reply.Simple("PONG") : cmd.size() == 2 ? Reply.bulk(cmd.arg(1))
            : Reply.error("ERR wrong number of arguments for 'ping' command")));
    add("echo", 2, "fast", 0, 0, 0, "connection", "Returns the message given", (cmd, c) -> done(Reply.bulk(cmd.arg(1))));
    add("hello", -1, "fast no-auth", 0, 0, 0, "connection", "Chooses RESP2 or RESP3, logs in, names the connection",
        this::hello);
    add("auth", -2, "fast no-auth", 0, 0, 0, "connection", "Logs the connection in", this::auth);
    add("select", 2, "fast", 0, 0, 0, "connection", "Selects database 0, the only one", (cmd, c) -> done(
        cmd.text(1).equals("0") ? Reply.OK : Reply.error("ERR DB index is out of range")));
    add("client", -2, "", 0, 0, 0, "connection", "CLIENT SETNAME, GETNAME, ID, INFO, SETINFO", this::client);
    add("quit", -1, "fast no-auth", 0, 0, 0, "connection", "Closes the connection",
        (cmd, c) -> done(new Reply.Closing(Reply.OK)));
    add("reset", 1, "fast no-auth", 0, 0, 0, "connection", "Resets the connection's state and login", (cmd, c) -> {
      c.reset();
      return done(new Reply.Simple("RESET"));
    });
    add("command", -1, "", 0, 0, 0, "server", "COMMAND, COUNT, INFO, DOCS: what this port speaks",
        (cmd, c) -> done(info.command(cmd)));
    add("lattice.level", -1, "fast", 0, 0, 0, "connection",
        "Shows or sets this connection's consistency levels: LATTICE.LEVEL [W|R ONE|QUORUM|ALL]", this::level);
    // counters
    add("incr", 2, "write fast", 1, 1, 1, "string", "Adds 1 to a PN-counter",
        (cmd, c) -> data.incrBy(c, cmd.arg(1), 1));
    add("decr", 2, "write fast", 1, 1, 1, "string", "Subtracts 1 from a PN-counter",
        (cmd, c) -> data.incrBy(c, cmd.arg(1), -1));
    add("incrby", 3, "write fast", 1, 1, 1, "string", "Adds an amount to a PN-counter", (cmd, c) -> {
      Long n = integer(cmd.text(2));
      return n == null ? done(NOT_INTEGER) : data.incrBy(c, cmd.arg(1), n);
    });
    add("decrby", 3, "write fast", 1, 1, 1, "string", "Subtracts an amount from a PN-counter", (cmd, c) -> {
      Long n = integer(cmd.text(2));
      return n == null ? done(NOT_INTEGER)
          : n == Long.MIN_VALUE ? done(Reply.error("ERR decrement would overflow")) : data.incrBy(c, cmd.arg(1), -n);
    });
    // registers
    add("get", 2, "readonly fast", 1, 1, 1, "string", "A register's value, or a counter's",
        (cmd, c) -> data.get(c, cmd.arg(1)));
    add("set", -3, "write", 1, 1, 1, "string", "Writes a last-writer-wins register; GET returns the old value",
        this::set);
    add("getset", 3, "write fast", 1, 1, 1, "string", "Writes a register and returns its old value",
        (cmd, c) -> data.getSet(c, cmd.arg(1), cmd.arg(2)));
    add("mget", -2, "readonly fast", 1, -1, 1, "string", "The values of several keys",
        (cmd, c) -> data.mget(c, cmd.args().subList(1, cmd.size())));
    add("mset", -3, "write", 1, -1, 2, "string", "Writes several registers, each on its own",
        (cmd, c) -> cmd.size() % 2 == 0 ? done(Reply.error("ERR wrong number of arguments for 'mset' command"))
            : data.mset(c, cmd.args().subList(1, cmd.size())));
    add("strlen", 2, "readonly fast", 1, 1, 1, "string", "The length of a register's value",
        (cmd, c) -> data.strlen(c, cmd.arg(1)));
    // sets
    add("sadd", -3, "write fast", 1, 1, 1, "set", "Adds members to an OR-Set; answers how many were new",
        (cmd, c) -> data.sadd(c, cmd.arg(1), cmd.args().subList(2, cmd.size())));
    add("srem", -3, "write fast", 1, 1, 1, "set", "Removes the adds of members this node has seen",
        (cmd, c) -> data.srem(c, cmd.arg(1), cmd.args().subList(2, cmd.size())));
    add("smembers", 2, "readonly", 1, 1, 1, "set", "Every member of a set",
        (cmd, c) -> data.smembers(c, cmd.arg(1)));
    add("sismember", 3, "readonly fast", 1, 1, 1, "set", "Whether a set holds a member",
        (cmd, c) -> data.sismember(c, cmd.arg(1), cmd.arg(2)));
    add("smismember", -3, "readonly fast", 1, 1, 1, "set", "Whether a set holds each of several members",
        (cmd, c) -> data.smismember(c, cmd.arg(1), cmd.args().subList(2, cmd.size())));
    add("scard", 2, "readonly fast", 1, 1, 1, "set", "How many members a set holds",
        (cmd, c) -> data.scard(c, cmd.arg(1)));
    add("sscan", -3, "readonly", 1, 1, 1, "set", "Pages through a set's members by cursor", this::sscan);
    // keys
    add("del", -2, "write", 1, -1, 1, "generic", "Deletes keys (observed-remove: docs/lifecycle.md)",
        (cmd, c) -> data.del(c, cmd.args().subList(1, cmd.size())));
    add("unlink", -2, "write fast", 1, -1, 1, "generic", "DEL: deletes keys",
        (cmd, c) -> data.del(c, cmd.args().subList(1, cmd.size())));
    add("exists", -2, "readonly fast", 1, -1, 1, "generic", "How many of the keys hold something",
        (cmd, c) -> data.exists(c, cmd.args().subList(1, cmd.size())));
    add("type", 2, "readonly fast", 1, 1, 1, "generic", "string (a counter or register), set or none",
        (cmd, c) -> data.type(c, cmd.arg(1)).thenApply(t -> (Reply) new Reply.Simple(t)));
    add("scan", -2, "readonly", 0, 0, 0, "generic", "Pages through the keys this node stores by cursor", this::scan);
    add("dbsize", 1, "readonly fast", 0, 0, 0, "server", "Keys this node stores, deleted ones until collected",
        (cmd, c) -> done(Reply.integer(info.keys())));
    // server
    add("info", -1, "", 0, 0, 0, "server", "Server, clients, memory, stats, keyspace and lattice sections",
        (cmd, c) -> info.info(cmd, c));
    add("time", 1, "fast", 0, 0, 0, "server", "The node's clock: seconds and microseconds", (cmd, c) -> {
      java.time.Instant now = java.time.Instant.now();
      return done(new Reply.Array(List.of(Reply.bulk(Long.toString(now.getEpochSecond())),
          Reply.bulk(Long.toString(now.getNano() / 1000)))));
    });
    add("config", -2, "", 0, 0, 0, "server", "CONFIG GET of the settings Redis tools ask for; nothing can be set",
        (cmd, c) -> done(info.config(cmd)));
  }

  private void add(String name, int arity, String flags, int firstKey, int lastKey, int step, String group,
      String summary, Handler handler) {
    table.put(name, new Spec(name, arity, flags.isEmpty() ? List.of() : List.of(flags.split(" ")), firstKey, lastKey,
        step, group, summary, handler));
  }

  // ---------------------------------------------------------------- connection commands

  /** HELLO [protover [AUTH user pass] [SETNAME name]]: the reply is a map of what the server is. */
  private CompletableFuture<Reply> hello(RespCommand cmd, RespClient c) {
    int protocol = c.protocol;
    String user = null;
    String password = null;
    String name = null;
    if (cmd.size() > 1) {
      Long p = integer(cmd.text(1));
      if (p == null) {
        return done(Reply.error("ERR Protocol version is not an integer or out of range"));
      }
      if (p != 2 && p != 3) {
        return done(Reply.error("NOPROTO unsupported protocol version"));
      }
      protocol = p.intValue();
      for (int i = 2; i < cmd.size(); i++) {
        String option = cmd.text(i).toLowerCase(Locale.ROOT);
        if (option.equals("auth") && i + 2 < cmd.size()) {
          user = cmd.text(i + 1);
          password = cmd.text(i + 2);
          i += 2;
        } else if (option.equals("setname") && i + 1 < cmd.size()) {
          name = cmd.text(i + 1);
          i++;
        } else {
          return done(Reply.error("ERR Syntax error in HELLO option '" + clip(cmd.text(i)) + "'"));
        }
      }
    }
    if (name != null && !validName(name)) {
      return done(Reply.error("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    int chosen = protocol;
    String newName = name;
    CompletableFuture<Reply> login = user == null ? done(null) : login(c, user, password);
    return login.thenApply(failed -> {
      if (failed != null) {
        return failed;
      }
      if (loginsRequired() && c.session.principal() == null) {
        return Reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            + "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
            + "protocol version at the same time");
      }
      c.protocol = chosen;
      if (newName != null) {
        c.name = newName;
      }
      return new Reply.Map(List.of(
          Reply.bulk("server"), Reply.bulk("latticekv"),
          Reply.bulk("version"), Reply.bulk(RespInfo.REDIS_VERSION),
          Reply.bulk("proto"), Reply.integer(chosen),
          Reply.bulk("id"), Reply.integer(c.id),
          Reply.bulk("mode"), Reply.bulk("standalone"),
          Reply.bulk("role"), Reply.bulk("master"),
          Reply.bulk("modules"), Reply.EMPTY_ARRAY));
    });
  }

  /** AUTH [user] password: Redis's one-argument form logs in as the user {@code default}. */
  private CompletableFuture<Reply> auth(RespCommand cmd, RespClient c) {
    if (cmd.size() > 3) {
      return done(SYNTAX);
    }
    if (!loginsRequired()) {
      // As Redis whose default user has no password: AUTH default <anything> passes; nobody else exists.
      return done(cmd.size() == 2 ? Reply.error("ERR AUTH <password> called without any password configured for "
          + "the default user. Are you sure your configuration is correct?")
          : cmd.text(1).equals("default") ? Reply.OK : WRONGPASS);
    }
    String user = cmd.size() == 3 ? cmd.text(1) : "default";
    return login(c, user, cmd.text(cmd.size() - 1)).thenApply(failed -> failed != null ? failed : Reply.OK);
  }

  /** Logs in through the native login (its rate limits and hash checks); null when it worked, else the reply. */
  private CompletableFuture<Reply> login(RespClient c, String user, String password) {
    if (!loginsRequired()) {
      return done(null);
    }
    return data.call(c, Request.newBuilder().setAuth(AuthRequest.newBuilder().setUser(user).setPassword(password)))
        .thenApply(r -> {
          if (!r.hasError()) {
            return null;
          }
          String why = r.getError().getMessage();
          // A wrong password and an unknown user look alike, as in Redis; a busy node or a bad name says so.
          Reply refused = r.getError().getCode() == ErrorCode.UNAUTHENTICATED
              && (why.startsWith("wrong password") || why.startsWith("unknown user")) ? WRONGPASS
              : Reply.error("ERR " + why);
          return c.session.tooManyFailedLogins() ? new Reply.Closing(refused) : refused;
        });
  }

  private CompletableFuture<Reply> client(RespCommand cmd, RespClient c) {
    String sub = cmd.text(1).toLowerCase(Locale.ROOT);
    switch (sub) {
      case "setname":
        if (cmd.size() != 3) {
          return done(wrongArgs("client|setname"));
        }
        if (!validName(cmd.text(2))) {
          return done(Reply.error("ERR Client names cannot contain spaces, newlines or special characters."));
        }
        c.name = cmd.text(2);
        return done(Reply.OK);
      case "getname":
        return done(c.name.isEmpty() ? Reply.NULL : Reply.bulk(c.name));
      case "id":
        return done(Reply.integer(c.id));
      case "info":
        return done(new Reply.Verbatim(c.info()));
      case "setinfo":
        if (cmd.size() != 4) {
          return done(wrongArgs("client|setinfo"));
        }
        String attr = cmd.text(2).toLowerCase(Locale.ROOT);
        if (!validName(cmd.text(3))) {
          return done(Reply.error("ERR " + attr + " cannot contain spaces, newlines or special characters."));
        }
        if (attr.equals("lib-name")) {
          c.libName = cmd.text(3);
        } else if (attr.equals("lib-ver")) {
          c.libVersion = cmd.text(3);
        } else {
          return done(Reply.error("ERR Unrecognized option '" + clip(cmd.text(2)) + "'"));
        }
        return done(Reply.OK);
      default:
        return done(Reply.error("ERR unknown subcommand '" + clip(cmd.text(1)) + "'. LatticeKV's CLIENT knows "
            + "SETNAME, GETNAME, ID, INFO and SETINFO."));
    }
  }

  private static boolean validName(String name) {
    for (int i = 0; i < name.length(); i++) {
      char ch = name.charAt(i);
      if (ch < '!' || ch > '~') {
        return false;
      }
    }
    return true;
  }

  /** LATTICE.LEVEL shows both levels; LATTICE.LEVEL W|R ONE|QUORUM|ALL sets one for this connection. */
  private CompletableFuture<Reply> level(RespCommand cmd, RespClient c) {
    if (cmd.size() == 1) {
      return done(new Reply.Map(List.of(Reply.bulk("w"), Reply.bulk(RespClient.levelName(c.w)),
          Reply.bulk("r"), Reply.bulk(RespClient.levelName(c.r)))));
    }
    if (cmd.size() != 3) {
      return done(wrongArgs("lattice.level"));
    }
    Level level = switch (cmd.text(2).toLowerCase(Locale.ROOT)) {
      case "one" -> Level.LEVEL_ONE;
      case "quorum" -> Level.LEVEL_QUORUM;
      case "all" -> Level.LEVEL_ALL;
      default -> null;
    };
    if (level == null) {
      return done(Reply.error("ERR unknown level '" + clip(cmd.text(2)) + "': ONE, QUORUM or ALL"));
    }
    switch (cmd.text(1).toLowerCase(Locale.ROOT)) {
      case "w" -> c.w = level;
      case "r" -> c.r = level;
      default -> {
        return done(Reply.error("ERR unknown direction '" + clip(cmd.text(1)) + "': W (writes) or R (reads)"));
      }
    }
    return done(Reply.OK);
  }

  // ---------------------------------------------------------------- commands with options

  /** SET key value [GET]; the expiry and condition options are refused (docs/resp.md says why). */
  private CompletableFuture<Reply> set(RespCommand cmd, RespClient c) {
    boolean get = false;
    for (int i = 3; i < cmd.size(); i++) {
      String option = cmd.text(i).toUpperCase(Locale.ROOT);
      switch (option) {
        case "GET" -> get = true;
        case "EX", "PX", "EXAT", "PXAT", "KEEPTTL" -> {
          return done(Reply.error("ERR SET option " + option + " is not supported: LatticeKV keys do not expire"));
        }
        case "NX", "XX", "IFEQ" -> {
          return done(Reply.error("ERR SET option " + option + " is not supported: a conditional write needs "
              + "consensus, and every replica of a CRDT takes every write"));
        }
        default -> {
          return done(SYNTAX);
        }
      }
    }
    return get ? data.getSet(c, cmd.arg(1), cmd.arg(2)) : data.set(c, cmd.arg(1), cmd.arg(2));
  }

  /** SSCAN key cursor [MATCH pattern] [COUNT count]. */
  private CompletableFuture<Reply> sscan(RespCommand cmd, RespClient c) {
    Long cursor = unsigned(cmd.text(2));
    if (cursor == null) {
      return done(Reply.error("ERR invalid cursor"));
    }
    ScanOptions o = ScanOptions.parse(cmd, 3, false);
    return o.error != null ? done(o.error) : data.sscan(c, cmd.arg(1), cursor, o.count, o.match);
  }

  /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
  private CompletableFuture<Reply> scan(RespCommand cmd, RespClient c) {
    Long cursor = unsigned(cmd.text(1));
    if (cursor == null) {
      return done(Reply.error("ERR invalid cursor"));
    }
    ScanOptions o = ScanOptions.parse(cmd, 2, true);
    return o.error != null ? done(o.error) : data.scan(c, cursor, o.count, o.match, o.type);
  }

  /** The options of SCAN and SSCAN; {@code error} set when they do not parse. */
  private static final class ScanOptions {
    int count = 10;
    ByteString match;
    String type;
    Reply error;

    static ScanOptions parse(RespCommand cmd, int from, boolean typeAllowed) {
      ScanOptions o = new ScanOptions();
      for (int i = from; i < cmd.size(); i += 2) {
        String option = cmd.text(i).toUpperCase(Locale.ROOT);
        if (i + 1 >= cmd.size()) {
          o.error = SYNTAX;
          return o;
        }
        switch (option) {
          case "MATCH" -> o.match = cmd.arg(i + 1);
          case "COUNT" -> {
            Long n = integer(cmd.text(i + 1));
            if (n == null) {
              o.error = NOT_INTEGER;
              return o;
            }
            if (n < 1) {
              o.error = SYNTAX;
              return o;
            }
            o.count = (int) Math.min(n, Integer.MAX_VALUE);
          }
          case "TYPE" -> {
            if (!typeAllowed) {
              o.error = SYNTAX;
              return o;
            }
            o.type = cmd.text(i + 1).toLowerCase(Locale.ROOT);
          }
          default -> {
            o.error = SYNTAX;
            return o;
          }
        }
      }
      return o;
    }
  }

  // ---------------------------------------------------------------- errors and helpers

  /** The error line for a native error: Redis's codes where Redis has one, ERR with the node's sentence otherwise. */
  static Reply errorOf(io.latticekv.proto.Error e) {
    return switch (e.getCode()) {
      case TYPE_MISMATCH -> WRONGTYPE;
      case UNAUTHENTICATED -> Reply.error("NOAUTH Authentication required. " + e.getMessage());
      case FORBIDDEN -> Reply.error("NOPERM " + e.getMessage());
      case OVERFLOW -> Reply.error("ERR increment or decrement would overflow");
      default -> Reply.error("ERR " + e.getMessage());
    };
  }

  /** The reply for a failure outside the native answers: a bug, logged by whoever raised it. */
  static Reply failure(Throwable t) {
    t = io.latticekv.server.api.Errors.unwrap(t);
    if (t instanceof DataCommands.ErrorReply e) {
      return e.reply;
    }
    org.slf4j.LoggerFactory.getLogger(RespCommands.class).error("bug: a RESP command failed", t);
    return Reply.error("ERR internal error (" + t.getClass().getSimpleName() + "): " + t.getMessage()
        + "; see the node's log");
  }

  private static Reply wrongArgs(String name) {
    return Reply.error("ERR wrong number of arguments for '" + name + "' command");
  }

  /** A signed 64-bit decimal, as Redis's string2ll accepts it; null when it is not one. */
  static Long integer(String s) {
    if (s.isEmpty() || s.length() > 20 || s.startsWith("+") || (s.length() > 1 && s.startsWith("0"))
        || s.startsWith("-0")) {
      return null;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** A cursor: an unsigned decimal below 2^63. */
  private static Long unsigned(String s) {
    Long n = integer(s);
    return n == null || n < 0 ? null : n;
  }

  static CompletableFuture<Reply> done(Reply r) {
    return CompletableFuture.completedFuture(r);
  }

  /** The node's status as this connection's user may see it; null when refused. */
  CompletableFuture<io.latticekv.proto.StatusResponse> status(RespClient c) {
    return data.call(c, Request.newBuilder().setStatus(io.latticekv.proto.StatusRequest.getDefaultInstance()))
        .thenApply(r -> r.hasError() ? null : r.getStatus());
  }

  /** Names of the commands, for COMMAND LIST and the docs. */
  List<String> names() {
    return new ArrayList<>(table.keySet());
  }
}
