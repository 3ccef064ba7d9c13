package io.latticekv.core.crdt.laws;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The laws every CRDT type must obey, as properties over generated histories. One instance checks
 * one model; {@link CrdtLawSuite} runs them as JUnit tests for every real type, and
 * {@code LawSuiteSelfTest} runs them against planted bugs to show they can fail.
 *
 * <p>Every property runs {@code examples} generated cases from a seed. A failure names the law,
 * the type and the seed, and QuickTheories shrinks the history to a small one before reporting.
 * Rerun one seed with {@code -Dlaws.seed=N}.
 */
public final class CrdtLaws<S extends Crdt<S>, O> {

  /** Longest generated history. Long enough for gaps, duplicates and deferred removes. */
  static final int MAX_STEPS = 60;

  private final CrdtModel<S, O> model;
  private final int examples;
  private final long seed;

  public CrdtLaws(CrdtModel<S, O> model, int examples, long seed) {
    this.model = model;
    this.examples = examples;
    this.seed = seed;
  }

  /** A law's name and its check. */
  public record Law(String name, Runnable check) {}

  public List<Law> all() {
    return List.of(
        new Law("merge is commutative", this::mergeIsCommutative),
        new Law("merge is associative", this::mergeIsAssociative),
        new Law("merge is idempotent", this::mergeIsIdempotent),
        new Law("a delta has the effect of its update", this::deltaEquivalence),
        new Law("replicas converge to the reference value", this::convergence),
        new Law("encoding round-trips canonically", this::encodingRoundTrips),
        new Law("decoding garbage gives a value or a clear error", this::decodingGarbageIsSafe));
  }

  /** A history and three picks among the states and deltas it produced. */
  record Case<O>(History<O> history, int i, int j, int k) {}

  private Gen<Case<O>> cases() {
    Gen<Integer> pick = integers().between(0, 1 << 20);
    return History.histories(model.operations(), MAX_STEPS).zip(pick, pick, pick, Case::new);
  }

  private S pick(List<S> states, int index) {
    return states.get(index % states.size());
  }

  void mergeIsCommutative() {
    check("merge is commutative", cases(), c -> {
      List<S> states = new Run<>(model, c.history()).seenStates();
      S a = pick(states, c.i());
      S b = pick(states, c.j());
      assertEquals(model.merge(a, b), model.merge(b, a), () -> "merge(a, b) != merge(b, a)\na = " + a + "\nb = " + b);
    });
  }

  void mergeIsAssociative() {
    check("merge is associative", cases(), c -> {
      List<S> states = new Run<>(model, c.history()).seenStates();
      S a = pick(states, c.i());
      S b = pick(states, c.j());
      S d = pick(states, c.k());
      assertEquals(
          model.merge(model.merge(a, b), d),
          model.merge(a, model.merge(b, d)),
          () -> "(a.b).c != a.(b.c)\na = " + a + "\nb = " + b + "\nc = " + d);
    });
  }

  void mergeIsIdempotent() {
    check("merge is idempotent", cases(), c -> {
      List<S> states = new Run<>(model, c.history()).seenStates();
      S a = pick(states, c.i());
      S b = pick(states, c.j());
      assertEquals(a, model.merge(a, a), () -> "merge(a, a) != a\na = " + a);
      S ab = model.merge(a, b);
      assertEquals(ab, model.merge(ab, b), () -> "merging b twice changed the result\na = " + a + "\nb = " + b);
    });
  }

  /**
   * Almeida et al. 2018, definition 2.1 and section 4: a delta-mutator's result, merged into the
   * replica that made it, equals the full mutator; merged into any replica that has seen that
   * replica's state (the update's causal past), it has the same effect as the full mutator's
   * result.
   */
  void deltaEquivalence() {
    check("a delta has the effect of its update", cases(), c -> new Run<>(model, c.history(),
        (op, at, now, before, delta, world, other) -> {
          S full = model.apply(op, at, now, world);
          assertEquals(full, model.merge(before, delta),
              () -> "delta of " + op + " differs from the update at its own replica\nbefore = " + before
                  + "\ndelta = " + delta);
          S later = model.merge(world.state(other), before);
          assertEquals(model.merge(later, full), model.merge(later, delta),
              () -> "delta of " + op + " differs from the update at a replica that saw its past\nthere = "
                  + later + "\ndelta = " + delta);
        }));
  }

