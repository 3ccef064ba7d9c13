package io.latticekv.core.transport;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.merkle.KeyDigest;
import java.util.List;
import java.util.Map;

/**
 * Every message one node sends another. The protocol objects produce and consume these; a
 * transport carries them (Netty in the server, a simulated network in tests).
 *
 * <p>Each message names its {@link Kind}, and code that handles every message switches over it in
 * a switch expression, so a message added here without a case there does not compile (Java 17 has
 * no exhaustive switch over the sealed types themselves).
 */
public sealed interface PeerMessage {

  /** One constant per message type. */
  enum Kind {
    JOIN, JOIN_REPLY, PING, ACK, PING_REQ, GOSSIP,
    RUMOR_BATCH, RUMOR_PULL, RUMOR_ACK,
    REPLICA_WRITE, REPLICA_WRITE_ACK, REPLICA_READ, REPLICA_READ_REPLY,
    AE_HASHES, AE_HASHES_REPLY, AE_SEGMENTS, AE_SEGMENTS_REPLY, AE_FETCH, AE_STATES, AE_STREAM
  }

  NodeId from();

  Kind kind();

  // ------------------------------------------------------------ membership

  /**
   * A message with its sender's cluster epoch and current replica id, as every message leaves a
   * {@link io.latticekv.core.cluster.ClusterNode} (docs/lifecycle.md): the receiver learns where
   * its peers are, and refuses data from a node two or more epochs behind it. A node {@code alone}
   * never took part in a cluster's epoch (it is new, or ran on its own): its epoch binds nobody, and
   * it takes the first one it hears. The kind and sender are the wrapped message's; the receiving
   * node unwraps it before any protocol sees it.
   */
  record Stamped(PeerMessage message, long epoch, NodeId replica, boolean alone) implements PeerMessage {
    public Stamped {
      if (message instanceof Stamped) {
        throw new IllegalArgumentException("a message is stamped once");
      }
    }

    public NodeId from() {
      return message.from();
    }

    public Kind kind() {
      return message.kind();
    }
  }

  /** The message itself, without its stamp. */
  static PeerMessage unstamped(PeerMessage message) {
    return message instanceof Stamped s ? s.message() : message;
  }

  /**
   * One line of membership gossip, piggybacked on probes (SWIM section 4.4). A {@link
   * MemberStatus#REMOVED removal} names the member that prunes the removed one's replica ids (its
   * {@code adopter}); null otherwise.
   */
  record MemberUpdate(NodeId id, String address, long incarnation, MemberStatus status, NodeId adopter) {
    public MemberUpdate(NodeId id, String address, long incarnation, MemberStatus status) {
      this(id, address, incarnation, status, null);
    }
  }

  /** Asks a seed to be let in; answered with {@link JoinReply}. */
  record Join(NodeId from, String address, long incarnation) implements PeerMessage {
    public Kind kind() {
      return Kind.JOIN;
    }
  }

  /** The seed's view of the membership, for a joining node. */
  record JoinReply(NodeId from, List<MemberUpdate> members) implements PeerMessage {
    public Kind kind() {
      return Kind.JOIN_REPLY;
    }
  }

  /** A direct probe, or one sent on behalf of a requester's {@link PingReq}. */
  record Ping(NodeId from, long seq, List<MemberUpdate> gossip) implements PeerMessage {
    public Kind kind() {
      return Kind.PING;
    }
  }

  /** The answer to a ping. */
  record Ack(NodeId from, long seq, List<MemberUpdate> gossip) implements PeerMessage {
    public Kind kind() {
      return Kind.ACK;
    }
  }

  /** Asks the receiver to probe {@code target} and forward its ack (SWIM's indirect probe). */
  record PingReq(NodeId from, long seq, NodeId target, String targetAddress) implements PeerMessage {
    public Kind kind() {
      return Kind.PING_REQ;
    }
  }

  /** Membership gossip alone: a graceful leave, a full view exchange. */
  record Gossip(NodeId from, List<MemberUpdate> gossip) implements PeerMessage {
    public Kind kind() {
      return Kind.GOSSIP;
    }
  }

  // ------------------------------------------------------------ rumors

