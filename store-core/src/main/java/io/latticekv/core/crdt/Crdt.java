package io.latticekv.core.crdt;

/**
 * A state-based CRDT: a value in a join-semilattice.
 *
 * <p>{@link #merge} is the join: commutative, associative and idempotent, so replicas that have
 * received the same states, in any order and any number of times, hold equal states. Every
 * update has a delta-mutator that returns a small state (the delta) such that merging it into any
 * replica that has seen the update's causal past has the same effect as the update itself
 * (Almeida et al., "Delta State Replicated Data Types", 2018). Rumors carry deltas; anti-entropy
 * carries whole states; both are just merges.
 *
 * <p>Implementations are immutable. Mutators take the writing replica's id explicitly and never
 * read a clock or a random source.
 *
 * @param <S> the implementing type, so that {@code merge} takes and returns its own kind
 */
public sealed interface Crdt<S extends Crdt<S>> permits PnCounter, OrSet, LwwRegister, Lives {

  CrdtType type();

  /** The join of this state and {@code other}. */
  S merge(S other);

  /** Whether this is the type's bottom element, the state of a key never written. */
  boolean isEmpty();

  /**
   * The canonical encoding: equal states give identical bytes. {@link CrdtCodec#decode} is its
   * inverse.
   */
  default byte[] encode() {
    return CrdtCodec.encode(this);
  }

  /** A 64-bit hash of the canonical encoding, for comparing replicas (Merkle leaves). */
  default long digest() {
    return CrdtCodec.digest(encode());
  }

  /**
   * Joins two states of unknown static type.
   *
   * @throws IllegalArgumentException when their types differ
   */
  static Crdt<?> join(Crdt<?> a, Crdt<?> b) {
    if (a instanceof PnCounter x && b instanceof PnCounter y) {
      return x.merge(y);
    }
    if (a instanceof OrSet x && b instanceof OrSet y) {
      return x.merge(y);
    }
    if (a instanceof LwwRegister x && b instanceof LwwRegister y) {
      return x.merge(y);
    }
    if (a instanceof Lives x && b instanceof Lives y) {
      return x.merge(y);
    }
    throw new IllegalArgumentException(
        "cannot merge a " + b.type().displayName() + " into a " + a.type().displayName());
  }
}
