package io.latticekv.core.crdt.laws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("OR-Set laws")
class OrSetLawProperties extends CrdtLawSuite<OrSet, OrSetModel.Op> {

  OrSetLawProperties() {
    super(new OrSetModel());
  }

  /**
   * An upper bound on the canonical encoding of a converged set: a constant, a table entry and a
   * vector entry per replica, and per live element its bytes plus one dot per replica at most. It
   * does not depend on how many adds and removes the history made: no tombstones.
   */
  static long sizeBound(int liveElements, int maxElementBytes, int replicas) {
    long perReplica = 2 + NodeId.BYTES + 10;
    long perElement = 8 + maxElementBytes + (long) replicas * (1 + 10);
    return 16 + replicas * perReplica + liveElements * perElement;
  }

  @Test
  @DisplayName("after any add/remove history the encoded size is bounded by live elements and replicas")
  void noTombstones() {
    CrdtLaws<OrSet, OrSetModel.Op> laws = new CrdtLaws<>(new OrSetModel(), EXAMPLES, SEED);
    laws.check("no tombstones", History.histories(new OrSetModel().operations(), 200), history -> {
      Run<OrSet, OrSetModel.Op> run = new Run<>(new OrSetModel(), history);
      run.exchangeEverything();
      OrSet converged = run.world().state(0);
      assertTrue(converged.deferredRemoves().isEmpty(), "deferred removes outlived a full exchange");
      assertTrue(converged.context().cloud().isEmpty(), "the context kept gaps after a full exchange");
      long bound = sizeBound(converged.size(), 1, run.world().size());
      assertTrue(converged.encode().length <= bound,
          () -> converged.encode().length + " bytes > bound " + bound + " for " + converged);
    });
  }

  @Test
  @DisplayName("ten thousand add/remove cycles at three replicas leave the set as small as one cycle")
  void cyclesLeaveNoTrace() {
    Random random = new Random(7);
    List<NodeId> replicas = List.of(NodeId.random(random), NodeId.random(random), NodeId.random(random));
    ByteString element = ByteString.copyFromUtf8("x");
    OrSet[] states = {OrSet.empty(), OrSet.empty(), OrSet.empty()};
    int afterOneCycle = -1;
    for (int cycle = 0; cycle < 10_000; cycle++) {
      int at = cycle % 3;
      OrSet add = states[at].addAllDelta(replicas.get(at), List.of(element));
      OrSet remove = states[at].merge(add).removeAllDelta(List.of(element));
      for (int i = 0; i < 3; i++) {
        states[i] = states[i].merge(add).merge(remove);
      }
      if (cycle == 2) {
        afterOneCycle = states[0].encode().length;
      }
    }
    assertEquals(0, states[0].size());
    assertEquals(afterOneCycle, states[0].encode().length - growthOfCounters(states[0], replicas));
  }

  /** Bytes that the version vector's counters gained as varints (3 replicas, 10,000 cycles). */
  private static int growthOfCounters(OrSet state, List<NodeId> replicas) {
    int growth = 0;
    for (NodeId replica : replicas) {
      long counter = state.context().versionOf(replica);
      growth += varintSize(counter) - varintSize(1);
    }
    return growth;
  }

  private static int varintSize(long value) {
    int size = 1;
    while ((value >>>= 7) != 0) {
      size++;
    }
    return size;
  }
}