  /**
   * One replicated update: the delta a write made to a key, the rumor versions it carries (origin
   * node -> highest rumor sequence joined into it), for Scuttlebutt-style pull digests, and the
   * cluster epoch its oldest part was made in, kept as it is relayed: a node two epochs further on
   * refuses it ({@link #EPOCH_UNKNOWN} is never refused: rumors of tests and benchmarks).
   */
  record Rumor(ByteString key, Crdt<?> delta, Map<NodeId, Long> versions, long epoch) {
    public static final long EPOCH_UNKNOWN = Long.MAX_VALUE;

    public Rumor(ByteString key, Crdt<?> delta, Map<NodeId, Long> versions) {
      this(key, delta, versions, EPOCH_UNKNOWN);
    }
  }

  /**
   * A batch of hot rumors. With a {@code digest} (push-pull), the sender also asks for the hot
   * rumors it lacks: those with a version above the digest's entry for their origin. {@code
   * alsoSentTo}: the other peers the same push went to, which were sent (or already held) each of
   * these rumors; the receiver need not relay them there.
   */
  record RumorBatch(NodeId from, long batchId, List<Rumor> rumors, Map<NodeId, Long> digest, List<NodeId> alsoSentTo)
      implements PeerMessage {
    public RumorBatch(NodeId from, long batchId, List<Rumor> rumors, Map<NodeId, Long> digest) {
      this(from, batchId, rumors, digest, List.of());
    }

    public Kind kind() {
      return Kind.RUMOR_BATCH;
    }
  }

  /** Pull: asks for the hot rumors the sender lacks, given what it has seen per origin. */
  record RumorPull(NodeId from, Map<NodeId, Long> digest) implements PeerMessage {
    public Kind kind() {
      return Kind.RUMOR_PULL;
    }
  }

  /** The receiver's feedback: for each rumor of the batch, whether it was news. */
  record RumorAck(NodeId from, long batchId, List<Boolean> wasNew) implements PeerMessage {
    public Kind kind() {
      return Kind.RUMOR_ACK;
    }
  }

  // ------------------------------------------------------------ consistency levels

  /** A coordinator asks a replica to join {@code state} into {@code key} (w = quorum | all, read repair). */
  record ReplicaWrite(NodeId from, long id, ByteString key, Crdt<?> state) implements PeerMessage {
    public Kind kind() {
      return Kind.REPLICA_WRITE;
    }
  }

  /** The replica's answer: {@code error} empty when the state is durably applied. */
  record ReplicaWriteAck(NodeId from, long id, String error) implements PeerMessage {
    public Kind kind() {
      return Kind.REPLICA_WRITE_ACK;
    }
  }

  /** A coordinator asks a replica for its state of {@code key} (r = quorum | all). */
  record ReplicaRead(NodeId from, long id, ByteString key) implements PeerMessage {
    public Kind kind() {
      return Kind.REPLICA_READ;
    }
  }

  /** The replica's state of the key; null when it has none, or when {@code error} says why not. */
  record ReplicaReadReply(NodeId from, long id, Crdt<?> state, String error) implements PeerMessage {
    public Kind kind() {
      return Kind.REPLICA_READ_REPLY;
    }
  }

  // ------------------------------------------------------------ anti-entropy

  /** The responder's Merkle hashes of the nodes {@code indexes} at {@code level}, please. */
  record AeHashes(NodeId from, long exchange, int level, int[] indexes) implements PeerMessage {
    public Kind kind() {
      return Kind.AE_HASHES;
    }
  }

  record AeHashesReply(NodeId from, long exchange, int level, int[] indexes, long[] hashes) implements PeerMessage {
    public Kind kind() {
      return Kind.AE_HASHES_REPLY;
    }
  }

  /** The keys and state digests of these segments, please. */
  record AeSegments(NodeId from, long exchange, int[] segments) implements PeerMessage {
    public Kind kind() {
      return Kind.AE_SEGMENTS;
    }
  }

