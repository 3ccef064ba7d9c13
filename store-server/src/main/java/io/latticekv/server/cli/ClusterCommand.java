package io.latticekv.server.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lattice cluster}: N nodes as separate processes on local ports, in the foreground.
 * Ctrl-C or SIGTERM stops every node cleanly (each leaves the cluster, finishes its requests and
 * closes its store). Started again on the same directory, the nodes keep their data.
 */
@Command(name = "cluster", description = "Run a local cluster of N node processes in the foreground; Ctrl-C stops them all.")
final class ClusterCommand implements Callable<Integer> {

  /** Node i's RESP port is the base port plus this plus i: 7679, 7680, ... by default. */
  static final int RESP_OFFSET = 300;

  @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "Nodes to start (default: ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = "./data",
      description = "Parent of the nodes' data directories DIR/node1..N; their logs go to DIR/nodeI.log (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(names = "--base-port", paramLabel = "PORT", defaultValue = "7379",
      description = "Node i (from 0) serves clients on PORT+i, peers on PORT+100+i, metrics on PORT+200+i and Redis clients (RESP) on PORT+300+i (default: ${DEFAULT-VALUE}).")
  int basePort;

  @Option(names = "--sync", paramLabel = "always|batch|none", defaultValue = "batch",
      description = "Each node's sync policy (default: ${DEFAULT-VALUE}).")
  String sync;

  @Option(names = "--secure",
      description = "TLS on every port and logins: certificates in DIR/tls (made with gen-certs the first time), "
          + "an auth file DIR/users with a user admin whose password is printed once, when the file is made.")
  boolean secure;

  /** What --secure adds to each node's command line, and tells the user. */
  private record Secure(Path tls, Path users, String password) {}

  /**
   * Certificates for the nodes and a client (once: later starts reuse them, so the nodes keep
   * their ids), and an admin user with a random password (printed only when the file is made).
   */
  private Secure secure() throws IOException {
    Path tls = dir.resolve("tls");
    Path users = dir.resolve("users");
    java.security.SecureRandom random = new java.security.SecureRandom();
    java.io.PrintWriter quiet = new java.io.PrintWriter(java.io.OutputStream.nullOutputStream());
    io.latticekv.server.security.CertificateAuthority ca = GenCertsCommand.authority(tls, quiet, random);
    for (int i = 1; i <= nodes; i++) { // only the missing ones: a node keeps the id its certificate names
      if (!Files.exists(tls.resolve("node" + i + ".pem"))) {
        GenCertsCommand.writeNode(ca, tls, i, io.latticekv.core.crdt.NodeId.random(random),
            List.of("localhost", "127.0.0.1"), quiet);
      }
    }
    if (!Files.exists(tls.resolve("client.pem"))) {
      GenCertsCommand.writeClient(ca, tls, "admin", quiet);
    }
    String password = null;
    if (!Files.exists(users)) {
      byte[] secret = new byte[12]; // 96 bits
      random.nextBytes(secret);
      password = java.util.HexFormat.of().formatHex(secret);
      char[] chars = password.toCharArray();
      io.latticekv.server.security.AuthFile.empty()
          .with(new io.latticekv.server.security.AuthFile.User("admin", io.latticekv.server.security.Role.ADMIN,
              io.latticekv.server.security.PasswordHash.of(chars, random)))
          .save(users);
      io.latticekv.server.security.PasswordHash.wipe(chars);
    }
    return new Secure(tls, users, password);
  }

  @Override
  public Integer call() throws Exception {
    if (nodes < 1 || nodes > 50) {
      throw new IllegalArgumentException("--nodes must be 1..50, got " + nodes);
    }
    Files.createDirectories(dir);
    Secure sec = secure ? secure() : null;
    List<Process> processes = new ArrayList<>();
    List<Long> logStarts = new ArrayList<>(); // the logs are appended to: a restart's lines start here
    String seed = "127.0.0.1:" + (basePort + 100);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    try {
      for (int i = 0; i < nodes; i++) {
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
            "io.latticekv.server.cli.Lattice", "server",
            "--dir", dir.resolve("node" + (i + 1)).toString(),
            "--listen", "127.0.0.1:" + (basePort + i),
            "--peer-listen", "127.0.0.1:" + (basePort + 100 + i),
            "--seeds", seed,
            "--metrics-listen", "127.0.0.1:" + (basePort + 200 + i),
            "--resp-listen", "127.0.0.1:" + (basePort + RESP_OFFSET + i),
            "--sync", sync));
        if (sec != null) {
          command.addAll(List.of("--tls-ca", sec.tls().resolve("ca.pem").toString(),
              "--tls-cert", sec.tls().resolve("node" + (i + 1) + ".pem").toString(),
              "--tls-key", sec.tls().resolve("node" + (i + 1) + ".key").toString(),
              "--auth-file", sec.users().toString()));
        }
        Path log = dir.resolve("node" + (i + 1) + ".log");
        logStarts.add(Files.exists(log) ? Files.size(log) : 0L);
        processes.add(new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start());
      }
      awaitServing(processes, logStarts);
    } catch (IOException | RuntimeException e) {
      stopAll(processes);
      throw e;
    }
    var out = System.out;
    out.printf("LatticeKV cluster of %d nodes (data and logs in %s):%n", nodes, dir.toAbsolutePath().normalize());
    for (int i = 0; i < nodes; i++) {
      out.printf("  node%d  clients 127.0.0.1:%d  resp 127.0.0.1:%d  peers 127.0.0.1:%d  metrics http://127.0.0.1:%d/metrics%n",
          i + 1, basePort + i, basePort + RESP_OFFSET + i, basePort + 100 + i, basePort + 200 + i);
    }
    if (sec == null) {
      out.printf("Try:  bin/lattice --connect 127.0.0.1:%d incr hits%n", basePort);
      out.printf("      bin/lattice --connect 127.0.0.1:%d get hits%n", basePort + nodes - 1);
      out.printf("      bin/lattice --connect 127.0.0.1:%d status%n", basePort);
      out.printf("      redis-cli -p %d incr hits%n", basePort + RESP_OFFSET);
    } else {
      out.printf("TLS on every port (certificates in %s), logins from %s.%n", sec.tls(), sec.users());
      if (sec.password() != null) {
        out.printf("User admin, password %s (shown once; add users with lattice user add).%n", sec.password());
      }
      out.printf("Try:  export LATTICE_PASSWORD=%s%n", sec.password() != null ? sec.password() : "...");
      out.printf("      bin/lattice --tls-ca %s --user admin --connect 127.0.0.1:%d incr hits%n",
          sec.tls().resolve("ca.pem"), basePort);
      out.printf("      redis-cli --tls --cacert %s -p %d --user admin --pass \"$LATTICE_PASSWORD\" incr hits%n",
          sec.tls().resolve("ca.pem"), basePort + RESP_OFFSET);
      out.printf("      bin/lattice --tls-ca %s --tls-cert %s --tls-key %s status   (a client certificate, no password)%n",
          sec.tls().resolve("ca.pem"), sec.tls().resolve("client.pem"), sec.tls().resolve("client.key"));
    }
    out.println("Ctrl-C stops every node.");
    out.flush();

    CountDownLatch stop = new CountDownLatch(1);
    for (String signal : new String[] {"TERM", "INT"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stop.countDown());
      } catch (IllegalArgumentException unsupported) {
        // not a signal here; the shutdown hook below still stops the nodes
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stopAll(processes), "lattice-cluster-stop"));
    while (!stop.await(1, TimeUnit.SECONDS)) {
      for (int i = 0; i < processes.size(); i++) {
        if (!processes.get(i).isAlive()) {
          System.err.printf("lattice: node%d exited with code %d; see %s%n", i + 1, processes.get(i).exitValue(),
              dir.resolve("node" + (i + 1) + ".log"));
          stopAll(processes);
          return ExitCode.SERVER_FAILED;
        }
      }
    }
    System.out.println("stopping every node...");
    return stopAll(processes) ? ExitCode.OK : ExitCode.SERVER_FAILED;
  }

  /**
   * Waits until every node has printed its serving line to its log (after {@code logStarts}, where
   * this run's lines begin), at most 60 s.
   */
  private void awaitServing(List<Process> processes, List<Long> logStarts) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (int i = 0; i < processes.size(); i++) {
      Path log = dir.resolve("node" + (i + 1) + ".log");
      String serving = "serving clients on 127.0.0.1:" + (basePort + i);
      while (!Files.exists(log) || !since(log, logStarts.get(i)).contains(serving)) {
        // Re-read the log every 50 ms, and learn at once if the node exits instead. (The nodes
        // write to their log files directly: copying their output through a pipe lost the
        // last lines, since the JDK closes a child's stream under a blocked reader on exit.)
        if (processes.get(i).waitFor(50, TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("node" + (i + 1) + " failed to start; see " + log);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node" + (i + 1) + " did not start within 60 s; see " + log);
        }
      }
    }
  }

  /** The text of {@code log} from byte {@code start} on. */
  private static String since(Path log, long start) throws IOException {
    byte[] all = Files.readAllBytes(log);
    int from = (int) Math.min(start, all.length);
    return new String(all, from, all.length - from, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** SIGTERM to every node, then waits for each (30 s); true when all exited with code 0. */
  private static synchronized boolean stopAll(List<Process> processes) {
    boolean clean = true;
    for (Process p : processes) {
      if (p.isAlive()) {
        p.destroy();
      }
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          clean = false;
        } else if (p.exitValue() != 0) {
          clean = false;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return clean;
  }
}
