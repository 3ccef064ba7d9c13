package io.latticekv.core.membership;

import io.latticekv.core.crdt.NodeId;

/**
 * What one node believes about one member: its id, its peer address, its incarnation (raised
 * only by the member itself, to refute suspicion or after a restart), its status, and when this
 * node last heard from it directly.
 */
public record Member(
    NodeId id, String address, long incarnation, MemberStatus status, long statusSinceMillis, long lastHeardMillis) {

  /** The member of {@code members} with id {@code id}, if any. */
  public static java.util.Optional<Member> find(java.util.List<Member> members, NodeId id) {
    for (Member m : members) {
      if (m.id().equals(id)) {
        return java.util.Optional.of(m);
      }
    }
    return java.util.Optional.empty();
  }

  Member withStatus(MemberStatus newStatus, long incarnation, long now) {
    return new Member(id, address, incarnation, newStatus, now, lastHeardMillis);
  }

  Member heardAt(long now) {
    return new Member(id, address, incarnation, status, statusSinceMillis, now);
  }
}
