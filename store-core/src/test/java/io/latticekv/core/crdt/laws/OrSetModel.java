package io.latticekv.core.crdt.laws;

import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.CausalContext;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.OrSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The OR-Set in the law suite: adds, removes of what the replica has seen, and removes carrying
 * the context another replica's read returned. A small pool of elements (with the empty string and
 * a 0xFF byte, to exercise unsigned ordering) makes every element contended.
 */
public class OrSetModel implements CrdtModel<OrSet, OrSetModel.Op> {

  static final List<ByteString> POOL =
      List.of(
          ByteString.copyFromUtf8("a"),
          ByteString.copyFromUtf8("b"),
          ByteString.copyFromUtf8("c"),
          ByteString.EMPTY,
          ByteString.copyFrom(new byte[] {(byte) 0xFF}));

  public enum Kind { ADD, REMOVE, REMOVE_OBSERVED }

  /** An update: {@code from} is the replica whose read supplied the context of REMOVE_OBSERVED. */
  public record Op(Kind kind, List<ByteString> elements, int from) {
    @Override
    public String toString() {
      List<String> names = elements.stream().map(ByteString::toStringUtf8).toList();
      return kind == Kind.REMOVE_OBSERVED ? kind + " " + names + " as read at " + from : kind + " " + names;
    }
  }

  @Override
  public String name() {
    return "OR-Set";
  }

  @Override
  public OrSet empty() {
    return OrSet.empty();
  }

  @Override
  public Gen<Op> operations() {
    Gen<List<ByteString>> elements = lists().of(Generate.pick(POOL)).ofSizeBetween(1, 2);
    return Generate.enumValues(Kind.class).zip(elements, integers().between(0, 4), Op::new);
  }

  private static CausalContext observed(Op op, World<OrSet> world) {
    return world.state(op.from() % world.size()).context();
  }

  @Override
  public OrSet delta(Op op, int at, HlcTimestamp now, World<OrSet> world) {
    OrSet state = world.state(at);
    return switch (op.kind()) {
      case ADD -> state.addAllDelta(world.id(at), op.elements());
      case REMOVE -> state.removeAllDelta(op.elements());
      case REMOVE_OBSERVED -> state.removeAllDelta(op.elements(), observed(op, world));
    };
  }

  @Override
  public OrSet apply(Op op, int at, HlcTimestamp now, World<OrSet> world) {
    OrSet state = world.state(at);
    return switch (op.kind()) {
      case ADD -> state.addAll(world.id(at), op.elements());
      case REMOVE -> state.removeAll(op.elements());
      case REMOVE_OBSERVED -> state.removeAll(op.elements(), observed(op, world));
    };
  }

  /**
   * Add-wins from the causal history: an element is present iff some add of it was observed by
   * no remove. A remove observes the adds its replica (or its reader's context) had seen; an add
   * also observes, and so supersedes, the element's adds its replica had seen.
   */
  @Override
  public Reference<OrSet, Op> reference() {
    return new Reference<>() {
      private final Map<ByteString, Set<Dot>> adds = new HashMap<>();
      private final Map<ByteString, Set<Dot>> observedByRemoves = new HashMap<>();

      @Override
      public void record(Op op, int at, OrSet before, OrSet delta, World<OrSet> world) {
        for (ByteString element : op.elements()) {
          Set<Dot> observed = observedByRemoves.computeIfAbsent(element, e -> new HashSet<>());
          switch (op.kind()) {
            case ADD -> {
              observed.addAll(before.dotsOf(element));
              List<Dot> fresh = delta.dotsOf(element);
              if (fresh.size() != 1) {
                throw new AssertionError("an add must create exactly one dot, got " + fresh);
              }
              adds.computeIfAbsent(element, e -> new HashSet<>()).addAll(fresh);
            }
            case REMOVE -> observed.addAll(before.dotsOf(element));
            case REMOVE_OBSERVED -> {
              CausalContext context = observed(op, world);
              for (Dot dot : adds.getOrDefault(element, Set.of())) {
                if (context.contains(dot)) {
                  observed.add(dot);
                }
              }
            }
          }
        }
      }

      @Override
      public Object expected() {
        TreeSet<ByteString> present = new TreeSet<>(ByteString.unsignedLexicographicalComparator());
        adds.forEach(
            (element, dots) -> {
              Set<Dot> observed = observedByRemoves.getOrDefault(element, Set.of());
              if (!observed.containsAll(dots)) {
                present.add(element);
              }
            });
        return new ArrayList<>(present);
      }

      @Override
      public Object actual(OrSet state) {
        return new ArrayList<>(state.elements());
      }
    };
  }
}
