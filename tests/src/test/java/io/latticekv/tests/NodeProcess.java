package io.latticekv.tests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A node in a child JVM, started with {@code lattice server}, as an operator would run it. */
final class NodeProcess implements AutoCloseable {

  private static final Pattern SERVING = Pattern.compile("serving clients on (\\S+):(\\d+)");

  final Process process;
  final int port;

  private NodeProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Starts a node on {@code dir} and waits (at most 60 s) until it serves. */
  static NodeProcess start(Path dir, String sync, Path log, String... extra) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-Dlattice.log.level=INFO",
        // The split-sets run (tests/pom.xml) stores small sets by rows: in the node's process too.
        "-D" + io.latticekv.core.storage.StoreOptions.SPLIT_ELEMENTS_MIN_PROPERTY + "="
            + Integer.getInteger(io.latticekv.core.storage.StoreOptions.SPLIT_ELEMENTS_MIN_PROPERTY,
                io.latticekv.core.storage.StoreOptions.DEFAULT_SPLIT_ELEMENTS_MIN),
        "-cp", System.getProperty("java.class.path"),
        "io.latticekv.server.cli.Lattice", "server",
        "--dir", dir.toString(), "--listen", "127.0.0.1:0", "--sync", sync));
    command.addAll(List.of(extra));
    Process process = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    // A thread of its own reads the node's stdout for as long as it lives, so the node never
    // blocks on a full pipe, and completes `port` when the serving line appears.
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = out.readLine()) != null; ) {
          Matcher m = SERVING.matcher(line);
          if (m.find()) {
            port.complete(Integer.parseInt(m.group(2)));
          }
        }
      } catch (IOException e) {
        port.completeExceptionally(e);
      }
      port.completeExceptionally(new IllegalStateException("the node exited before serving; see " + log));
    }, "node-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      return new NodeProcess(process, port.get(60, TimeUnit.SECONDS));
    } catch (Exception e) {
      boolean alive = process.isAlive();
      process.destroyForcibly();
      throw new IllegalStateException("node did not start within 60 s (process "
          + (alive ? "still running" : "exited") + "); see " + log, e);
    }
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  /** SIGKILL: no shutdown hook, no flush, like a crash. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the node survived SIGKILL for 30 s");
    }
  }

  /** SIGTERM, then waits for a clean exit; returns the exit code. */
  int stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException("the node did not stop within 30 s of SIGTERM");
    }
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
