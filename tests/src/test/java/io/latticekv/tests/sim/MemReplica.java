package io.latticekv.tests.sim;

import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.sim.SimReplica;
import java.util.List;

/** The simulator's in-memory replica, with the storage bugs a self-test may plant. */
final class MemReplica extends SimReplica {

  private final Bugs bugs;

  MemReplica(Bugs bugs) {
    this.bugs = bugs;
  }

  @Override
  protected Lives join(Lives a, Lives b) {
    Lives joined = a.merge(b);
    return bugs.setMergeDropsDots ? Bugs.dropSomeOneSidedDots(joined, a, b) : joined;
  }

  @Override
  protected Lives collect(Lives state, long atEpoch) {
    // planted bug: tombstones go two epochs early, before every member has seen them
    return state.collect(bugs.collectTooEarly ? atEpoch + 2 : atEpoch);
  }

  @Override
  protected Lives retire(Lives state, List<NodeId> named, CrdtUpdate.Writer writer) {
    Lives delta = super.retire(state, named, writer);
    return bugs.pruningLosesIncrements ? Bugs.withoutMovedValue(delta) : delta;
  }

  @Override
  protected boolean updatesTree(boolean fromPeer) {
    return !(fromPeer && bugs.peerMergesSkipMerkleTree); // planted bug: the tree misses what peers send
  }
}
