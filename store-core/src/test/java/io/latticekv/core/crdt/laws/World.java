package io.latticekv.core.crdt.laws;

import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.clock.HybridLogicalClock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The replicas of one law-suite run: their ids, states and clocks, on one virtual physical clock.
 * Replica ids come from a seeded generator, so a run is a function of its inputs.
 */
public final class World<S extends Crdt<S>> {

  private final List<NodeId> ids = new ArrayList<>();
  private final List<S> states = new ArrayList<>();
  private final List<HybridLogicalClock> clocks = new ArrayList<>();
  private long nowMillis = 1_700_000_000_000L;

  public World(int replicas, S empty, long idSeed) {
    Random random = new Random(idSeed);
    for (int i = 0; i < replicas; i++) {
      ids.add(NodeId.random(random));
      states.add(empty);
      clocks.add(new HybridLogicalClock(() -> nowMillis, new HlcTimestamp(0)));
    }
  }

  public int size() {
    return ids.size();
  }

  public NodeId id(int replica) {
    return ids.get(replica);
  }

  public S state(int replica) {
    return states.get(replica);
  }

  public List<S> states() {
    return List.copyOf(states);
  }

  void setState(int replica, S state) {
    states.set(replica, state);
  }

  /** A fresh timestamp from replica {@code replica}'s hybrid logical clock. */
  public HlcTimestamp now(int replica) {
    return clocks.get(replica).now();
  }

  void advanceMillis(long millis) {
    nowMillis += millis;
  }
}
