package io.latticekv.core.gossip;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Peers known to hold a queued rumor as it is now: those that acknowledged it, the peer it came
 * from, and the other peers the push that brought it went to. Pushes leave them out (each such
 * skip counts as the "not news" answer the push would have brought back), and a rumor every
 * reachable peer holds has nobody left to tell. Forgotten when a newer delta for the key joins
 * the rumor, except for the peers that also hold that delta. Not thread-safe: its monger's.
 */
final class RumorHolders {

  private final NodeId self;
  private final Map<ByteString, Set<NodeId>> byKey = new HashMap<>();

  RumorHolders(NodeId self) {
    this.self = self;
  }

  /**
   * The holders of {@code key}'s rumor once a delta from {@code from} (null: this node) has been
   * queued for it, {@code joined} to the rumor queued before or not: the sender holds what it
   * sent, and the peers its push also went to were sent it (should that send be lost, the sender,
   * which saw no acknowledgement, sends it again in its rounds). After a join, each only if it
   * also held the older rumor. The old holders are forgotten; the caller {@link #put}s these.
   */
  Set<NodeId> renewed(ByteString key, NodeId from, List<NodeId> alsoSentTo, boolean joined) {
    Set<NodeId> before = byKey.remove(key);
    if (from == null) {
      return Set.of();
    }
    Set<NodeId> now = new HashSet<>(alsoSentTo);
    now.add(from);
    now.remove(self);
    if (joined) {
      now.retainAll(before == null ? Set.of() : before);
    }
    return now;
  }

  void put(ByteString key, Set<NodeId> holders) {
    if (!holders.isEmpty()) {
      byKey.put(key, holders);
    }
  }

  /** Whether {@code peer} is known to hold {@code key}'s rumor. */
  boolean holds(ByteString key, NodeId peer) {
    Set<NodeId> known = byKey.get(key);
    return known != null && known.contains(peer);
  }

  /** {@code peer} acknowledged {@code key}'s rumor; returns whether every peer of {@code reachable} now holds it. */
  boolean acknowledged(ByteString key, NodeId peer, List<Member> reachable) {
    Set<NodeId> known = byKey.computeIfAbsent(key, k -> new HashSet<>());
    known.add(peer);
    return holdsAll(known, reachable);
  }

  void forget(ByteString key) {
    byKey.remove(key);
  }

  int size() {
    return byKey.size();
  }

  /** Forgets the keys no longer queued. */
  void sweep(Predicate<ByteString> queued) {
    byKey.keySet().removeIf(key -> !queued.test(key));
  }

  /** Whether {@code known} names every peer of {@code reachable}. */
  static boolean holdsAll(Set<NodeId> known, List<Member> reachable) {
    if (known.size() < reachable.size()) {
      return false;
    }
    for (Member m : reachable) {
      if (!known.contains(m.id())) {
        return false;
      }
    }
    return true;
  }
}
