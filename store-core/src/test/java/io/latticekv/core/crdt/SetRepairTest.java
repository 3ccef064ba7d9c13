package io.latticekv.core.crdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Element-level repair of sets: a part over the buckets where two replicas differ, cut against
 * the receiver's bucket hashes, joins into the receiver exactly as the sender's whole state would
 * — also when the receiver took writes of its own after its hashes were taken.
 */
class SetRepairTest {

  static final long SEED = Long.getLong("laws.seed", System.nanoTime());

  private static ByteString element(Random random, int pool) {
    return ByteString.copyFromUtf8("e" + random.nextInt(pool));
  }

  /** Adds, removes and syncs at three replicas of one set. */
  private static OrSet[] histories(Random random, NodeId[] ids, int steps, int pool) {
    OrSet[] states = {OrSet.empty(), OrSet.empty(), OrSet.empty()};
    for (int step = 0; step < steps; step++) {
      int at = random.nextInt(3);
      switch (random.nextInt(10)) {
        case 0, 1, 2, 3, 4, 5 -> states[at] = states[at].merge(states[at].addAllDelta(ids[at],
            List.of(element(random, pool), element(random, pool))));
        case 6, 7 -> states[at] = states[at].merge(states[at].removeAllDelta(List.of(element(random, pool))));
        default -> states[at] = states[at].merge(states[random.nextInt(3)]);
      }
    }
    return states;
  }

  /** A few more writes at one replica, as it would take them between its hashes and a part's arrival. */
  private static OrSet moreWrites(Random random, NodeId id, OrSet state, int pool) {
    for (int i = random.nextInt(6); i > 0; i--) {
      state = random.nextBoolean()
          ? state.merge(state.addAllDelta(id, List.of(element(random, pool))))
          : state.merge(state.removeAllDelta(List.of(element(random, pool))));
    }
    return state;
  }

  /**
   * The same histories as lives of one set that also take tomb epochs (a remove at a later
   * cluster epoch) and retired marks, which parts carry and joins join.
   */
  private static Life[] lifeHistories(Random random, NodeId[] ids, int steps, int pool) {
    Life base = Life.create(new LifeId(ids[0], 1), 7, CrdtType.OR_SET);
    Life[] lives = {base, base, base};
    for (int step = 0; step < steps; step++) {
      int at = random.nextInt(3);
      OrSet set = (OrSet) lives[at].data();
      switch (random.nextInt(12)) {
        case 0, 1, 2, 3, 4, 5 -> lives[at] = lives[at].withData(set.merge(set.addAllDelta(ids[at],
            List.of(element(random, pool), element(random, pool)))));
        case 6, 7 -> lives[at] = lives[at].withData(set.merge(set.removeAllDelta(List.of(element(random, pool)))))
            .withTombEpoch(random.nextInt(4));
        case 8 -> lives[at] = lives[at].withMark(ids[random.nextInt(3)], Life.Mark.of(random.nextInt(4), ids[at]));
        default -> lives[at] = lives[at].merge(lives[random.nextInt(3)]);
      }
    }
    return lives;
  }

  @Test
  void aPartOfASetWithTombEpochsAndMarksJoinsAsTheWholeState() {
    qt().withFixedSeed(SEED).withExamples(200).forAll(longs().all()).checkAssert(seed -> {
      Random random = new Random(seed);
      NodeId[] ids = {NodeId.random(random), NodeId.random(random), NodeId.random(random)};
      int pool = 50 + random.nextInt(300);
      Life[] lives = lifeHistories(random, ids, 100 + random.nextInt(400), pool);
      int count = 16;
      for (int r = 0; r < 3; r++) {
        for (int s = 0; s < 3; s++) {
          Lives receiver = Lives.of(lives[r]);
          Lives sender = Lives.of(lives[s]);
          assertTrue(SetRepair.shape(receiver).isPresent(), "a set with tomb epochs and marks takes part");
          int[] buckets = SetRepair.differing(SetRepair.hashes(receiver, count), SetRepair.hashes(sender, count));
          Lives part = SetRepair.part(sender, count, buckets);
          Optional<Lives> joined = SetRepair.join(receiver, part, count, buckets);
          assertEquals(Optional.of(Lives.of(lives[r].merge(lives[s]))), joined,
              "replica " + r + " joining replica " + s + "'s part over buckets " + java.util.Arrays.toString(buckets));
        }
      }
    });
  }

