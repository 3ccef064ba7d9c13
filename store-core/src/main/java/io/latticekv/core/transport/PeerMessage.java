package io.latticekv.core.transport;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.MemberStatus;
import java.util.List;

/**
 * Every message one node sends another. The protocol objects produce and consume these; a
 * transport carries them (Netty in the server, a simulated network in tests).
 */
public sealed interface PeerMessage {

  /** One line of membership gossip, piggybacked on probes (SWIM section 4.4). */
  record MemberUpdate(NodeId id, String address, long incarnation, MemberStatus status) {}

  /** Asks a seed to be let in; answered with {@link JoinReply}. */
  record Join(NodeId from, String address, long incarnation) implements PeerMessage {}

  /** The seed's view of the membership, for a joining node. */
  record JoinReply(NodeId from, List<MemberUpdate> members) implements PeerMessage {}

  /** A direct probe. {@code forSeq} is non-zero when sent on behalf of a requester's PingReq. */
  record Ping(NodeId from, long seq, List<MemberUpdate> gossip) implements PeerMessage {}

  /** The answer to a ping. */
  record Ack(NodeId from, long seq, List<MemberUpdate> gossip) implements PeerMessage {}

  /** Asks the receiver to probe {@code target} and forward its ack (SWIM's indirect probe). */
  record PingReq(NodeId from, long seq, NodeId target, String targetAddress) implements PeerMessage {}

  /** Membership gossip alone, as sent on a graceful leave. */
  record Gossip(NodeId from, List<MemberUpdate> gossip) implements PeerMessage {}

  /**
   * One replicated update: the delta a write made to a key, and the rumor versions it carries
   * (origin node -> highest rumor sequence joined into it), for Scuttlebutt-style pull digests.
   */
  record Rumor(ByteString key, Crdt<?> delta, java.util.Map<NodeId, Long> versions) {}

  /**
   * A batch of hot rumors. With a {@code digest} (push-pull), the sender also asks for the hot
   * rumors it lacks: those with a version above the digest's entry for their origin.
   */
  record RumorBatch(NodeId from, long batchId, List<Rumor> rumors, java.util.Map<NodeId, Long> digest)
      implements PeerMessage {}

  /** Pull: asks for the hot rumors the sender lacks, given what it has seen per origin. */
  record RumorPull(NodeId from, java.util.Map<NodeId, Long> digest) implements PeerMessage {}

  /** The receiver's feedback: for each rumor of the batch, whether it was news. */
  record RumorAck(NodeId from, long batchId, List<Boolean> wasNew) implements PeerMessage {}

  /** A coordinator asks a replica to join {@code state} into {@code key} (w = quorum | all). */
  record ReplicaWrite(NodeId from, long id, ByteString key, Crdt<?> state) implements PeerMessage {}

  /** The replica's answer: {@code error} empty when the state is durably applied. */
  record ReplicaWriteAck(NodeId from, long id, String error) implements PeerMessage {}

  /** A coordinator asks a replica for its state of {@code key} (r = quorum | all). */
  record ReplicaRead(NodeId from, long id, ByteString key) implements PeerMessage {}

  /** The replica's state of the key; null when it has none. */
  record ReplicaReadReply(NodeId from, long id, Crdt<?> state, String error) implements PeerMessage {}

  // ------------------------------------------------------------ anti-entropy

  /** Anti-entropy: the responder's Merkle hashes of the nodes {@code indexes} at {@code level}, please. */
  record AeHashes(NodeId from, long exchange, int level, int[] indexes) implements PeerMessage {}

  record AeHashesReply(NodeId from, long exchange, int level, int[] indexes, long[] hashes) implements PeerMessage {}

  /** The keys and state digests of these segments, please. */
  record AeSegments(NodeId from, long exchange, int[] segments) implements PeerMessage {}

  record KeyDigest(ByteString key, long digest) {}

  record AeSegmentsReply(NodeId from, long exchange, List<KeyDigest> entries) implements PeerMessage {}

  /** The full states of these keys, please. */
  record AeFetch(NodeId from, long exchange, List<ByteString> keys) implements PeerMessage {}

  record KeyState(ByteString key, Crdt<?> state) {}

  /** Full states: the answer to a fetch, or (with {@code push}) states for the receiver to merge. */
  record AeStates(NodeId from, long exchange, List<KeyState> states, boolean push) implements PeerMessage {}

  NodeId from();
}
