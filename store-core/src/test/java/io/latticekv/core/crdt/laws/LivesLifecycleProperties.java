package io.latticekv.core.crdt.laws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.quicktheories.generators.SourceDSL.integers;

import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The lifecycle's transformations of a key state — collection of tombstones, pruning of a retired
 * replica id — as properties over the law suite's generated histories (docs/lifecycle.md says when
 * the cluster applies them). Both must leave what the key reads unchanged, and must commute with
 * the merges that can still happen once their preconditions hold:
 *
 * <ul>
 *   <li>collection drops only tombstones every replica has seen: merging in any replica's state
 *       (that has seen every delete) after collecting changes nothing once collected again;
 *   <li>pruning moves a retired id's value whole into a live one once the retired id's entries are
 *       final: merging in any replica's older state afterwards neither loses nor doubles a count.
 * </ul>
 */
@DisplayName("key lifecycle properties")
class LivesLifecycleProperties {

  private final LivesModel model = new LivesModel();
  private final CrdtLaws<Lives, LivesModel.Op> laws =
      new CrdtLaws<>(model, CrdtLawSuite.EXAMPLES, CrdtLawSuite.SEED);

  /** An epoch far past every tomb and mark epoch a history makes (they are all 0 here, or 10). */
  private static final long LATER = 100;

  private Lives all(Run<Lives, LivesModel.Op> run) {
    Lives all = Lives.empty();
    for (Lives s : run.world().states()) {
      all = all.merge(s);
    }
    return all;
  }

  @Test
  @DisplayName("collection keeps the value and drops nothing a replica that saw the deletes can bring back")
  void collectionCommutesWithLateMerges() {
    laws.check("collection commutes with late merges", History.histories(model.operations(), CrdtLaws.MAX_STEPS),
        history -> {
          Run<Lives, LivesModel.Op> run = new Run<>(model, history);
          Lives all = all(run);
          Lives collected = all.collect(LATER);
          assertEquals(run.reference().actual(all), run.reference().actual(collected), "collection changed the value");
          for (Lives replica : run.world().states()) {
            Lives late = replica.merge(all.tombstones()); // a replica that has seen every delete
            assertEquals(collected, collected.merge(late).collect(LATER),
                () -> "a late state brought back what collection dropped\ncollected = " + collected + "\nlate = " + late);
          }
        });
  }

  @Test
  @DisplayName("pruning a retired replica id keeps the value, counts nothing twice, and drops the id from counters")
  void pruningKeepsValuesAndCommutesWithOlderStates() {
    laws.check("pruning keeps values", History.histories(model.operations(), CrdtLaws.MAX_STEPS)
        .zip(integers().between(0, 4), (h, r) -> new Object[] {h, r}), pair -> {
          @SuppressWarnings("unchecked")
          History<LivesModel.Op> history = (History<LivesModel.Op>) pair[0];
          Run<Lives, LivesModel.Op> run = new Run<>(model, history);
          int k = (Integer) pair[1] % run.world().size();
          NodeId retired = run.world().id(k);
          NodeId successor = new NodeId(retired.high() ^ 0x5555, retired.low() + 1); // the node's next life
          Lives all = all(run); // every state merged: the retired id's entries are final
          Object value = run.reference().actual(all);
          CrdtUpdate.Writer writer = new CrdtUpdate.Writer(successor, () -> run.world().now(k), 10, () -> 1);
          Lives pruned = all.merge(new CrdtUpdate.Retire(java.util.List.of(retired)).delta(all, writer));
          assertEquals(value, run.reference().actual(pruned), "pruning changed the value");
          for (Lives older : run.world().states()) {
            Lives merged = pruned.merge(older);
            assertEquals(value, run.reference().actual(merged), () -> "an older state merged after pruning changed the value"
                + "\npruned = " + pruned + "\nolder = " + older);
            Lives settled = merged.collect(LATER);
            assertEquals(value, run.reference().actual(settled), "collecting the pruned state changed the value");
            for (Life life : settled.lives()) {
              if (life.type() == CrdtType.PN_COUNTER) {
                assertFalse(life.replicaIds().contains(retired), () -> "the retired id is still in " + life);
              }
            }
          }
        });
  }

  @Test
  @DisplayName("a delete that did not see a fold still deletes what it saw, the fold's moved part included")
  void aFoldConcurrentWithADeleteDoesNotBringBackWhatItDeleted() {
    laws.check("a fold concurrent with a delete", History.histories(model.operations(), CrdtLaws.MAX_STEPS)
        .zip(integers().between(0, 1 << 16), (h, r) -> new Object[] {h, r}), pair -> {
          @SuppressWarnings("unchecked")
          History<LivesModel.Op> history = (History<LivesModel.Op>) pair[0];
          int pick = (Integer) pair[1];
          Run<Lives, LivesModel.Op> run = new Run<>(model, history);
          int n = run.world().size();
          int k = pick % n;
          int d = (pick / n) % n; // the replica that deletes, from its own state
          NodeId retired = run.world().id(k);
          NodeId successor = new NodeId(retired.high() ^ 0x5555, retired.low() + 1);
          Lives all = all(run);
          CrdtUpdate.Writer folder = new CrdtUpdate.Writer(successor, () -> run.world().now(k), 10, () -> 1);
          Lives fold = new CrdtUpdate.Retire(java.util.List.of(retired)).delta(all, folder);
          Lives seen = run.world().state(d);
          CrdtUpdate.Writer deleter = new CrdtUpdate.Writer(run.world().id(d), () -> run.world().now(d), 10, () -> 99);
          Lives delete = new CrdtUpdate.Delete(java.util.Optional.empty()).delta(seen, deleter);
          Object expected = run.reference().actual(all.merge(delete));
          Lives both = all.merge(fold).merge(delete);
          assertEquals(expected, run.reference().actual(both), () -> "the fold brought back what the delete saw"
              + "\nall = " + all + "\nfold = " + fold + "\ndelete = " + delete);
          assertEquals(expected, run.reference().actual(both.collect(LATER)), "collecting changed the value");
        });
  }
}
