package io.latticekv.core.crdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import com.google.protobuf.ByteString;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The OR-Set merge has a fast path for a small side (a delta into a large set) that visits only
 * the small side's elements; it must agree with the full walk whenever it answers at all. The law
 * suite's states are too small to reach it, so this test grows large sets at three replicas with
 * adds, removes, removes with another replica's context and partial syncs, then merges their
 * deltas — in order and out of it — into each replica's state both ways.
 */
class OrSetMergeTest {

  static final long SEED = Long.getLong("laws.seed", System.nanoTime());

  @Test
  void theSmallDeltaPathAgreesWithTheFullWalk() {
    System.out.println("OrSetMergeTest seed " + SEED);
    AtomicLong fast = new AtomicLong();
    AtomicLong tried = new AtomicLong();
    qt().withFixedSeed(SEED).withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      Random random = new Random(seed);
      NodeId[] ids = {NodeId.random(random), NodeId.random(random), NodeId.random(random)};
      OrSet[] states = {OrSet.empty(), OrSet.empty(), OrSet.empty()};
      List<OrSet> deltas = new ArrayList<>();
      int pool = 20 + random.nextInt(60);
      int steps = 50 + random.nextInt(250);
      for (int step = 0; step < steps; step++) {
        int at = random.nextInt(3);
        List<ByteString> some = List.of(element(random, pool), element(random, pool));
        OrSet delta;
        switch (random.nextInt(10)) {
          case 0, 1, 2, 3, 4, 5 -> delta = states[at].addAllDelta(ids[at], some.subList(0, 1 + random.nextInt(2)));
          case 6, 7 -> delta = states[at].removeAllDelta(some.subList(0, 1));
          case 8 -> delta = states[at].removeAllDelta(some.subList(0, 1), states[random.nextInt(3)].context());
          default -> {
            int from = random.nextInt(3);
            states[at] = states[at].merge(states[from]);
            continue;
          }
        }
        states[at] = states[at].merge(delta);
        deltas.add(delta);
      }
      for (OrSet state : states) {
        for (int k = 0; k < 20 && !deltas.isEmpty(); k++) {
          OrSet delta = deltas.get(random.nextInt(deltas.size()));
          tried.incrementAndGet();
          OrSet small = state.mergeSmall(delta);
          OrSet full = state.mergeByScan(delta);
          if (small != null) {
            fast.incrementAndGet();
            assertEquals(full, small, "seed " + seed + ": fast path disagrees merging " + delta + " into " + state);
          }
          assertEquals(full, state.merge(delta), "seed " + seed);
          assertEquals(full, delta.merge(state), "seed " + seed + ": merge is not commutative");
        }
      }
    });
    System.out.println("fast path answered " + fast + " of " + tried + " merges");
    assertTrue(fast.get() > tried.get() / 4, "the fast path ran too rarely to be tested: " + fast + " of " + tried);
  }

  private static ByteString element(Random random, int pool) {
    return ByteString.copyFromUtf8("e" + random.nextInt(pool));
  }

  @Test
  void aStateWithOneDotInTwoElementsIsRefused() {
    NodeId replica = new NodeId(1, 2);
    OrSet set = OrSet.empty().addAll(replica, List.of(ByteString.copyFromUtf8("a"), ByteString.copyFromUtf8("b")));
    OrSetState valid = set.toProto();
    OrSetElement first = valid.getElements(0);
    OrSetState forged = valid.toBuilder()
        .setElements(1, valid.getElements(1).toBuilder()
            .clearDotReplica().addAllDotReplica(first.getDotReplicaList())
            .clearDotCounter().addAllDotCounter(first.getDotCounterList()))
        .build();
    CrdtDecodeException e = assertThrows(CrdtDecodeException.class, () -> OrSet.fromProto(forged));
    assertTrue(e.getMessage().contains("two elements"), e.getMessage());
  }
}
