package io.latticekv.server.cli;

import io.latticekv.client.LatticeException;
import io.latticekv.client.LatticeTimeoutException;
import io.latticekv.client.LatticeUnavailableException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code lattice} command line: runs a node ({@code lattice server}) or talks to one ({@code
 * lattice get KEY}, {@code lattice incr KEY}, ...). Options such as {@code --connect} and {@code
 * --json} go before or after the command name.
 */
@Command(
    name = "lattice",
    mixinStandardHelpOptions = true,
    scope = ScopeType.INHERIT, // every command takes --help and --version
    version = "LatticeKV 0.1.0-SNAPSHOT",
    description = "LatticeKV: a replicated key-value store whose values are CRDTs.",
    subcommands = {
      ServerCommand.class,
      ClientCommands.Get.class,
      ClientCommands.Put.class,
      ClientCommands.Incr.class,
      ClientCommands.Decr.class,
      SetCommands.Sadd.class,
      SetCommands.Srem.class,
      SetCommands.Smembers.class,
      SetCommands.Sismember.class,
      SetCommands.Scard.class,
      ClientCommands.Del.class,
      ClientCommands.Inspect.class,
      ClientCommands.RemoveMember.class,
      ClientCommands.Decommission.class,
      ClusterCommand.class,
      StatusCommand.class,
      MembersCommand.class,
      BenchCommand.class,
      UserCommand.class,
      GenCertsCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:the node refused the request (type mismatch, overflow, too large, invalid)",
      "2:bad arguments",
      "3:no node could be reached",
      "4:no answer in time (the request may or may not have been applied)",
      "5:the server failed"
    })
public final class Lattice implements Runnable {

  @Option(names = "--connect", scope = ScopeType.INHERIT, paramLabel = "HOST:PORT[,HOST:PORT...]",
      defaultValue = "127.0.0.1:7379",
      description = "Nodes to talk to, tried in order (default: ${DEFAULT-VALUE}).")
  String connect;

  @Option(names = "--json", scope = ScopeType.INHERIT,
      description = "Print results as JSON, for scripts.")
  boolean json;

  @Option(names = "--timeout-ms", scope = ScopeType.INHERIT, paramLabel = "MS", defaultValue = "5000",
      description = "How long to wait for an answer (default: ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Option(names = "--w", scope = ScopeType.INHERIT, paramLabel = "1|quorum|all", defaultValue = "1",
      description = "Replicas that must apply a write before it is acknowledged (default: ${DEFAULT-VALUE}).")
  String w;

  @Option(names = "--r", scope = ScopeType.INHERIT, paramLabel = "1|quorum|all", defaultValue = "1",
      description = "Replicas a read merges; stale ones are repaired (default: ${DEFAULT-VALUE}).")
  String r;

  @Option(names = "--tls-ca", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "The cluster's CA certificate (PEM). For a client: speak TLS and trust only nodes it "
          + "signed. For a server: turns TLS on for both ports, with --tls-cert and --tls-key.")
  java.nio.file.Path tlsCa;

  @Option(names = "--tls-cert", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "This process's certificate (PEM): a node's (naming its node id), or a client's "
          + "(naming its user, which logs it in without a password).")
  java.nio.file.Path tlsCert;

  @Option(names = "--tls-key", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "The private key of --tls-cert (PEM, PKCS#8).")
  java.nio.file.Path tlsKey;

  @Option(names = "--user", scope = ScopeType.INHERIT, paramLabel = "NAME",
      description = "Log in as this user; the password comes from LATTICE_PASSWORD or a prompt.")
  String user;

  @Spec CommandSpec spec;

  /** A client as the options say: --connect, --timeout-ms, --w, --r, TLS and the user. */
  io.latticekv.client.LatticeClient client() {
    return clientBuilder().build();
  }

  /** The builder of {@link #client()}, for a command that sets more (bench: connections, threads). */
  io.latticekv.client.LatticeClient.Builder clientBuilder() {
    io.latticekv.client.LatticeClient.Builder b = io.latticekv.client.LatticeClient.builder()
        .addresses(connect)
        .requestTimeout(java.time.Duration.ofMillis(timeoutMs))
        .connectTimeout(java.time.Duration.ofMillis(Math.min(timeoutMs, 2_000)))
        .poolSize(1)
        .writeLevel(level("--w", w))
        .readLevel(level("--r", r));
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    }
    if (tlsCert != null && tlsCa == null) {
      throw new IllegalArgumentException("a client certificate needs --tls-ca");
    }
    if (tlsCa != null) {
      b = tlsCert == null ? b.tls(tlsCa) : b.tls(tlsCa, tlsCert, tlsKey);
    }
    if (user != null) {
      b = b.credentials(user, password());
    }
    return b;
  }

  /** The password for --user: LATTICE_PASSWORD, else a prompt on the terminal; never a flag. */
  private String password() {
    String env = System.getenv("LATTICE_PASSWORD");
    if (env != null) {
      return env;
    }
    java.io.Console console = System.console();
    if (console == null) {
      throw new IllegalArgumentException("--user " + user + ": set LATTICE_PASSWORD, or run on a terminal to be asked");
    }
    char[] typed = console.readPassword("password for %s: ", user);
    if (typed == null) {
      throw new IllegalArgumentException("no password given for --user " + user);
    }
    String password = new String(typed);
    java.util.Arrays.fill(typed, '\0');
    return password;
  }

  static io.latticekv.proto.Level level(String option, String value) {
    return switch (value.trim().toLowerCase()) {
      case "1", "one" -> io.latticekv.proto.Level.LEVEL_ONE;
      case "quorum" -> io.latticekv.proto.Level.LEVEL_QUORUM;
      case "all" -> io.latticekv.proto.Level.LEVEL_ALL;
      default -> throw new IllegalArgumentException(option + " must be 1, quorum or all, not '" + value + "'");
    };
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: server, cluster, get, put, incr, decr, sadd, srem, del, inspect, status, members, "
        + "remove-member, decommission, bench, "
        + "user, gen-certs");
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the command line with the given streams; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Lattice());
    cli.setOut(out);
    cli.setErr(err);
    cli.setAllowSubcommandsAsOptionParameters(true); // --user bench: a user may be named like a command
    java.nio.file.Path config = configFile(args);
    if (config != null && java.nio.file.Files.isRegularFile(config)) {
      // Settings from the file become the options' defaults; flags on the command line win.
      cli.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(config.toFile()));
    }
    cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
      commandLine.getErr().println("lattice: " + oneLine(e));
      return exitCodeOf(e);
    });
    return cli.execute(args);
  }

  /** The value of --config in {@code args}, if any. */
  static java.nio.file.Path configFile(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        return java.nio.file.Path.of(args[i + 1]);
      }
      if (args[i].startsWith("--config=")) {
        return java.nio.file.Path.of(args[i].substring("--config=".length()));
      }
    }
    return null;
  }

  static String oneLine(Exception e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof LatticeException le && !(e instanceof LatticeTimeoutException)
        && !(e instanceof LatticeUnavailableException)) {
      message = message + " (" + le.code() + ")";
    }
    return message.replace('\n', ' ');
  }

  static int exitCodeOf(Exception e) {
    if (e instanceof LatticeTimeoutException) {
      return ExitCode.TIMEOUT;
    }
    if (e instanceof LatticeUnavailableException) {
      return ExitCode.UNAVAILABLE;
    }
    if (e instanceof LatticeException) {
      return ExitCode.REFUSED;
    }
    if (e instanceof IllegalArgumentException) {
      return ExitCode.USAGE;
    }
    return ExitCode.SERVER_FAILED;
  }
}