  @Test
  void aPartOverTheDifferingBucketsJoinsAsTheWholeState() {
    System.out.println("SetRepairTest seed " + SEED);
    int[] shipped = new int[2];
    qt().withFixedSeed(SEED).withExamples(300).forAll(longs().all()).checkAssert(seed -> {
      Random random = new Random(seed);
      NodeId[] ids = {NodeId.random(random), NodeId.random(random), NodeId.random(random)};
      int pool = 50 + random.nextInt(400);
      OrSet[] states = histories(random, ids, 100 + random.nextInt(600), pool);
      int count = random.nextBoolean() ? 16 : 64;
      for (int r = 0; r < 3; r++) {
        for (int s = 0; s < 3; s++) {
          Lives receiver = Lives.of(states[r]);
          Lives sender = Lives.of(states[s]);
          int[] buckets = SetRepair.differing(SetRepair.hashes(receiver, count), SetRepair.hashes(sender, count));
          Lives part = SetRepair.part(sender, count, buckets);
          shipped[0] += part.elements().size();
          shipped[1] += states[s].size();
          OrSet later = moreWrites(random, ids[r], states[r], pool);
          Optional<Lives> joined = SetRepair.join(Lives.of(later), part, count, buckets);
          assertEquals(Optional.of(Lives.of(later.merge(states[s]))), joined,
              "replica " + r + " joining replica " + s + "'s part over buckets " + java.util.Arrays.toString(buckets));
        }
      }
    });
    System.out.printf("parts carried %,d of the senders' %,d elements%n", shipped[0], shipped[1]);
    assertTrue(shipped[0] < shipped[1], "parts never left anything out: the test shows nothing");
  }

  @Test
  void onlyPlainSetsOfTheSameLifeTakePart() {
    Random random = new Random(1);
    NodeId a = NodeId.random(random);
    OrSet set = OrSet.empty();
    for (int i = 0; i < SetRepair.ELEMENTS_MIN; i++) {
      set = set.merge(set.addAllDelta(a, List.of(ByteString.copyFromUtf8("e" + i))));
    }
    assertTrue(SetRepair.large(Lives.of(set)));
    assertTrue(SetRepair.shape(Lives.of(PnCounter.empty().addDelta(a, 1))).isEmpty());
    OrSet deferred = set.merge(set.removeAllDelta(List.of(ByteString.copyFromUtf8("e1")),
        CausalContext.ofDots(List.of(new Dot(NodeId.random(random), 5)))));
    assertTrue(SetRepair.shape(Lives.of(deferred)).isEmpty(), "a deferred remove may name any bucket's element");
    int[] all = new int[16];
    for (int b = 0; b < 16; b++) {
      all[b] = b;
    }
    Lives counter = Lives.of(PnCounter.empty().addDelta(a, 1));
    assertTrue(SetRepair.join(counter, SetRepair.part(Lives.of(set), 16, all), 16, all).isEmpty());
    assertTrue(SetRepair.join(Lives.of(set), SetRepair.part(Lives.of(set), 16, new int[] {3}), 16, new int[] {4})
        .isEmpty(), "a part with elements outside the buckets it names is refused");
    assertEquals(16, SetRepair.bucketsFor(100));
    assertEquals(2_048, SetRepair.bucketsFor(1_000_000));
    assertEquals(4_096, SetRepair.bucketsFor(10_000_000));
  }
}
