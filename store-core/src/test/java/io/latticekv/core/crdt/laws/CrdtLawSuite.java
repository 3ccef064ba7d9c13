package io.latticekv.core.crdt.laws;

import io.latticekv.core.crdt.Crdt;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Runs every law of {@link CrdtLaws} as a test, for the model a subclass names. Examples per
 * property come from {@code -Dlaws.examples} (the build sets 1,000), the seed from {@code
 * -Dlaws.seed} (random otherwise, and printed).
 */
public abstract class CrdtLawSuite<S extends Crdt<S>, O> {

  static final int EXAMPLES = Integer.getInteger("laws.examples", 1000);
  static final long SEED = Long.getLong("laws.seed", System.nanoTime());

  static {
    System.out.println("CRDT law suite: " + EXAMPLES + " examples per property, seed " + SEED);
  }

  private final CrdtLaws<S, O> laws;

  protected CrdtLawSuite(CrdtModel<S, O> model) {
    this.laws = new CrdtLaws<>(model, EXAMPLES, SEED);
  }

  @Test
  @DisplayName("merge is commutative")
  void mergeIsCommutative() {
    laws.mergeIsCommutative();
  }

  @Test
  @DisplayName("merge is associative")
  void mergeIsAssociative() {
    laws.mergeIsAssociative();
  }

  @Test
  @DisplayName("merge is idempotent")
  void mergeIsIdempotent() {
    laws.mergeIsIdempotent();
  }

  @Test
  @DisplayName("a delta merged into a replica that saw its causal past equals the update")
  void deltaEquivalence() {
    laws.deltaEquivalence();
  }

  @Test
  @DisplayName("replicas converge to the reference value under loss, duplication and reordering")
  void convergence() {
    laws.convergence();
  }

  @Test
  @DisplayName("encoding round-trips to identical bytes")
  void encodingRoundTrips() {
    laws.encodingRoundTrips();
  }

  @Test
  @DisplayName("decoding random or corrupted bytes gives a value or a clear error")
  void decodingGarbageIsSafe() {
    laws.decodingGarbageIsSafe();
  }
}