  void convergence() {
    check("replicas converge to the reference value", cases(), c -> {
      Run<S, O> run = new Run<>(model, c.history());
      run.exchangeEverything();
      World<S> world = run.world();
      for (int i = 1; i < world.size(); i++) {
        int replica = i;
        assertEquals(world.state(0), world.state(i), () -> "replicas 0 and " + replica + " differ after a full exchange");
      }
      CrdtModel.Reference<S, O> reference = run.reference();
      assertEquals(reference.expected(), reference.actual(world.state(0)),
          () -> "converged value differs from the reference model; state = " + world.state(0));
    });
  }

  @SuppressWarnings("unchecked")
  void encodingRoundTrips() {
    check("encoding round-trips canonically", cases(), c -> {
      S state = pick(new Run<>(model, c.history()).seenStates(), c.i());
      byte[] bytes = state.encode();
      assertArrayEquals(CrdtCodec.toProto(state).toByteArray(), bytes,
          "the fast canonical encoder differs from protobuf's serialization");
      S decoded;
      try {
        decoded = (S) CrdtCodec.decode(bytes);
      } catch (CrdtDecodeException e) {
        throw new AssertionError("the encoding of " + state + " does not decode: " + e.getMessage(), e);
      }
      assertEquals(state, decoded);
      assertArrayEquals(bytes, decoded.encode(), "re-encoding gave other bytes");
      assertEquals(state.digest(), decoded.digest());
    });
  }

  /**
   * Random bytes and corrupted encodings either decode to a valid state (one that round-trips) or
   * fail with {@link CrdtDecodeException}; anything else — another exception, a hang — fails.
   */
  void decodingGarbageIsSafe() {
    Gen<Long> mutationSeeds = Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE);
    check("decoding garbage gives a value or a clear error",
        cases().zip(mutationSeeds, (c, m) -> new Object[] {c, m}),
        pair -> {
          @SuppressWarnings("unchecked")
          Case<O> c = (Case<O>) pair[0];
          Random random = new Random((Long) pair[1]);
          byte[] bytes = corrupt(pick(new Run<>(model, c.history()).seenStates(), c.i()).encode(), random);
          try {
            Crdt<?> decoded = CrdtCodec.decode(bytes);
            byte[] again = decoded.encode();
            assertEquals(decoded, CrdtCodec.decode(again), "an accepted state does not round-trip");
          } catch (CrdtDecodeException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "an error without a message");
          }
        });
  }

  private static byte[] corrupt(byte[] valid, Random random) {
    if (random.nextInt(4) == 0) {
      byte[] noise = new byte[random.nextInt(64)];
      random.nextBytes(noise);
      return noise;
    }
    byte[] bytes = valid.clone();
    int edits = 1 + random.nextInt(3);
    for (int e = 0; e < edits && bytes.length > 0; e++) {
      int at = random.nextInt(bytes.length);
      switch (random.nextInt(3)) {
        case 0 -> bytes[at] = (byte) random.nextInt(256);
        case 1 -> bytes = java.util.Arrays.copyOf(bytes, at);
        default -> {
          byte[] longer = new byte[bytes.length + 1];
          System.arraycopy(bytes, 0, longer, 0, at);
          longer[at] = (byte) random.nextInt(256);
          System.arraycopy(bytes, at, longer, at + 1, bytes.length - at);
          bytes = longer;
        }
      }
    }
    return bytes;
  }

  /** Runs one property; a failure is rethrown with the law, the type and the seed. */
  <T> void check(String law, Gen<T> cases, Consumer<T> property) {
    try {
      qt().withFixedSeed(seed).withExamples(examples).withShrinkCycles(200).forAll(cases).checkAssert(property);
    } catch (AssertionError failure) {
      throw new AssertionError(
          model.name() + ": law '" + law + "' failed with seed " + seed
              + " (rerun: -Dlaws.seed=" + seed + ")\n" + failure.getMessage(), failure);
    }
  }
}
