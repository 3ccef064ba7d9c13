package io.latticekv.core.storage;

import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.NodeId;
import java.util.ArrayList;
import java.util.List;

/**
 * When a replica id is due for pruning (docs/lifecycle.md): the one rule the store and the
 * simulator's replica both follow.
 */
public final class RetiredIds {

  /** A replica id a directory wrote under, or adopted: the epoch it started (or was adopted) at, and whether it is pruned. */
  public record Retired(NodeId id, long epoch, boolean pruned) {}

  private RetiredIds() {}

  /**
   * The ids to prune at {@code atEpoch}, {@code current} being this life's: the earlier ones of
   * {@code history}, three epochs after the current one started (by then this node holds what the
   * cluster did with them), and the {@code adopted} ones three epochs after their adoption; none
   * already pruned from every key.
   */
  public static List<NodeId> due(List<Retired> history, NodeId current, List<Retired> adopted, long atEpoch) {
    long since = -1;
    for (Retired r : history) {
      if (r.id().equals(current)) {
        since = r.epoch(); // every earlier id retired when this one started
      }
    }
    List<NodeId> due = new ArrayList<>();
    for (Retired r : history) {
      if (!r.id().equals(current) && !r.pruned() && since >= 0 && since + Life.COLLECT_AFTER_EPOCHS <= atEpoch) {
        due.add(r.id());
      }
    }
    for (Retired r : adopted) {
      if (!r.pruned() && r.epoch() + Life.COLLECT_AFTER_EPOCHS <= atEpoch) {
        due.add(r.id());
      }
    }
    return due;
  }
}
