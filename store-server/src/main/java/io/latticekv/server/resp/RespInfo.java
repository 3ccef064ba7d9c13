package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import io.latticekv.core.storage.Store;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * What the RESP port says about itself: INFO's sections, COMMAND's table, and CONFIG GET of the
 * few settings Redis's own tools ask for at start (redis-benchmark asks for {@code save} and
 * {@code appendonly}).
 */
final class RespInfo {

  /** The Redis version whose commands and replies the port follows, for clients that check it. */
  static final String REDIS_VERSION = "7.0.0";

  private static final Set<String> DEFAULT_SECTIONS =
      Set.of("server", "clients", "memory", "stats", "keyspace", "lattice");

  private final RespCommands commands;
  private final Store store;
  private volatile int port;
  private final String sync;
  private final long started = System.currentTimeMillis();

  RespInfo(RespCommands commands, Store store, int port, String sync) {
    this.commands = commands;
    this.store = store;
    this.port = port;
    this.sync = sync;
  }

  /** The port's number once bound, for INFO and CONFIG GET. */
  void port(int bound) {
    this.port = bound;
  }

  /** Keys this node stores, deleted ones included until their tombstones are collected. */
  long keys() {
    return store.tree().keys();
  }

  // ---------------------------------------------------------------- INFO

  CompletableFuture<Reply> info(RespCommand cmd, RespClient c) {
    Set<String> wanted = new java.util.HashSet<>();
    for (int i = 1; i < cmd.size(); i++) {
      String s = cmd.text(i).toLowerCase(Locale.ROOT);
      if (s.equals("all") || s.equals("everything") || s.equals("default")) {
        wanted.addAll(DEFAULT_SECTIONS);
      } else {
        wanted.add(s);
      }
    }
    if (wanted.isEmpty()) {
      wanted.addAll(DEFAULT_SECTIONS);
    }
    CompletableFuture<StatusResponse> status = wanted.contains("lattice")
        ? commands.status(c) : CompletableFuture.completedFuture(null);
    return status.thenApply(s -> new Reply.Verbatim(text(wanted, c, s)));
  }

  private String text(Set<String> wanted, RespClient c, StatusResponse status) {
    StringBuilder out = new StringBuilder();
    Runtime rt = Runtime.getRuntime();
    if (wanted.contains("server")) {
      section(out, "Server");
      line(out, "redis_version", REDIS_VERSION);
      line(out, "lattice_version", version());
      line(out, "redis_mode", "standalone");
      line(out, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
          + System.getProperty("os.arch"));
      line(out, "arch_bits", "64");
      line(out, "process_id", ProcessHandle.current().pid());
      line(out, "tcp_port", port);
      long up = (System.currentTimeMillis() - started) / 1000;
      line(out, "uptime_in_seconds", up);
      line(out, "uptime_in_days", up / 86_400);
      line(out, "java_version", System.getProperty("java.version"));
    }
    if (wanted.contains("clients")) {
      section(out, "Clients");
      line(out, "connected_clients", commands.connectedClients());
    }
    if (wanted.contains("memory")) {
      section(out, "Memory");
      long used = rt.totalMemory() - rt.freeMemory();
      line(out, "used_memory", used);
      line(out, "used_memory_human", human(used));
      line(out, "maxmemory", rt.maxMemory());
      line(out, "maxmemory_human", human(rt.maxMemory()));
      line(out, "lattice_disk_bytes", store.diskBytes());
      line(out, "lattice_cache_hit_rate", String.format(Locale.ROOT, "%.3f", store.cacheHitRate()));
    }
    if (wanted.contains("stats")) {
      section(out, "Stats");
      line(out, "total_connections_received", commands.stats.connectionsReceived());
      line(out, "total_commands_processed", commands.stats.commandsProcessed());
      line(out, "lattice_connections_refused", commands.stats.connectionsRefused());
      line(out, "lattice_writes_applied", store.writesApplied());
    }
    if (wanted.contains("keyspace")) {
      section(out, "Keyspace");
      long keys = keys();
      if (keys > 0) {
        line(out, "db0", "keys=" + keys + ",expires=0,avg_ttl=0");
      }
    }
    if (wanted.contains("lattice") && status != null) {
      section(out, "Lattice");
      line(out, "node_id", status.getNodeId());
      line(out, "sync", sync);
      line(out, "merkle_root", status.getMerkleRoot());
      line(out, "keys_estimated", status.getKeysEstimated());
      if (status.getRestricted()) {
        line(out, "restricted", "yes (members and convergence need the admin role)");
      } else {
        line(out, "peer_address", status.getPeerAddress());
        line(out, "members", status.getMembersCount());
        int i = 0;
        for (MemberInfo m : status.getMembersList()) {
          line(out, "member" + i++, "id=" + m.getNodeId() + ",address=" + m.getAddress() + ",status=" + m.getStatus()
              + ",last_heard_ms=" + m.getLastHeardMsAgo());
        }
        long matched = status.getExchangesList().stream().filter(e -> e.getMatched()).count();
        line(out, "exchanges_matched", matched + "/" + status.getExchangesCount());
        line(out, "converged", status.getExchangesCount() > 0 && matched == status.getExchangesCount() ? "yes"
            : status.getExchangesCount() == 0 ? "unknown" : "no");
        line(out, "rumor_queue", status.getRumorQueue());
        line(out, "keys_repaired", status.getKeysRepaired());
        line(out, "client_input_bytes", status.getClientInputBytes());
      }
      for (String w : status.getWarningsList()) {
        line(out, "warning", w);
      }
    }
    return out.toString();
  }

