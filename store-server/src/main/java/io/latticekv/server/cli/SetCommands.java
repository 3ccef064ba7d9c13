package io.latticekv.server.cli;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.SetCursor;
import io.latticekv.client.SetPage;
import io.latticekv.client.SetWritten;
import io.latticekv.client.Value;
import io.latticekv.proto.SetUpdate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The set commands: updates that print the set while it is small, and reads of part of a set. */
final class SetCommands {

  private SetCommands() {}

  /** Sets up to this size are printed after an update; a larger one prints its size (read it with smembers). */
  static final int PRINTED_MAX = 1_000;

  /** An update, printed as the set after it while it has at most {@link #PRINTED_MAX} elements. */
  private static Map<String, Object> update(LatticeClient client, String key, SetUpdate update) {
    SetWritten written = client.updateSet(key, update, PRINTED_MAX);
    if (written.set().isPresent()) {
      return ClientCommands.describe(key, Optional.of(new Value.Set(written.set().get(), ClientCommands.NO_CONTEXT)));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("key", key);
    out.put("found", written.size() > 0);
    out.put("type", "set");
    out.put("size", written.size());
    return out;
  }

  private static String human(Map<String, Object> result) {
    if (result.containsKey("size") && !result.containsKey("elements")) {
      return result.get("size") + " elements (more than " + PRINTED_MAX + ": lattice smembers " + result.get("key")
          + " --limit N pages through them)";
    }
    return ClientCommands.humanValue(result);
  }

  private static SetUpdate.Builder elements(boolean add, List<String> elements) {
    SetUpdate.Builder update = SetUpdate.newBuilder();
    elements.forEach(e -> {
      if (add) {
        update.addAdd(com.google.protobuf.ByteString.copyFromUtf8(e));
      } else {
        update.addRemove(com.google.protobuf.ByteString.copyFromUtf8(e));
      }
    });
    return update;
  }

  /** sadd and srem: one update, printed as the set after it while the set is small. */
  abstract static class SetUpdateCommand extends ClientCommands.ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "ELEM") List<String> elements = new ArrayList<>();

    /** Whether the command adds its elements (else it removes them). */
    abstract boolean adds();

    @Override
    Map<String, Object> execute(LatticeClient client) {
      return update(client, key, elements(adds(), elements).build());
    }

    @Override
    String human(Map<String, Object> result) {
      return SetCommands.human(result);
    }
  }

  @Command(name = "sadd", description = "Add elements to a set; print the set (its size when it has over 1,000 elements).")
  static final class Sadd extends SetUpdateCommand {
    @Override
    boolean adds() {
      return true;
    }
  }

  @Command(name = "srem", description = "Remove elements from a set; print the set (its size when it has over 1,000 "
      + "elements).")
  static final class Srem extends SetUpdateCommand {
    @Override
    boolean adds() {
      return false;
    }
  }

  @Command(name = "smembers", description = "Print a set's elements in order, a page at a time: the first N with "
      + "--limit N (and the cursor of the next page), then the rest with --cursor C.")
  static final class Smembers extends ClientCommands.ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Option(names = "--limit", paramLabel = "N", description = "Elements to print at most; 0 (the default): all of "
        + "them, read 1,000 per request.") int limit;
    @Option(names = "--cursor", paramLabel = "C", description = "Start after the page that printed this cursor.")
    String cursor;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      SetCursor from = cursor == null ? SetCursor.START : new SetCursor(com.google.protobuf.ByteString.copyFrom(
          Base64.getUrlDecoder().decode(cursor)));
      List<String> elements = new ArrayList<>();
      long size = 0;
      Optional<SetCursor> next = Optional.of(from);
      // Bounded: each page moves past its last element, and --limit caps what is printed.
      while (next.isPresent() && (limit == 0 || elements.size() < limit)) {
        int page = limit == 0 ? 1_000 : Math.min(10_000, limit - elements.size());
        SetPage read = client.elements(key, next.get(), page);
        read.elements().forEach(e -> elements.add(ClientCommands.text(e)));
        size = read.size();
        next = read.elements().isEmpty() ? Optional.empty() : read.next();
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("key", key);
      out.put("size", size);
      out.put("elements", elements);
      next.ifPresent(c -> out.put("cursor", Base64.getUrlEncoder().withoutPadding().encodeToString(c.bytes().toByteArray())));
      return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    String human(Map<String, Object> result) {
      List<String> elements = (List<String>) result.get("elements");
      StringBuilder out = new StringBuilder(elements.isEmpty() ? "(empty set)" : String.join("\n", elements));
      if (result.containsKey("cursor")) {
        out.append("\n(").append(elements.size()).append(" of ").append(result.get("size"))
            .append("; the next page: --cursor ").append(result.get("cursor")).append(')');
      }
      return out.toString();
    }
  }

  @Command(name = "sismember", description = "Print 1 if the set holds the element, 0 if not.")
  static final class Sismember extends ClientCommands.ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "ELEM") String element;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("key", key);
      out.put("element", element);
      out.put("member", client.contains(key, element));
      return out;
    }

    @Override
    String human(Map<String, Object> result) {
      return Boolean.TRUE.equals(result.get("member")) ? "1" : "0";
    }
  }

  @Command(name = "scard", description = "Print how many elements a set holds.")
  static final class Scard extends ClientCommands.ClientCommand {
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    Map<String, Object> execute(LatticeClient client) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("key", key);
      out.put("size", client.size(key));
      return out;
    }

    @Override
    String human(Map<String, Object> result) {
      return String.valueOf(result.get("size"));
    }
  }
}
