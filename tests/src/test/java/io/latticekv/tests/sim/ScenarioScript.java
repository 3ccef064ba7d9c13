package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.membership.Member;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs a scenario written as readable lines (after etcd/raft's testdata files):
 *
 * <pre>
 * nodes 3                      cluster size (first line)
 * seed 7                       the simulator's seed
 * incr 0 hits 5                counter increment at node 0
 * add 1 tags                   add a fresh element to a set at node 1
 * assign 2 color blue          register assignment at node 2
 * crash 1 | restart 1          stop / restart a node (its replica survives)
 * backup 1 | restore 1         copy a node's replica / put the copy back (after settling)
 * partition 0 1 | 2            cut the network between groups
 * heal                         reconnect everyone
 * lossy 20                     lose 20 % of messages (and duplicate 10 %); lossy 0 ends it
 * run 500                      advance virtual time (ms)
 * stabilize                    stop faults, run until converged (fails if not within 2 min)
 * expect counter hits 8 everywhere | at 2
 * expect set-size tags 3 everywhere
 * expect register color blue everywhere
 * del 0 hits                   delete a key at node 0
 * expect type hits absent everywhere | counter | set | register
 * expect 0 sees 2 dead         a member's state as one node sees it
 * expect alive everywhere      everyone sees everyone alive
 * </pre>
 *
 * Blank lines and lines starting with # are ignored. Returns the lines it ran with the outcome of
 * each {@code stabilize} and {@code expect}; throws on the first failed expectation.
 */
final class ScenarioScript {

  private ScenarioScript() {}

  static List<String> run(List<String> lines) {
    Simulation sim = null;
    long seed = 1;
    int nodes = 3;
    List<String> log = new ArrayList<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] w = line.split("\\s+");
      if (w[0].equals("nodes")) {
        nodes = Integer.parseInt(w[1]);
        continue;
      }
      if (w[0].equals("seed")) {
        seed = Long.parseLong(w[1]);
        continue;
      }
      if (sim == null) {
        sim = new Simulation(seed, nodes, Bugs.NONE);
        sim.run(3_000); // let the cluster form
      }
      String outcome = step(sim, w);
      log.add(outcome == null ? line : line + "  -> " + outcome);
    }
    return log;
  }

  private static String step(Simulation sim, String[] w) {
    switch (w[0]) {
      case "incr" -> sim.increment(node(w[1]), w[2], Long.parseLong(w[3]));
      case "add" -> sim.add(node(w[1]), w[2]);
      case "assign" -> sim.assign(node(w[1]), w[2], w[3]);
      case "del" -> sim.delete(node(w[1]), w[2]);
      case "crash" -> sim.crash(node(w[1]));
      case "restart" -> sim.restart(node(w[1]));
      case "backup" -> sim.backup(node(w[1]));
      case "restore" -> {
        sim.quiesce(Simulation.SETTLE_MAX_MS);
        sim.restore(node(w[1]));
      }
      case "partition" -> {
        int[] groups = new int[sim.nodes.size()];
        Arrays.fill(groups, -1);
        int group = 0;
        for (int i = 1; i < w.length; i++) {
          if (w[i].equals("|")) {
            group++;
          } else {
            groups[node(w[i])] = group;
          }
        }
        for (int i = 0; i < groups.length; i++) {
          if (groups[i] < 0) {
            groups[i] = ++group; // unlisted nodes are alone
          }
        }
        sim.partitionGroups(groups);
      }
      case "heal" -> sim.heal();
      case "lossy" -> {
        sim.lossy(Integer.parseInt(w[1]) / 100.0, Integer.parseInt(w[1]) / 200.0);
      }
      case "run" -> sim.run(Long.parseLong(w[1]));
      case "stabilize" -> {
        long took = sim.quiesce(SimulationProperties.QUIESCE_MAX_MS);
        if (took < 0) {
          throw new AssertionError("did not converge: " + sim.divergence());
        }
        return "converged in " + took + " ms";
      }
      case "expect" -> {
        return expect(sim, w);
      }
      default -> throw new IllegalArgumentException("unknown scenario command: " + String.join(" ", w));
    }
    return null;
  }

  private static String expect(Simulation sim, String[] w) {
    if (w[1].equals("alive")) {
      for (io.latticekv.core.sim.SimCluster.Node a : sim.nodes) {
        for (io.latticekv.core.sim.SimCluster.Node b : sim.nodes) {
          Member m = a.membership().member(b.id);
          if (a != b && (m == null || !m.status().name().equals("ALIVE"))) {
            throw new AssertionError("node " + a.index + " sees node " + b.index + " as " + (m == null ? "unknown" : m.status()));
          }
        }
      }
      return "ok";
    }
    if (w.length >= 4 && w[2].equals("sees")) {
      io.latticekv.core.sim.SimCluster.Node a = sim.nodes.get(node(w[1]));
      Member m = a.membership().member(sim.nodes.get(node(w[3])).id);
      String actual = m == null ? "unknown" : m.status().name().toLowerCase();
      if (!actual.equals(w[4])) {
        throw new AssertionError("node " + w[1] + " sees node " + w[3] + " as " + actual + ", expected " + w[4]);
      }
      return "ok";
    }
    String kind = w[1];
    String key = w[2];
    String expected = w[3];
    List<io.latticekv.core.sim.SimCluster.Node> where = w[4].equals("everywhere") ? sim.nodes : List.of(sim.nodes.get(node(w[5])));
    for (io.latticekv.core.sim.SimCluster.Node n : where) {
      Lives state = n.replica.states().getOrDefault(ByteString.copyFromUtf8(key), Lives.empty());
      CrdtType type = state.visibleType().orElse(null);
      String actual = switch (kind) {
        case "counter" -> Long.toString(type == CrdtType.PN_COUNTER ? state.counterValue() : 0);
        case "set-size" -> Integer.toString(type == CrdtType.OR_SET ? state.elements().size() : 0);
        case "register" -> type == CrdtType.LWW_REGISTER ? state.register().value().toStringUtf8() : "(nil)";
        case "type" -> type == null ? "absent" : type.displayName();
        default -> throw new IllegalArgumentException("unknown expectation " + kind);
      };
      if (!actual.equals(expected)) {
        throw new AssertionError(kind + " " + key + " at node " + n.index + " is " + actual + ", expected " + expected);
      }
    }
    return "ok";
  }

  private static int node(String s) {
    return Integer.parseInt(s);
  }
}
