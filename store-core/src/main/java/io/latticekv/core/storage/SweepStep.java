package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One step of the lifecycle sweep (docs/lifecycle.md): the keys visited, the deltas to spread
 * (pruning moves values between replica ids, which the other replicas must learn; collection
 * changes nothing they need), where the next step starts ({@code null}: the pass is over), and
 * what the keys visited hold.
 *
 * @param retiredSeen the ids to prune that some visited key still names
 * @param deadLives dead lives (tombstones) in the keys visited, before this step
 * @param retiredMarks retired marks in the keys visited, before this step
 */
public record SweepStep(byte[] next, int keysVisited, int keysChanged, int keysRemoved,
    List<Map.Entry<ByteString, Lives>> deltas, Set<NodeId> retiredSeen, long deadLives, long retiredMarks) {

  /**
   * What the sweep finds in one key's state: the ids of {@code retire} it names, its dead lives
   * and retired marks, and whether it needs a write (an id to prune, or something epoch {@code at}
   * lets go).
   */
  public record KeyVisit(List<NodeId> named, long deadLives, long retiredMarks, boolean needsWrite) {

    public static KeyVisit of(Lives state, Set<NodeId> retire, long at) {
      List<NodeId> named = new java.util.ArrayList<>();
      if (!retire.isEmpty()) {
        for (NodeId id : state.replicaIds()) {
          if (retire.contains(id)) {
            named.add(id);
          }
        }
      }
      long dead = 0;
      long marks = 0;
      for (io.latticekv.core.crdt.Life life : state.lives()) {
        dead += life.isDead() ? 1 : 0;
        marks += life.retired().size();
      }
      return new KeyVisit(named, dead, marks, !named.isEmpty() || !state.collect(at).equals(state));
    }
  }
}
