package io.latticekv.tests.sim;

import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.sim.SimReplica;

/** The simulator's in-memory replica, with the storage bugs a self-test may plant. */
final class MemReplica extends SimReplica {

  private final Bugs bugs;

  MemReplica(Bugs bugs) {
    this.bugs = bugs;
  }

  @Override
  protected Crdt<?> join(Crdt<?> a, Crdt<?> b) {
    Crdt<?> joined = Crdt.join(a, b);
    if (bugs.setMergeDropsDots && a instanceof OrSet x && b instanceof OrSet y) {
      return Bugs.dropSomeOneSidedDots((OrSet) joined, x, y);
    }
    return joined;
  }

  @Override
  protected boolean updatesTree(boolean fromPeer) {
    return !(fromPeer && bugs.peerMergesSkipMerkleTree); // planted bug: the tree misses what peers send
  }
}
