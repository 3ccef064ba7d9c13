package io.latticekv.core.crdt.laws;

import static org.quicktheories.generators.SourceDSL.longs;

import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.PnCounter;
import org.quicktheories.core.Gen;

/** The PN-counter in the law suite: updates add a signed amount; the reference sums them. */
public class PnCounterModel implements CrdtModel<PnCounter, Long> {

  @Override
  public String name() {
    return "PN-counter";
  }

  @Override
  public PnCounter empty() {
    return PnCounter.empty();
  }

  @Override
  public Gen<Long> operations() {
    return longs().between(-1_000, 1_000);
  }

  @Override
  public PnCounter delta(Long amount, int at, HlcTimestamp now, World<PnCounter> world) {
    return world.state(at).addDelta(world.id(at), amount);
  }

  @Override
  public PnCounter apply(Long amount, int at, HlcTimestamp now, World<PnCounter> world) {
    return world.state(at).add(world.id(at), amount);
  }

  @Override
  public Reference<PnCounter, Long> reference() {
    return new Reference<>() {
      private long sum;

      @Override
      public void record(Long amount, int at, PnCounter before, PnCounter delta, World<PnCounter> world) {
        sum += amount;
      }

      @Override
      public Object expected() {
        return sum;
      }

      @Override
      public Object actual(PnCounter state) {
        return state.value();
      }
    };
  }
}
