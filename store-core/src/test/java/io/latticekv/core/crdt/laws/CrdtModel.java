package io.latticekv.core.crdt.laws;

import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.Crdt;
import org.quicktheories.core.Gen;

/**
 * What the law suite needs to know about one CRDT type. A new type joins the suite by
 * implementing this, not by writing a suite of its own (after riak_dt's crdt_statem_eqc).
 *
 * @param <S> the state type
 * @param <O> the type's update operations, as generated test data
 */
public interface CrdtModel<S extends Crdt<S>, O> {

  /** Shown in test names: "PN-counter", "OR-Set", ... */
  String name();

  S empty();

  /** Random updates. */
  Gen<O> operations();

  /**
   * The delta-mutator of {@code op} at replica {@code at} of {@code world}; {@code now} is a fresh
   * timestamp of that replica's clock, for types that need one.
   */
  S delta(O op, int at, HlcTimestamp now, World<S> world);

  /** The full-state mutator: the state of replica {@code at} after {@code op}. */
  S apply(O op, int at, HlcTimestamp now, World<S> world);

  /** The join under test. The real one is {@code a.merge(b)}; self-tests plant broken ones. */
  default S merge(S a, S b) {
    return a.merge(b);
  }

  /** A fresh naive model of the value, fed with every update the run makes. */
  Reference<S, O> reference();

  /** The naive model: computes the expected value from the history of updates alone. */
  interface Reference<S extends Crdt<S>, O> {

    /**
     * Records one update, made at replica {@code at} whose state was {@code before}, producing
     * {@code delta}.
     */
    void record(O op, int at, S before, S delta, World<S> world);

    /** The value every replica must read once all updates have reached it. */
    Object expected();

    /** The value a state reads, in the form {@link #expected()} uses. */
    Object actual(S state);
  }
}
