package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.LifeId;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * What the acknowledged writes and deletes of a simulation add up to, op by op, with the causal
 * rule of observed-remove: a delete (or a set remove) takes out exactly the writes the state it was
 * made from had seen, and every write it had not seen survives it — "update wins". Each write is
 * remembered with the life it went to and its place there (a counter total, a set dot, a register
 * timestamp); a delete marks dead the writes the deleting node's state holds. Once the cluster has
 * settled, a key must read as the newest life among the surviving writes, with their value.
 *
 * <p>Pruning moves a retired replica id's increments to a live id: the oracle follows the folds it
 * sees in the replicas (a fold's mark says which totals went where), so an increment a state holds
 * only as part of a fold still counts as seen.
 */
final class Oracle {

  enum Kind { INCREMENT, ADD, ASSIGN }

  /** One acknowledged write. */
  static final class Op {
    final Kind kind;
    final LifeId life;
    final long created;
    final NodeId replica;
    final long total;
    final long amount;
    final ByteString element;
    final Dot dot;
    final long timestamp;
    final String value;
    boolean dead;

    Op(Kind kind, Life life, NodeId replica, long total, long amount, ByteString element, Dot dot, long timestamp,
        String value) {
      this.kind = kind;
      this.life = life.id();
      this.created = life.created();
      this.replica = replica;
      this.total = total;
      this.amount = amount;
      this.element = element;
      this.dot = dot;
      this.timestamp = timestamp;
      this.value = value;
    }

    CrdtType type() {
      return switch (kind) {
        case INCREMENT -> CrdtType.PN_COUNTER;
        case ADD -> CrdtType.OR_SET;
        case ASSIGN -> CrdtType.LWW_REGISTER;
      };
    }
  }

  private final Map<String, List<Op>> ops = new LinkedHashMap<>();
  /** Per counter, the sum of increments acknowledged at w=quorum by a node that counted every replica. */
  final Map<String, Long> quorumAcked = new HashMap<>();
  /** Keys deleted or written with another type: quorum reads of them are not checked. */
  private final Set<String> rewritten = new HashSet<>();
  /**
   * Per register life, the latest timestamp a delete saw in it: an assignment to that life stamped
   * no later is covered by the delete even when it came after it, unseen. Last-writer-wins decides
   * between a delete and a concurrent assignment by their timestamps, as between two assignments
   * (with clocks apart by up to the drift bound, the later one in real time can lose).
   */
  private final Map<String, Map<LifeId, Long>> registerFloors = new HashMap<>();
  /** Every fold seen in a replica: key -> life -> retired id -> its marks. */
  private final Map<String, Map<LifeId, Map<NodeId, Set<Life.Mark>>>> folds = new HashMap<>();

  boolean rewritten(String key) {
    return rewritten.contains(key);
  }

  private void record(String key, Op op) {
    List<Op> list = ops.computeIfAbsent(key, k -> new ArrayList<>());
    if (!list.isEmpty() && list.get(0).type() != op.type()) {
      rewritten.add(key);
    }
    list.add(op);
  }

  private static Life only(Lives delta) {
    if (delta.lives().size() != 1) {
      throw new AssertionError("an update's delta names one life, this one " + delta);
    }
    return delta.lives().get(0);
  }

  void increment(String key, Lives delta, NodeId replica, long amount) {
    Life life = only(delta);
    long total = ((PnCounter) life.data()).incrementOf(replica);
    record(key, new Op(Kind.INCREMENT, life, replica, total, amount, null, null, 0, null));
  }

  void add(String key, Lives delta, ByteString element) {
    Life life = only(delta);
    Dot dot = ((OrSet) life.data()).dotsOf(element).get(0);
    record(key, new Op(Kind.ADD, life, dot.replica(), 0, 0, element, dot, 0, null));
  }

  void assign(String key, Lives delta, String value) {
    Life life = only(delta);
    LwwRegister register = (LwwRegister) life.data();
    Op op = new Op(Kind.ASSIGN, life, register.writer(), 0, 0, null, null, register.timestamp().packed(), value);
    Long floor = registerFloors.getOrDefault(key, Map.of()).get(life.id());
    if (floor != null && Long.compareUnsigned(floor, op.timestamp) >= 0) {
      op.dead = true; // stamped before what a delete of this life saw: the delete is the later write
    }
    record(key, op);
  }

  /** A remove of {@code element} made from state {@code seen}: the adds of it that state holds go. */
  void remove(String key, ByteString element, Lives seen) {
    for (Op op : ops.getOrDefault(key, List.of())) {
      if (op.kind == Kind.ADD && op.element.equals(element) && !op.dead && seen(key, op, seen)) {
        op.dead = true;
      }
    }
  }

  /** A delete made from state {@code seen}: every write that state holds goes. */
  void delete(String key, Lives seen) {
    rewritten.add(key);
    for (Life life : seen.lives()) {
      if (life.type() == CrdtType.LWW_REGISTER && !((LwwRegister) life.data()).isEmpty()) {
        registerFloors.computeIfAbsent(key, k -> new HashMap<>()).merge(life.id(),
            ((LwwRegister) life.data()).timestamp().packed(), (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
      }
    }
    for (Op op : ops.getOrDefault(key, List.of())) {
      if (!op.dead && seen(key, op, seen)) {
        op.dead = true;
      }
    }
  }

  /** Remembers the folds {@code state} shows, before their marks go. */
  void observe(String key, Lives state) {
    for (Life life : state.lives()) {
      if (life.type() == CrdtType.PN_COUNTER && !life.retired().isEmpty()) {
        Map<NodeId, Set<Life.Mark>> byId = folds.computeIfAbsent(key, k -> new HashMap<>())
            .computeIfAbsent(life.id(), k -> new HashMap<>());
        life.retired().forEach((id, mark) -> byId.computeIfAbsent(id, k -> new HashSet<>()).add(mark));
      }
    }
  }

  private boolean seen(String key, Op op, Lives state) {
    Optional<Life> life = state.life(op.life);
    if (life.isEmpty()) {
      return false;
    }
    return switch (op.kind) {
      case INCREMENT -> seenTotal(key, life.get(), op.replica, op.total, 0);
      case ADD -> ((OrSet) life.get().data()).context().contains(op.dot);
      case ASSIGN -> {
        LwwRegister register = (LwwRegister) life.get().data();
        yield !register.isEmpty() && Long.compareUnsigned(register.timestamp().packed(), op.timestamp) >= 0;
      }
    };
  }

  /** Whether the life holds replica {@code x}'s increments up to {@code total}: in x's entry, or moved by a fold. */
  private boolean seenTotal(String key, Life life, NodeId x, long total, int depth) {
    if (((PnCounter) life.data()).incrementOf(x) >= total) {
      return true;
    }
    if (depth > 8) {
      return false;
    }
    Set<Life.Mark> marks = folds.getOrDefault(key, Map.of()).getOrDefault(life.id(), Map.of()).getOrDefault(x, Set.of());
    for (Life.Mark m : marks) {
      if (m.sawP() < total && total <= m.topP()
          && seenTotal(key, life, m.adopter(), m.fromP() + (total - m.sawP()), depth + 1)) {
        return true;
      }
    }
    return false;
  }

  /** Where the settled state of each key differs from what its surviving writes add up to. */
  List<String> check(Function<String, Lives> stateOf) {
    List<String> out = new ArrayList<>();
    ops.forEach((key, list) -> {
      Lives state = stateOf.apply(key);
      List<Op> alive = list.stream().filter(op -> !op.dead).toList();
      if (alive.isEmpty()) {
        if (state.visibleType().isPresent()) {
          out.add(key + " reads as " + describe(state) + ", but every write to it was deleted");
        }
        return;
      }
      Op newest = alive.get(0);
      for (Op op : alive) {
        int byTime = Long.compareUnsigned(op.created, newest.created);
        if (byTime > 0 || (byTime == 0 && op.life.compareTo(newest.life) > 0)) {
          newest = op;
        }
      }
      CrdtType type = newest.type();
      List<Op> shown = alive.stream().filter(op -> op.type() == type).toList();
      String expected = switch (type) {
        case PN_COUNTER -> "counter " + shown.stream().mapToLong(op -> op.amount).sum();
        case OR_SET -> {
          TreeSet<String> elements = new TreeSet<>();
          shown.forEach(op -> elements.add(op.element.toStringUtf8()));
          yield "set " + elements;
        }
        default -> {
          Op latest = shown.get(0);
          for (Op op : shown) {
            int byTime = Long.compareUnsigned(op.timestamp, latest.timestamp);
            if (byTime > 0 || (byTime == 0 && op.replica.compareTo(latest.replica) > 0)) {
              latest = op;
            }
          }
          yield "register " + latest.value;
        }
      };
      String actual = describe(state);
      if (!expected.equals(actual)) {
        out.add(key + " reads as " + actual + ", but its surviving writes add up to " + expected);
      }
    });
    return out;
  }

  private static String describe(Lives state) {
    Optional<CrdtType> type = state.visibleType();
    if (type.isEmpty()) {
      return "absent";
    }
    return switch (type.get()) {
      case PN_COUNTER -> "counter " + state.counterValue();
      case OR_SET -> {
        TreeSet<String> elements = new TreeSet<>();
        state.elements().forEach(e -> elements.add(e.toStringUtf8()));
        yield "set " + elements;
      }
      default -> "register " + state.register().value().toStringUtf8();
    };
  }
}
