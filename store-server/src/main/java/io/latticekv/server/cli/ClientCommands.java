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
      return describe(key, Optional.of(new Value.Register(client.put(key, value))));
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
      return describe(key, Optional.of(new Value.Counter(client.increment(key, amount))));
    }
  }

  @Command(name = "decr", description = "Subtract N (default 1) from a counter; print the new value.")
  static final class Decr extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "N", defaultValue = "1") long amount;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Counter(client.decrement(key, amount))));
    }
  }

  @Command(name = "sadd", description = "Add elements to a set; print the set.")
  static final class Sadd extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "ELEM") List<String> elements = new ArrayList<>();

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Set(client.add(key, elements.toArray(new String[0])))));
    }
  }

  @Command(name = "srem", description = "Remove elements from a set; print the set.")
  static final class Srem extends ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "ELEM") List<String> elements = new ArrayList<>();

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return describe(key, Optional.of(new Value.Set(client.remove(key, elements.toArray(new String[0])))));
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
