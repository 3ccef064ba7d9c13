package io.latticekv.core.membership;

import io.latticekv.core.crdt.NodeId;

/**
 * A member this node has heard answer from its own address (an ack to a ping of ours): one of the
 * cluster's replicas, which counts toward {@code quorum} and {@code all} whatever its state, until
 * it leaves. The driver persists the set, so a restarted node knows its replicas before anyone
 * answers it; members only gossiped about never count, so forged ones cannot inflate a quorum.
 * The incarnation is the one last confirmed: a restarted node checks the member's next one against
 * it, as it checks every incarnation against the one it knows.
 */
public record KnownMember(NodeId id, String address, long incarnation) {}
