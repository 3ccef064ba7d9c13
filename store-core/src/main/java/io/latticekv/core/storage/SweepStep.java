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
    List<Map.Entry<ByteString, Lives>> deltas, Set<NodeId> retiredSeen, long deadLives, long retiredMarks) {}