  /**
   * The keys and digests of {@code segments}, each listed whole: the responder lists the segments
   * asked for in order and stops before one that would pass its byte budget.
   */
  record AeSegmentsReply(NodeId from, long exchange, int[] segments, List<KeyDigest> entries) implements PeerMessage {
    public Kind kind() {
      return Kind.AE_SEGMENTS_REPLY;
    }
  }

  /**
   * The full states of these keys, please; and of each large set summarized, the buckets where
   * the responder's differs from these hashes ({@link io.latticekv.core.crdt.SetRepair}).
   */
  record AeFetch(NodeId from, long exchange, List<ByteString> keys, List<SetSummary> summaries)
      implements PeerMessage {
    public AeFetch(NodeId from, long exchange, List<ByteString> keys) {
      this(from, exchange, keys, List.of());
    }

    public Kind kind() {
      return Kind.AE_FETCH;
    }
  }

  /** A large set as one replica holds it: the identity of its life, and its bucket hashes. */
  record SetSummary(ByteString key, long shape, long[] hashes) {}

  /**
   * A part of a large set: its elements in {@code buckets} of {@code count} and its whole context,
   * cut against the receiver's hashes. In an answer, {@code hashes} are the sender's own, against
   * which the receiver cuts its part in return; empty in a push.
   */
  record SetPart(ByteString key, Crdt<?> state, int count, int[] buckets, long[] hashes) {}

  record KeyState(ByteString key, Crdt<?> state) {}

  /**
   * A key's state as a replica stores it (an encoded {@code CrdtValue}): what a catch-up stream
   * carries, so that the responder need not decode it nor the receiver merge it when it holds
   * nothing of the key. Not trusted: the receiver decodes and checks it before storing it.
   */
  record StoredState(ByteString key, ByteString value) {
    /** This state decoded. */
    public KeyState decode() throws io.latticekv.core.crdt.CrdtDecodeException {
      return new KeyState(key, io.latticekv.core.crdt.CrdtCodec.decode(value.toByteArray()));
    }
  }

  /**
   * Full states: the answer to a fetch, or (with {@code push}) states for the receiver to merge. A
   * {@code partial} answer left keys out (its byte budget): the exchange did not cover them.
   */
  record AeStates(NodeId from, long exchange, List<KeyState> states, boolean push, boolean partial, int resumeIndex,
      ByteString resumeAfter, int retryAfterMs, long streamBytes, List<StoredState> stored, List<SetPart> parts,
      List<ByteString> wholeWanted) implements PeerMessage {
    public AeStates(NodeId from, long exchange, List<KeyState> states, boolean push) {
      this(from, exchange, states, push, false);
    }

    public AeStates(NodeId from, long exchange, List<KeyState> states, boolean push, boolean partial) {
      this(from, exchange, states, push, partial, 0, ByteString.EMPTY, 0, 0, List.of());
    }

    /** A catch-up stream's answer (no set parts). */
    public AeStates(NodeId from, long exchange, List<KeyState> states, boolean push, boolean partial, int resumeIndex,
        ByteString resumeAfter, int retryAfterMs, long streamBytes, List<StoredState> stored) {
      this(from, exchange, states, push, partial, resumeIndex, resumeAfter, retryAfterMs, streamBytes, stored, List.of(),
          List.of());
    }

    /** States and set parts (an answer to a fetch, or a push); {@code wholeWanted}: keys to push back whole. */
    public AeStates(NodeId from, long exchange, List<KeyState> states, List<SetPart> parts, boolean push,
        boolean partial, List<ByteString> wholeWanted) {
      this(from, exchange, states, push, partial, 0, ByteString.EMPTY, 0, 0, List.of(), parts, wholeWanted);
    }

    /** Whether the answer carries no state at all. */
    public boolean empty() {
      return states.isEmpty() && stored.isEmpty() && parts.isEmpty();
    }

    public Kind kind() {
      return Kind.AE_STATES;
    }
  }

  /**
   * Catch-up: the full states of {@code segments}, in order, from after {@code resumeAfter} in the
   * first; answered with {@link AeStates} saying where to resume.
   */
  record AeStream(NodeId from, long exchange, int[] segments, ByteString resumeAfter, boolean stored)
      implements PeerMessage {
    public Kind kind() {
      return Kind.AE_STREAM;
    }
  }
}
