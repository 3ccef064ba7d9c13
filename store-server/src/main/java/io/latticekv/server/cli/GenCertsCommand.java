package io.latticekv.server.cli;

import io.latticekv.core.crdt.NodeId;
import io.latticekv.server.security.CertificateAuthority;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lattice gen-certs DIR --nodes N}: a CA and certificates for a cluster, for local and test
 * use: {@code DIR/ca.pem} (and its key, {@code DIR/ca.key}), {@code DIR/nodeI.pem} and {@code
 * DIR/nodeI.key} for I = 1..N, each naming a fresh node id (a new data directory takes it), and
 * {@code DIR/client.pem} / {@code DIR/client.key} for a client user. {@code --node-id} issues for
 * existing nodes instead (rotation: the same id, a new key and certificate, signed by the CA in DIR).
 */
@Command(name = "gen-certs", description = "Write a CA, node certificates and a client certificate for a cluster.")
final class GenCertsCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "DIR", description = "Where the files go; an existing DIR/ca.pem and "
      + "DIR/ca.key are used to sign (rotation), else a new CA is made.")
  Path dir;

  @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "Node certificates, each for a fresh "
      + "node id (default: ${DEFAULT-VALUE}; ignored with --node-id).")
  int nodes;

  @Option(names = "--node-id", paramLabel = "HEX", split = ",",
      description = "Issue node certificates for these existing node ids (32 hex digits each), as nodeI for I = 1..")
  List<String> nodeIds = new ArrayList<>();

  @Option(names = "--host", paramLabel = "NAME", split = ",",
      description = "Host names or IP addresses the node certificates name, for clients that check the host "
          + "(default: localhost,127.0.0.1).")
  List<String> hosts = new ArrayList<>(List.of("localhost", "127.0.0.1"));

  @Option(names = "--client", paramLabel = "USER",
      description = "The user the client certificate names (default: admin for new nodes; with --node-id, no "
          + "client certificate unless given).")
  String client;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    SecureRandom random = new SecureRandom();
    List<NodeId> ids = new ArrayList<>();
    if (nodeIds.isEmpty()) {
      if (nodes < 0 || nodes > 1000) {
        throw new IllegalArgumentException("--nodes must be 0..1000, got " + nodes);
      }
      for (int i = 0; i < nodes; i++) {
        ids.add(NodeId.random(random));
      }
    } else {
      for (String hex : nodeIds) {
        ids.add(NodeId.parse(hex.trim().toLowerCase()));
      }
    }
    String user = client != null ? client : nodeIds.isEmpty() ? "admin" : null;
    write(dir, ids, hosts, user, spec.commandLine().getOut(), random);
    return ExitCode.OK;
  }

  /** Writes the CA (unless DIR has one), a certificate per node id, and one for {@code client} (unless null). */
  static void write(Path dir, List<NodeId> ids, List<String> hosts, String client, PrintWriter out,
      SecureRandom random) throws IOException {
    CertificateAuthority ca = authority(dir, out, random);
    for (int i = 0; i < ids.size(); i++) {
      writeNode(ca, dir, i + 1, ids.get(i), hosts, out);
    }
    if (client != null && !client.isEmpty()) {
      writeClient(ca, dir, client, out);
    }
  }

  /** The CA in DIR (ca.pem and ca.key), made and written there when DIR has none. */
  static CertificateAuthority authority(Path dir, PrintWriter out, SecureRandom random) throws IOException {
    Files.createDirectories(dir);
    Path caPem = dir.resolve("ca.pem");
    Path caKey = dir.resolve("ca.key");
    if (Files.exists(caPem) && Files.exists(caKey)) {
      out.println("signing with the existing CA " + caPem);
      return CertificateAuthority.load(caPem, caKey, random);
    }
    if (Files.exists(caPem) || Files.exists(caKey)) { // never replace a cluster's CA by accident
      throw new IllegalArgumentException(dir + " holds " + (Files.exists(caPem) ? "ca.pem but not ca.key" : "ca.key but "
          + "not ca.pem") + ": put the CA's other file beside it to sign with it, or use another directory for a new CA");
    }
    CertificateAuthority ca = CertificateAuthority.create("LatticeKV cluster CA", random);
    ca.save(caPem, caKey);
    out.println("wrote " + caPem + " (keep " + caKey + " private: it signs members)");
    return ca;
  }

  /** DIR/nodeI.pem and DIR/nodeI.key for node {@code id}. */
  static void writeNode(CertificateAuthority ca, Path dir, int i, NodeId id, List<String> hosts, PrintWriter out)
      throws IOException {
    Path pem = dir.resolve("node" + i + ".pem");
    CertificateAuthority.save(ca.node(id, hosts), pem, dir.resolve("node" + i + ".key"));
    out.println("wrote " + pem + " for node " + id);
  }

  /** DIR/client.pem and DIR/client.key for {@code user}. */
  static void writeClient(CertificateAuthority ca, Path dir, String user, PrintWriter out) throws IOException {
    Path pem = dir.resolve("client.pem");
    CertificateAuthority.save(ca.client(user), pem, dir.resolve("client.key"));
    out.println("wrote " + pem + " for user " + user);
  }
}
