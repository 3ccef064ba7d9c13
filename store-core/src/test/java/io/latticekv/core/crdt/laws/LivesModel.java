package io.latticekv.core.crdt.laws;

import static org.quicktheories.generators.SourceDSL.integers;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.CausalContext;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.LifeId;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.crdt.TypeMismatch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * A whole key in the law suite: counter, set and register updates, deletes of what the replica
 * holds and deletes carrying another replica's read context — so keys die, come back as another
 * type, and have concurrent lives. An update of another type than the key reads as is refused
 * ({@link TypeMismatch}) and does nothing.
 *
 * <p>The reference computes the value from the history of updates alone, observed-remove style:
 * an increment counts unless a delete saw it (its replica's total after it is at or below a
 * delete's floor for that replica and life); an add counts unless a remove or delete saw its dot
 * (or a later add of the same element at the same life superseded it); a register write counts
 * unless a delete saw a timestamp at or after it, and then the latest counting write shows. A life
 * reads as something when anything in it counts; the key reads as its newest such life's type.
 */
public class LivesModel implements CrdtModel<Lives, LivesModel.Op> {

  static final List<ByteString> POOL = List.of(ByteString.copyFromUtf8("a"), ByteString.copyFromUtf8("b"));

  public enum Kind { INCREMENT, DECREMENT, ADD, REMOVE, ASSIGN, DELETE, DELETE_OBSERVED, REMOVE_OBSERVED }

  /** An update; {@code from} is the replica whose read supplied the context of the *_OBSERVED kinds. */
  public record Op(Kind kind, int element, int from) {
    @Override
    public String toString() {
      return kind + (kind == Kind.ADD || kind == Kind.REMOVE || kind == Kind.REMOVE_OBSERVED ? " " + element : "")
          + (kind.name().endsWith("OBSERVED") ? " as read at " + from : "");
    }
  }

  @Override
  public String name() {
    return "key (lives)";
  }

  @Override
  public Lives empty() {
    return Lives.empty();
  }

  @Override
  public Gen<Op> operations() {
    return Generate.enumValues(Kind.class).zip(integers().between(0, POOL.size() - 1), integers().between(0, 4),
        Op::new);
  }

  /** The update an op asks for, at replica {@code at}. */
  static CrdtUpdate update(Op op, int at, World<Lives> world) {
    ByteString element = POOL.get(op.element());
    return switch (op.kind()) {
      case INCREMENT -> new CrdtUpdate.CounterAdd(1 + at);
      case DECREMENT -> new CrdtUpdate.CounterAdd(-2);
      case ADD -> new CrdtUpdate.SetUpdate(List.of(element), List.of(), Optional.empty());
      case REMOVE -> new CrdtUpdate.SetUpdate(List.of(), List.of(element), Optional.empty());
      case REMOVE_OBSERVED -> new CrdtUpdate.SetUpdate(List.of(), List.of(element),
          Optional.of(world.state(op.from() % world.size()).context()));
      case ASSIGN -> new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("v" + at));
      case DELETE -> new CrdtUpdate.Delete(Optional.empty());
      case DELETE_OBSERVED -> new CrdtUpdate.Delete(Optional.of(world.state(op.from() % world.size()).context()));
    };
  }

  /**
   * The writer of replica {@code at}: its id and clock; the next life number is one above its own
   * lives in its state, which is deterministic (the delta-equivalence law computes one update twice)
   * and unique, since a replica's lives are in its state from the moment it creates them.
   */
  static CrdtUpdate.Writer writer(int at, HlcTimestamp now, World<Lives> world) {
    NodeId id = world.id(at);
    long seq = 0;
    for (Life life : world.state(at).lives()) {
      if (life.id().replica().equals(id)) {
        seq = Math.max(seq, life.id().seq());
      }
    }
    long next = seq + 1;
    return new CrdtUpdate.Writer(id, () -> now, 0, () -> next);
  }

  @Override
  public Lives delta(Op op, int at, HlcTimestamp now, World<Lives> world) {
    try {
      return update(op, at, world).delta(world.state(at), writer(at, now, world));
    } catch (TypeMismatch refused) {
      return Lives.empty();
    }
  }

  @Override
  public Lives apply(Op op, int at, HlcTimestamp now, World<Lives> world) {
    return world.state(at).merge(delta(op, at, now, world));
  }

  @Override
  public Reference<Lives, Op> reference() {
    return new KeyReference();
  }

  /** The causal-history reference described above. */
  static final class KeyReference implements Reference<Lives, Op> {

    private record LifeKey(LifeId life, NodeId replica) {}

    private record Increment(LifeId life, NodeId replica, boolean up, long totalAfter, long amount) {}

    private record Write(LifeId life, long ts, NodeId writer, ByteString value) {}

    private final Map<LifeId, CrdtType> types = new HashMap<>();
    private final Map<LifeId, Long> created = new HashMap<>();
    private final List<Increment> increments = new ArrayList<>();
    private final Map<LifeKey, long[]> counterFloors = new HashMap<>();
    private final Map<LifeId, Map<ByteString, Set<Dot>>> adds = new HashMap<>();
    private final Map<LifeId, Map<ByteString, Set<Dot>>> removed = new HashMap<>();
    private final List<Write> writes = new ArrayList<>();
    private final Map<LifeId, Long> registerFloors = new HashMap<>();

    @Override
    public void record(Op op, int at, Lives before, Lives delta, World<Lives> world) {
      for (Life life : delta.lives()) {
        types.putIfAbsent(life.id(), life.type());
        created.putIfAbsent(life.id(), life.created());
        LifeId id = life.id();
        switch (life.type()) {
          case PN_COUNTER -> {
            PnCounter d = (PnCounter) life.data();
            d.increments().forEach((r, total) -> increments.add(new Increment(id, r, true, total,
                total - before.life(id).map(l -> ((PnCounter) l.data()).incrementOf(r)).orElse(0L))));
            d.decrements().forEach((r, total) -> increments.add(new Increment(id, r, false, total,
                total - before.life(id).map(l -> ((PnCounter) l.data()).decrementOf(r)).orElse(0L))));
            PnCounter floor = life.counterFloor();
            for (NodeId r : floorReplicas(floor)) {
              long[] f = counterFloors.computeIfAbsent(new LifeKey(id, r), k -> new long[2]);
              f[0] = Math.max(f[0], floor.incrementOf(r));
              f[1] = Math.max(f[1], floor.decrementOf(r));
            }
          }
          case OR_SET -> {
            OrSet d = (OrSet) life.data();
            Map<ByteString, Set<Dot>> lifeAdds = adds.computeIfAbsent(id, k -> new HashMap<>());
            Map<ByteString, Set<Dot>> lifeRemoved = removed.computeIfAbsent(id, k -> new HashMap<>());
            for (ByteString element : d.elements()) {
              lifeAdds.computeIfAbsent(element, e -> new HashSet<>()).addAll(d.dotsOf(element));
            }
            // The delta's context beyond its own adds is what it removed (or an add superseded):
            // the dots of that life's elements the writing replica had seen. Every dot a remove
            // observes was made by an earlier add, so it is already recorded.
            for (ByteString element : POOL) {
              Set<Dot> known = new HashSet<>(lifeAdds.getOrDefault(element, Set.of()));
              for (Dot dot : known) {
                if (d.context().contains(dot) && !d.dotsOf(element).contains(dot)) {
                  lifeRemoved.computeIfAbsent(element, e -> new HashSet<>()).add(dot);
                }
              }
            }
            for (OrSet.Deferred deferred : d.deferredRemoves()) {
              for (ByteString element : deferred.elements()) {
                for (Dot dot : lifeAdds.getOrDefault(element, Set.of())) {
                  if (deferred.context().contains(dot)) {
                    lifeRemoved.computeIfAbsent(element, e -> new HashSet<>()).add(dot);
                  }
                }
              }
            }
          }
          case LWW_REGISTER -> {
            LwwRegister d = (LwwRegister) life.data();
            if (!d.isEmpty()) {
              writes.add(new Write(id, d.timestamp().packed(), d.writer(), d.value()));
            }
            if (life.registerFloor() != 0) {
              registerFloors.merge(id, life.registerFloor(), Math::max);
            }
          }
          default -> throw new AssertionError("a life of type key");
        }
      }
    }

    private static Set<NodeId> floorReplicas(PnCounter floor) {
      Set<NodeId> out = new HashSet<>(floor.increments().keySet());
      out.addAll(floor.decrements().keySet());
      return out;
    }

    private boolean counts(Increment i) {
      long[] f = counterFloors.getOrDefault(new LifeKey(i.life(), i.replica()), new long[2]);
      return i.totalAfter() > (i.up() ? f[0] : f[1]);
    }

    private boolean setDotCounts(LifeId life, ByteString element, Dot dot) {
      if (removed.getOrDefault(life, Map.of()).getOrDefault(element, Set.of()).contains(dot)) {
        return false;
      }
      return true;
    }

    private TreeSet<ByteString> elements(LifeId life) {
      TreeSet<ByteString> out = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
      adds.getOrDefault(life, Map.of()).forEach((element, dots) -> {
        for (Dot dot : dots) {
          if (setDotCounts(life, element, dot)) {
            out.add(element);
          }
        }
      });
      return out;
    }

    private Optional<Write> latest(LifeId life) {
      long floor = registerFloors.getOrDefault(life, 0L);
      Write best = null;
      for (Write w : writes) {
        if (w.life().equals(life) && Long.compareUnsigned(w.ts(), floor) > 0
            && (best == null || Long.compareUnsigned(w.ts(), best.ts()) > 0
                || (w.ts() == best.ts() && w.writer().compareTo(best.writer()) > 0))) {
          best = w;
        }
      }
      return Optional.ofNullable(best);
    }

    private boolean live(LifeId life) {
      return switch (types.get(life)) {
        case PN_COUNTER -> increments.stream().anyMatch(i -> i.life().equals(life) && counts(i));
        case OR_SET -> !elements(life).isEmpty();
        case LWW_REGISTER -> latest(life).isPresent();
        default -> false;
      };
    }

    @Override
    public Object expected() {
      LifeId newest = null;
      for (LifeId life : types.keySet()) {
        if (live(life) && (newest == null || Long.compareUnsigned(created.get(life), created.get(newest)) > 0
            || (created.get(life).equals(created.get(newest)) && life.compareTo(newest) > 0))) {
          newest = life;
        }
      }
      if (newest == null) {
        return "absent";
      }
      CrdtType type = types.get(newest);
      switch (type) {
        case PN_COUNTER -> {
          long sum = 0;
          for (Increment i : increments) {
            if (types.get(i.life()) == type && live(i.life()) && counts(i)) {
              sum += i.up() ? i.amount() : -i.amount();
            }
          }
          return "counter " + sum;
        }
        case OR_SET -> {
          TreeSet<ByteString> all = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
          for (LifeId life : types.keySet()) {
            if (types.get(life) == type) {
              all.addAll(elements(life));
            }
          }
          return "set " + all.stream().map(ByteString::toStringUtf8).toList();
        }
        default -> {
          Write best = null;
          for (LifeId life : types.keySet()) {
            Optional<Write> w = types.get(life) == type ? latest(life) : Optional.empty();
            if (w.isPresent() && (best == null || Long.compareUnsigned(w.get().ts(), best.ts()) > 0
                || (w.get().ts() == best.ts() && w.get().writer().compareTo(best.writer()) > 0))) {
              best = w.get();
            }
          }
          return "register " + best.value().toStringUtf8();
        }
      }
    }

    @Override
    public Object actual(Lives state) {
      Optional<CrdtType> type = state.visibleType();
      if (type.isEmpty()) {
        return "absent";
      }
      return switch (type.get()) {
        case PN_COUNTER -> "counter " + state.counterValue();
        case OR_SET -> "set " + state.elements().stream().map(ByteString::toStringUtf8).toList();
        default -> "register " + state.register().value().toStringUtf8();
      };
    }
  }
}
