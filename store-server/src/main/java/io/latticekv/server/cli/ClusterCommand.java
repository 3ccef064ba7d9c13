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

  @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "Nodes to start (default: ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = "./data",
      description = "Parent of the nodes' data directories DIR/node1..N; their logs go to DIR/nodeI.log (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(names = "--base-port", paramLabel = "PORT", defaultValue = "7379",
      description = "Node i (from 0) serves clients on PORT+i, peers on PORT+100+i and metrics on PORT+200+i (default: ${DEFAULT-VALUE}).")
  int basePort;

  @Option(names = "--sync", paramLabel = "always|batch|none", defaultValue = "batch",
      description = "Each node's sync policy (default: ${DEFAULT-VALUE}).")
  String sync;

  @Override
  public Integer call() throws Exception {
    if (nodes < 1 || nodes > 50) {
      throw new IllegalArgumentException("--nodes must be 1..50, got " + nodes);
    }
    Files.createDirectories(dir);
    List<Process> processes = new ArrayList<>();
    String seed = "127.0.0.1:" + (basePort + 100);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    try {
      for (int i = 0; i < nodes; i++) {
        List<String> command = List.of(java, "-cp", System.getProperty("java.class.path"),
            "io.latticekv.server.cli.Lattice", "server",
            "--dir", dir.resolve("node" + (i + 1)).toString(),
            "--listen", "127.0.0.1:" + (basePort + i),
            "--peer-listen", "127.0.0.1:" + (basePort + 100 + i),
            "--seeds", seed,
            "--metrics-listen", "127.0.0.1:" + (basePort + 200 + i),
            "--sync", sync);
        Path log = dir.resolve("node" + (i + 1) + ".log");
        processes.add(new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start());
      }
      awaitServing(processes);
    } catch (IOException | RuntimeException e) {
      stopAll(processes);
      throw e;
    }
    var out = System.out;
    out.printf("LatticeKV cluster of %d nodes (data and logs in %s):%n", nodes, dir.toAbsolutePath().normalize());
    for (int i = 0; i < nodes; i++) {
      out.printf("  node%d  clients 127.0.0.1:%d  peers 127.0.0.1:%d  metrics http://127.0.0.1:%d/metrics%n",
          i + 1, basePort + i, basePort + 100 + i, basePort + 200 + i);
    }
    out.printf("Try:  bin/lattice --connect 127.0.0.1:%d incr hits%n", basePort);
    out.printf("      bin/lattice --connect 127.0.0.1:%d get hits%n", basePort + nodes - 1);
    out.printf("      bin/lattice --connect 127.0.0.1:%d status%n", basePort);
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

  /** Waits until every node has printed its serving line to its log, at most 60 s. */
  private void awaitServing(List<Process> processes) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (int i = 0; i < processes.size(); i++) {
      Path log = dir.resolve("node" + (i + 1) + ".log");
      while (!Files.exists(log) || !Files.readString(log).contains("serving clients on 127.0.0.1:" + (basePort + i))) {
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