  private static void section(StringBuilder out, String name) {
    if (out.length() > 0) {
      out.append("\r\n");
    }
    out.append("# ").append(name).append("\r\n");
  }

  private static void line(StringBuilder out, String key, Object value) {
    out.append(key).append(':').append(String.valueOf(value).replace('\r', ' ').replace('\n', ' ')).append("\r\n");
  }

  private static String human(long bytes) {
    return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2fG", bytes / (double) (1L << 30))
        : String.format(Locale.ROOT, "%.2fM", bytes / (double) (1L << 20));
  }

  static String version() {
    String v = RespInfo.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }

  // ---------------------------------------------------------------- COMMAND

  Reply command(RespCommand cmd) {
    if (cmd.size() == 1) {
      List<Reply> all = new ArrayList<>();
      commands.table().values().forEach(s -> all.add(info(s)));
      return new Reply.Array(all);
    }
    String sub = cmd.text(1).toLowerCase(Locale.ROOT);
    switch (sub) {
      case "count":
        return Reply.integer(commands.table().size());
      case "list":
        return new Reply.Array(DataCommands.bulks(commands.names().stream().map(ByteString::copyFromUtf8).toList()));
      case "info": {
        List<Reply> out = new ArrayList<>();
        for (int i = 2; i < cmd.size(); i++) {
          RespCommands.Spec s = commands.table().get(cmd.text(i).toLowerCase(Locale.ROOT));
          out.add(s == null ? Reply.NULL : info(s));
        }
        return new Reply.Array(out);
      }
      case "docs": {
        List<Reply> out = new ArrayList<>();
        List<RespCommands.Spec> specs = new ArrayList<>();
        if (cmd.size() == 2) {
          specs.addAll(commands.table().values());
        }
        for (int i = 2; i < cmd.size(); i++) {
          RespCommands.Spec s = commands.table().get(cmd.text(i).toLowerCase(Locale.ROOT));
          if (s != null) {
            specs.add(s);
          }
        }
        for (RespCommands.Spec s : specs) {
          out.add(Reply.bulk(s.name()));
          out.add(new Reply.Map(List.of(Reply.bulk("summary"), Reply.bulk(s.summary()),
              Reply.bulk("since"), Reply.bulk("1.0.0"), Reply.bulk("group"), Reply.bulk(s.group()))));
        }
        return new Reply.Map(out);
      }
      default:
        return Reply.error("ERR unknown subcommand '" + cmd.text(1) + "'. LatticeKV's COMMAND knows COUNT, LIST, "
            + "INFO and DOCS.");
    }
  }

  /** One command as Redis 7's COMMAND INFO gives it: name, arity, flags, keys, ACL categories, tips, key specs, subcommands. */
  private static Reply info(RespCommands.Spec s) {
    List<Reply> flags = new ArrayList<>();
    for (String f : s.flags()) {
      flags.add(new Reply.Simple(f));
    }
    List<Reply> categories = new ArrayList<>();
    categories.add(new Reply.Simple("@" + s.group()));
    if (s.flags().contains("write")) {
      categories.add(new Reply.Simple("@write"));
    } else if (s.flags().contains("readonly")) {
      categories.add(new Reply.Simple("@read"));
    }
    return new Reply.Array(List.of(Reply.bulk(s.name()), Reply.integer(s.arity()), new Reply.Set(flags),
        Reply.integer(s.firstKey()), Reply.integer(s.lastKey()), Reply.integer(s.step()), new Reply.Set(categories),
        Reply.EMPTY_ARRAY, Reply.EMPTY_ARRAY, Reply.EMPTY_ARRAY));
  }

  // ---------------------------------------------------------------- CONFIG

  Reply config(RespCommand cmd) {
    String sub = cmd.text(1).toLowerCase(Locale.ROOT);
    if (!sub.equals("get")) {
      return Reply.error("ERR CONFIG " + cmd.text(1).toUpperCase(Locale.ROOT) + " is not supported: a LatticeKV node "
          + "is configured by its command line and config file (docs/configuration.md)");
    }
    if (cmd.size() < 3) {
      return Reply.error("ERR wrong number of arguments for 'config|get' command");
    }
    String[][] settings = {
        {"save", ""},
        {"appendonly", sync.equals("none") ? "no" : "yes"},
        {"appendfsync", sync.equals("always") ? "always" : sync.equals("batch") ? "everysec" : "no"},
        {"databases", "1"},
        {"maxmemory", "0"},
        {"port", Integer.toString(port)},
    };
    List<Reply> out = new ArrayList<>();
    for (String[] s : settings) {
      for (int i = 2; i < cmd.size(); i++) {
        if (Glob.matches(cmd.arg(i), ByteString.copyFromUtf8(s[0]))) {
          out.add(Reply.bulk(s[0]));
          out.add(Reply.bulk(s[1]));
          break;
        }
      }
    }
    return new Reply.Map(out);
  }
}
