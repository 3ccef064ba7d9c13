package io.latticekv.server.cli;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.client.RegisterValue;
import io.latticekv.client.SetValue;
import io.latticekv.client.Value;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** The commands that talk to a node: one request each, one result printed. */
final class ClientCommands {

  private ClientCommands() {}

  /** The context of a value a write returned: the CLI never sends it back. */
  static final io.latticekv.client.ReadContext NO_CONTEXT = new io.latticekv.client.ReadContext(ByteString.EMPTY);

  /** Connects as the root options say, runs one request, prints its result. */
  abstract static class ClientCommand implements Callable<Integer> {

    @ParentCommand Lattice root;

    @Override
    public Integer call() {
      try (LatticeClient client = root.client()) {
        Map<String, Object> result = execute(client);
        root.spec.commandLine().getOut().println(root.json ? Json.write(result) : human(result));
        return ExitCode.OK;
      }
    }

    /** Runs the request; returns the result as the JSON object it prints with --json. */
    abstract Map<String, Object> execute(LatticeClient client);

    /** The result as a person reads it. */
    String human(Map<String, Object> result) {
      return humanValue(result);
    }
  }

  @Command(name = "get", description = "Print the value of a key: a counter, a set's elements, or a register.")
  static final class Get extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, client.get(key));
    }
  }

  @Command(name = "put", description = "Assign a register.")
  static final class Put extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "VALUE") String value;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Register(client.put(key, value), NO_CONTEXT)));
    }

    @Override
    String human(Map<String, Object> result) {
      return "OK";
    }
  }

  @Command(name = "incr", description = "Add N (default 1) to a counter; print the new value.")
  static final class Incr extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "N", defaultValue = "1") long amount;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Counter(client.increment(key, amount), NO_CONTEXT)));
    }
  }

  @Command(name = "decr", description = "Subtract N (default 1) from a counter; print the new value.")
  static final class Decr extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "N", defaultValue = "1") long amount;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Counter(client.decrement(key, amount), NO_CONTEXT)));
    }
  }

  @Command(name = "del", description = "Delete keys, as the node holds them; print how many there were.")
  static final class Del extends ClientCommand {
    @Parameters(index = "0..*", arity = "1..*", paramLabel = "KEY") List<String> keys = new ArrayList<>();

    @Override
    Map<String, Object> execute(LatticeClient client) {
      List<String> deleted = new ArrayList<>();
      for (String key : keys) {
        if (client.delete(key)) {
          deleted.add(key);
        }
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("deleted", deleted.size());
      out.put("keys", deleted);
      return out;
    }

    @Override
    String human(Map<String, Object> result) {
      return String.valueOf(result.get("deleted"));
    }
  }

  @Command(name = "remove-member", description = "Remove a dead or stopped member for good (admin): it no longer "
      + "counts for quorum or all, its connections are refused, and its replica ids are pruned (docs/lifecycle.md).")
  static final class RemoveMember extends ClientCommand {
    @Parameters(index = "0", paramLabel = "NODE_ID", description = "The member's id, as lattice members shows it.")
    String nodeId;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("removed", nodeId);
      out.put("detail", client.removeMember(nodeId));
      return out;
    }

    @Override
    String human(Map<String, Object> result) {
      return String.valueOf(result.get("detail"));
    }
  }

  @Command(name = "decommission", description = "Take the node this command talks to out of the cluster for good "
      + "(admin): it stops taking writes, waits until a peer holds everything it holds, leaves, and stops.")
  static final class Decommission extends ClientCommand {
    @picocli.CommandLine.Option(names = "--wait-max-s", paramLabel = "S", defaultValue = "600",
        description = "Give up waiting for the hand-over after this long; the node goes on trying (default: ${DEFAULT-VALUE}).")
    long waitMaxSeconds;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      java.util.concurrent.CompletableFuture<String> done = client.decommissionAsync();
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(waitMaxSeconds);
      String last = "";
      while (true) {
        try {
          String detail = done.get(2, java.util.concurrent.TimeUnit.SECONDS);
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("decommissioned", true);
          out.put("detail", detail);
          return out;
        } catch (java.util.concurrent.TimeoutException waiting) {
          if (System.nanoTime() > deadline) {
            throw new io.latticekv.client.LatticeTimeoutException("the hand-over took longer than " + waitMaxSeconds
                + " s; the node goes on with it (lattice status shows where it is)");
          }
          String state = progress(client);
          if (!state.equals(last)) {
            System.err.println("decommission: " + state);
            last = state;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new io.latticekv.client.LatticeException(io.latticekv.proto.ErrorCode.INTERNAL, "interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof RuntimeException r ? r
              : new io.latticekv.client.LatticeException(io.latticekv.proto.ErrorCode.INTERNAL, String.valueOf(e.getCause()));
        }
      }
    }

    private static String progress(LatticeClient client) {
      try {
        return client.statusAsync().get(2, java.util.concurrent.TimeUnit.SECONDS).getLifecycle().getDecommission();
      } catch (Exception e) {
        return "no status: " + e.getMessage();
      }
    }

    @Override
    String human(Map<String, Object> result) {
      return String.valueOf(result.get("detail"));
    }
  }

  @Command(name = "inspect", description = "Print a key's raw state as this node holds it: its lives, their "
      + "replica entries, floors and tombstones (JSON).")
  static final class Inspect extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return Inspection.describe(key, client.inspect(key));
    }

    @Override
    String human(Map<String, Object> result) {
      return Json.write(result);
    }
  }

  /** A value as the JSON object printed with --json. */
  static Map<String, Object> describe(String key, Optional<Value> value) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("key", key);
    if (value.isEmpty()) {
      out.put("found", false);
      return out;
    }
    out.put("found", true);
    Value v = value.get();
    if (v instanceof Value.Counter c) {
      out.put("type", "counter");
      out.put("value", c.value());
    } else if (v instanceof Value.Set s) {
      SetValue set = s.value();
      out.put("type", "set");
      out.put("elements", set.elements().stream().map(ClientCommands::text).toList());
      out.put("context", Base64.getEncoder().encodeToString(set.context().bytes().toByteArray()));
    } else if (v instanceof Value.Register r) {
      RegisterValue register = r.value();
      out.put("type", "register");
      out.put("value", text(register.value()));
      out.put("timestamp", register.timestamp());
      out.put("writer", register.writer());
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static String humanValue(Map<String, Object> result) {
    if (Boolean.FALSE.equals(result.get("found"))) {
      return "(nil)";
    }
    Object type = result.get("type");
    if ("set".equals(type)) {
      List<String> elements = (List<String>) result.get("elements");
      return elements.isEmpty() ? "(empty set)" : String.join("\n", elements);
    }
    return String.valueOf(result.get("value"));
  }

  /** Bytes as UTF-8 text when they are, as 0x-hex otherwise. */
  static String text(ByteString bytes) {
    if (bytes.isValidUtf8()) {
      return bytes.toStringUtf8();
    }
    StringBuilder hex = new StringBuilder("0x");
    for (int i = 0; i < bytes.size(); i++) {
      hex.append(String.format("%02x", bytes.byteAt(i)));
    }
    return hex.toString();
  }
}
