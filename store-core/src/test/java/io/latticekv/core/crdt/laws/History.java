package io.latticekv.core.crdt.laws;

import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.List;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * A generated run: how many replicas, the seed of their ids, and the steps — updates at
 * replicas, and a network that delivers, duplicates, reorders and drops deltas and whole states.
 * Message and replica indexes are taken modulo what exists when the step runs, so every
 * generated (and every shrunk) history is valid.
 */
public record History<O>(int replicas, long idSeed, List<Step<O>> steps) {

  public enum Kind {
    /** Update {@code op} at replica {@code a}; its delta is sent to every other replica. */
    UPDATE,
    /** Deliver in-flight message {@code a}. Messages are picked at random: reordering. */
    DELIVER,
    /** Deliver message {@code a} and keep it in flight: it will arrive again. */
    DUPLICATE,
    /** Lose message {@code a}. */
    DROP,
    /** Replica {@code a} sends its whole state to replica {@code b} (anti-entropy). */
    SEND_STATE,
    /** Advance physical time by {@code a} milliseconds (0 makes clock ties likely). */
    TICK
  }

  public record Step<O>(Kind kind, int a, int b, O op) {
    @Override
    public String toString() {
      return switch (kind) {
        case UPDATE -> "update@" + a + " " + op;
        case SEND_STATE -> "state " + a + "->" + b;
        default -> kind.name().toLowerCase() + " " + a;
      };
    }
  }

  /** Histories of 3 to 5 replicas and up to {@code maxSteps} steps. */
  public static <O> Gen<History<O>> histories(Gen<O> operations, int maxSteps) {
    Gen<Integer> any = integers().between(0, 1 << 16);
    Gen<Step<O>> update =
        integers().between(0, 4).zip(operations, (at, op) -> new Step<>(Kind.UPDATE, at, 0, op));
    Gen<Step<O>> steps =
        Generate.frequency(
            List.of(
                Pair.of(6, update),
                Pair.of(5, any.map(i -> new Step<O>(Kind.DELIVER, i, 0, null))),
                Pair.of(1, any.map(i -> new Step<O>(Kind.DUPLICATE, i, 0, null))),
                Pair.of(1, any.map(i -> new Step<O>(Kind.DROP, i, 0, null))),
                Pair.of(
                    1,
                    integers().between(0, 4).zip(
                        integers().between(0, 4), (a, b) -> new Step<O>(Kind.SEND_STATE, a, b, null))),
                Pair.of(1, integers().between(0, 3).map(ms -> new Step<O>(Kind.TICK, ms, 0, null)))));
    return integers().between(3, 5).zip(
        longs().all(), lists().of(steps).ofSizeBetween(1, maxSteps), History::new);
  }

  @Override
  public String toString() {
    return replicas + " replicas (id seed " + idSeed + "): " + steps;
  }
}
