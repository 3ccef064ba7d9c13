package io.latticekv.server.peer;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.SetRepair;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.gossip.RumorMonger;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.PeerMemberStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts the protocol's {@link PeerMessage} records to and from {@link PeerFrame}s. Decoding
 * checks structure before anything reaches a protocol: ids of 16 bytes, keys within the key limit,
 * addresses of sane length, incarnations within range, and lists no longer than what one correct
 * message holds ({@link Limits}). A frame that breaks one is a {@link BadFrame}, and its connection
 * is closed. The protocols check what depends on their state (tree levels, exchange caps).
 */
public final class PeerCodec {

  /**
   * Structural bounds of a peer frame.
   *
   * @param membersMax most members a view, a piggyback or a rumor's origin list may name
   * @param keyBytesMax longest key in any message
   * @param listMax most entries of any other list (hash indexes, segments, keys, states): the
   *     number of Merkle segments, which bounds every list a correct exchange sends
   */
  public record Limits(int membersMax, int keyBytesMax, int listMax) {}

  /** Longest peer address accepted: a host name of 253 characters, a colon and a port. */
  static final int ADDRESS_CHARS_MAX = 260;

  private PeerCodec() {}

  /** A peer frame that does not make sense: the connection is closed. */
  public static final class BadFrame extends Exception {
    private static final long serialVersionUID = 1L;

    BadFrame(String message) {
      super(message);
    }
  }

  public static PeerFrame encode(PeerMessage stamped) {
    PeerMessage message = stamped instanceof PeerMessage.Stamped s ? s.message() : stamped;
    // A switch expression, so that a message kind without a case here does not compile.
    PeerFrame.Builder frame = switch (message.kind()) {
      case JOIN -> {
        var m = (PeerMessage.Join) message;
        yield PeerFrame.newBuilder().setJoin(io.latticekv.proto.Join.newBuilder().setFrom(m.from().toBytes())
            .setAddress(m.address()).setIncarnation(m.incarnation()));
      }
      case JOIN_REPLY -> {
        var m = (PeerMessage.JoinReply) message;
        yield PeerFrame.newBuilder().setJoinReply(io.latticekv.proto.JoinReply.newBuilder().setFrom(m.from().toBytes())
            .addAllMembers(updates(m.members())));
      }
      case PING -> {
        var m = (PeerMessage.Ping) message;
        yield PeerFrame.newBuilder().setPing(io.latticekv.proto.Ping.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
            .addAllGossip(updates(m.gossip())));
      }
      case ACK -> {
        var m = (PeerMessage.Ack) message;
        yield PeerFrame.newBuilder().setAck(io.latticekv.proto.Ack.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
            .addAllGossip(updates(m.gossip())));
      }
      case PING_REQ -> {
        var m = (PeerMessage.PingReq) message;
        yield PeerFrame.newBuilder().setPingReq(io.latticekv.proto.PingReq.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
            .setTarget(m.target().toBytes()).setTargetAddress(m.targetAddress()));
      }
      case GOSSIP -> {
        var m = (PeerMessage.Gossip) message;
        yield PeerFrame.newBuilder().setGossip(io.latticekv.proto.Gossip.newBuilder().setFrom(m.from().toBytes())
            .addAllGossip(updates(m.gossip())));
      }
      case RUMOR_BATCH -> PeerFrame.newBuilder().setRumorBatch(rumorBatch((PeerMessage.RumorBatch) message));
      case RUMOR_PULL -> {
        var m = (PeerMessage.RumorPull) message;
        yield PeerFrame.newBuilder().setRumorPull(io.latticekv.proto.RumorPull.newBuilder().setFrom(m.from().toBytes())
            .addAllDigest(originSeqs(m.digest())));
      }
      case RUMOR_ACK -> {
        var m = (PeerMessage.RumorAck) message;
        yield PeerFrame.newBuilder().setRumorAck(io.latticekv.proto.RumorAck.newBuilder().setFrom(m.from().toBytes())
            .setBatchId(m.batchId()).addAllWasNew(m.wasNew()));
      }
      case REPLICA_WRITE -> {
        var m = (PeerMessage.ReplicaWrite) message;
        yield PeerFrame.newBuilder().setReplicaWrite(io.latticekv.proto.ReplicaWrite.newBuilder().setFrom(m.from().toBytes()).setId(m.id())
            .setKey(m.key()).setState(CrdtCodec.toProto(m.state())));
      }
      case REPLICA_WRITE_ACK -> {
        var m = (PeerMessage.ReplicaWriteAck) message;
        yield PeerFrame.newBuilder().setReplicaWriteAck(io.latticekv.proto.ReplicaWriteAck.newBuilder().setFrom(m.from().toBytes())
            .setId(m.id()).setError(m.error()));
      }
      case REPLICA_READ -> {
        var m = (PeerMessage.ReplicaRead) message;
        yield PeerFrame.newBuilder().setReplicaRead(io.latticekv.proto.ReplicaRead.newBuilder().setFrom(m.from().toBytes()).setId(m.id())
            .setKey(m.key()));
      }
      case REPLICA_READ_REPLY -> {
        var m = (PeerMessage.ReplicaReadReply) message;
        var reply = io.latticekv.proto.ReplicaReadReply.newBuilder()
            .setFrom(m.from().toBytes()).setId(m.id()).setError(m.error()).setFound(m.state() != null);
        if (m.state() != null) {
          reply.setState(CrdtCodec.toProto(m.state()));
        }
        yield PeerFrame.newBuilder().setReplicaReadReply(reply);
      }
      case AE_HASHES -> {
        var m = (PeerMessage.AeHashes) message;
        yield PeerFrame.newBuilder().setAeHashes(io.latticekv.proto.AeHashes.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).setLevel(m.level()).addAllIndexes(ints(m.indexes())));
      }
      case AE_HASHES_REPLY -> {
        var m = (PeerMessage.AeHashesReply) message;
        var b = io.latticekv.proto.AeHashesReply.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).setLevel(m.level()).addAllIndexes(ints(m.indexes()));
        for (long h : m.hashes()) {
          b.addHashes(h);
        }
        yield PeerFrame.newBuilder().setAeHashesReply(b);
      }
      case AE_SEGMENTS -> {
        var m = (PeerMessage.AeSegments) message;
        yield PeerFrame.newBuilder().setAeSegments(io.latticekv.proto.AeSegments.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).addAllSegments(ints(m.segments())));
      }
      case AE_SEGMENTS_REPLY -> {
        var m = (PeerMessage.AeSegmentsReply) message;
        var b = io.latticekv.proto.AeSegmentsReply.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).addAllSegments(ints(m.segments()));
        for (KeyDigest kd : m.entries()) {
          b.addEntries(io.latticekv.proto.KeyDigest.newBuilder().setKey(kd.key()).setDigest(kd.digest()));
        }
        yield PeerFrame.newBuilder().setAeSegmentsReply(b);
      }
      case AE_FETCH -> {
        var m = (PeerMessage.AeFetch) message;
        var b = io.latticekv.proto.AeFetch.newBuilder().setFrom(m.from().toBytes()).setExchange(m.exchange())
            .addAllKeys(m.keys());
        for (PeerMessage.SetSummary summary : m.summaries()) {
          b.addSummaries(io.latticekv.proto.SetSummary.newBuilder().setKey(summary.key()).setShape(summary.shape())
              .addAllHashes(longs(summary.hashes())));
        }
        yield PeerFrame.newBuilder().setAeFetch(b);
      }
      case AE_STATES -> {
        var m = (PeerMessage.AeStates) message;
        var b = io.latticekv.proto.AeStates.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).setPush(m.push());
        for (PeerMessage.KeyState ks : m.states()) {
          b.addStates(io.latticekv.proto.KeyState.newBuilder().setKey(ks.key()).setState(CrdtCodec.toProto(ks.state())));
        }
        for (PeerMessage.StoredState st : m.stored()) {
          b.addStored(io.latticekv.proto.StoredState.newBuilder().setKey(st.key()).setValue(st.value()));
        }
        for (PeerMessage.SetPart part : m.parts()) {
          b.addParts(io.latticekv.proto.SetPart.newBuilder().setKey(part.key()).setState(CrdtCodec.toProto(part.state()))
              .setCount(part.count()).addAllBuckets(ints(part.buckets())).addAllHashes(longs(part.hashes())));
        }
        b.addAllWholeWanted(m.wholeWanted());
        yield PeerFrame.newBuilder().setAeStates(b.setPartial(m.partial()).setResumeIndex(m.resumeIndex())
            .setResumeAfter(m.resumeAfter()).setRetryAfterMs(m.retryAfterMs()).setStreamBytes(m.streamBytes()));
      }
      case AE_STREAM -> {
        var m = (PeerMessage.AeStream) message;
        yield PeerFrame.newBuilder().setAeStream(io.latticekv.proto.AeStream.newBuilder().setFrom(m.from().toBytes())
            .setExchange(m.exchange()).addAllSegments(ints(m.segments())).setResumeAfter(m.resumeAfter())
            .setStored(m.stored()));
      }
    };
    if (stamped instanceof PeerMessage.Stamped s) {
      frame.setEpoch(s.epoch()).setReplica(s.replica().toBytes()).setAlone(s.alone());
    }
    return frame.build();
  }

  private static io.latticekv.proto.RumorBatch.Builder rumorBatch(PeerMessage.RumorBatch m) {
    var batch = io.latticekv.proto.RumorBatch.newBuilder().setFrom(m.from().toBytes()).setBatchId(m.batchId());
    for (PeerMessage.Rumor r : m.rumors()) {
      batch.addRumors(io.latticekv.proto.Rumor.newBuilder().setKey(r.key()).setDelta(CrdtCodec.toProto(r.delta()))
          .addAllVersions(originSeqs(r.versions())).setEpoch(r.epoch()));
    }
    if (m.digest() != null) {
      batch.setWantsReply(true).addAllDigest(originSeqs(m.digest()));
    }
    for (NodeId peer : m.alsoSentTo()) {
      batch.addAlsoSentTo(peer.toBytes());
    }
    return batch;
  }

  // ---------------------------------------------------------------- decoding

  public static PeerMessage decode(PeerFrame frame, Limits limits) throws BadFrame {
    PeerMessage message = decodeBody(frame, limits);
    if (frame.getReplica().isEmpty()) {
      return message; // a frame without a stamp: tests of one protocol
    }
    try {
      if (frame.getEpoch() < 0) {
        throw new BadFrame("an epoch of " + Long.toUnsignedString(frame.getEpoch()));
      }
      return new PeerMessage.Stamped(message, frame.getEpoch(), id(frame.getReplica()), frame.getAlone());
    } catch (CrdtDecodeException e) {
      throw new BadFrame("invalid peer frame: " + e.getMessage());
    }
  }

  private static PeerMessage decodeBody(PeerFrame frame, Limits limits) throws BadFrame {
    Decoder d = new Decoder(limits);
    try {
      return switch (frame.getBodyCase()) {
        case JOIN -> new PeerMessage.Join(id(frame.getJoin().getFrom()), d.address(frame.getJoin().getAddress()),
            d.incarnation(frame.getJoin().getIncarnation()));
        case JOIN_REPLY -> new PeerMessage.JoinReply(id(frame.getJoinReply().getFrom()),
            d.updates(frame.getJoinReply().getMembersList()));
        case PING -> new PeerMessage.Ping(id(frame.getPing().getFrom()), frame.getPing().getSeq(),
            d.updates(frame.getPing().getGossipList()));
        case ACK -> new PeerMessage.Ack(id(frame.getAck().getFrom()), frame.getAck().getSeq(),
            d.updates(frame.getAck().getGossipList()));
        case PING_REQ -> new PeerMessage.PingReq(id(frame.getPingReq().getFrom()), frame.getPingReq().getSeq(),
            id(frame.getPingReq().getTarget()), d.address(frame.getPingReq().getTargetAddress()));
        case GOSSIP -> new PeerMessage.Gossip(id(frame.getGossip().getFrom()),
            d.updates(frame.getGossip().getGossipList()));
        case RUMOR_BATCH -> d.rumorBatch(frame.getRumorBatch());
        case RUMOR_PULL -> new PeerMessage.RumorPull(id(frame.getRumorPull().getFrom()),
            d.originSeqs(frame.getRumorPull().getDigestList()));
        case RUMOR_ACK -> new PeerMessage.RumorAck(id(frame.getRumorAck().getFrom()),
            frame.getRumorAck().getBatchId(), d.list(frame.getRumorAck().getWasNewList(), RumorMonger.RUMORS_PER_BATCH_MAX));
        case REPLICA_WRITE -> new PeerMessage.ReplicaWrite(id(frame.getReplicaWrite().getFrom()),
            frame.getReplicaWrite().getId(), d.key(frame.getReplicaWrite().getKey()),
            CrdtCodec.fromProto(frame.getReplicaWrite().getState()));
        case REPLICA_WRITE_ACK -> new PeerMessage.ReplicaWriteAck(id(frame.getReplicaWriteAck().getFrom()),
            frame.getReplicaWriteAck().getId(), d.text(frame.getReplicaWriteAck().getError()));
        case REPLICA_READ -> new PeerMessage.ReplicaRead(id(frame.getReplicaRead().getFrom()),
            frame.getReplicaRead().getId(), d.key(frame.getReplicaRead().getKey()));
        case REPLICA_READ_REPLY -> new PeerMessage.ReplicaReadReply(id(frame.getReplicaReadReply().getFrom()),
            frame.getReplicaReadReply().getId(),
            frame.getReplicaReadReply().getFound() ? CrdtCodec.fromProto(frame.getReplicaReadReply().getState()) : null,
            d.text(frame.getReplicaReadReply().getError()));
        case AE_HASHES -> new PeerMessage.AeHashes(id(frame.getAeHashes().getFrom()), frame.getAeHashes().getExchange(),
            frame.getAeHashes().getLevel(), d.ints(frame.getAeHashes().getIndexesList()));
        case AE_HASHES_REPLY -> d.aeHashesReply(frame.getAeHashesReply());
        case AE_SEGMENTS -> new PeerMessage.AeSegments(id(frame.getAeSegments().getFrom()),
            frame.getAeSegments().getExchange(), d.ints(frame.getAeSegments().getSegmentsList()));
        case AE_SEGMENTS_REPLY -> d.aeSegmentsReply(frame.getAeSegmentsReply());
        case AE_FETCH -> d.aeFetch(frame.getAeFetch());
        case AE_STATES -> d.aeStates(frame.getAeStates());
        case AE_STREAM -> new PeerMessage.AeStream(id(frame.getAeStream().getFrom()), frame.getAeStream().getExchange(),
            d.ints(frame.getAeStream().getSegmentsList()), d.resumeKey(frame.getAeStream().getResumeAfter()),
            frame.getAeStream().getStored());
        case HELLO, WELCOME, REFUSED, BODY_NOT_SET -> throw new BadFrame("unexpected peer frame " + frame.getBodyCase());
      };
    } catch (CrdtDecodeException e) {
      throw new BadFrame("invalid peer frame: " + e.getMessage());
    }
  }

  /** The checks of one decode, against the limits. */
  private record Decoder(Limits limits) {

    <T> List<T> list(List<T> values, int max) throws CrdtDecodeException {
      if (values.size() > max) {
        throw new CrdtDecodeException("a list of " + values.size() + " entries; at most " + max + " are allowed");
      }
      return List.copyOf(values);
    }

    int[] ints(List<Integer> values) throws CrdtDecodeException {
      List<Integer> checked = list(values, limits.listMax());
      int[] out = new int[checked.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = checked.get(i);
      }
      return out;
    }

    ByteString key(ByteString key) throws CrdtDecodeException {
      if (key.isEmpty()) {
        throw new CrdtDecodeException("an empty key");
      }
      if (key.size() > limits.keyBytesMax()) {
        throw new CrdtDecodeException("a key of " + key.size() + " bytes; the limit is " + limits.keyBytesMax());
      }
      return key;
    }

    String address(String address) throws CrdtDecodeException {
      if (address.isEmpty() || address.length() > ADDRESS_CHARS_MAX) {
        throw new CrdtDecodeException("a peer address of " + address.length() + " characters");
      }
      return address;
    }

    /** Error texts from peers end up in logs and answers: a sentence, not a megabyte. */
    String text(String text) {
      return text.length() > 1_000 ? text.substring(0, 1_000) + "..." : text;
    }

    long incarnation(long incarnation) throws CrdtDecodeException {
      if (incarnation < 0 || incarnation > Membership.INCARNATION_MAX) {
        throw new CrdtDecodeException("incarnation " + Long.toUnsignedString(incarnation) + " is beyond 2^62");
      }
      return incarnation;
    }

    List<MemberUpdate> updates(List<io.latticekv.proto.MemberUpdate> updates) throws CrdtDecodeException {
      List<MemberUpdate> out = new ArrayList<>(list(updates, limits.membersMax()).size());
      for (io.latticekv.proto.MemberUpdate u : updates) {
        int status = u.getStatusValue();
        if (status < 0 || status >= MemberStatus.values().length) {
          throw new CrdtDecodeException("unknown member status " + status);
        }
        NodeId adopter = u.getAdopter().isEmpty() ? null : id(u.getAdopter());
        out.add(new MemberUpdate(id(u.getNodeId()), address(u.getAddress()), incarnation(u.getIncarnation()),
            MemberStatus.values()[status], adopter));
      }
      return out;
    }

    Map<NodeId, Long> originSeqs(List<io.latticekv.proto.OriginSeq> list) throws CrdtDecodeException {
      Map<NodeId, Long> out = new HashMap<>();
      for (io.latticekv.proto.OriginSeq o : list(list, limits.membersMax())) {
        out.merge(id(o.getOrigin()), o.getSeq(), Math::max);
      }
      return out;
    }

    PeerMessage rumorBatch(io.latticekv.proto.RumorBatch batch) throws CrdtDecodeException {
      List<PeerMessage.Rumor> rumors = new ArrayList<>(batch.getRumorsCount());
      for (io.latticekv.proto.Rumor r : list(batch.getRumorsList(), RumorMonger.RUMORS_PER_BATCH_MAX)) {
        rumors.add(new PeerMessage.Rumor(key(r.getKey()), CrdtCodec.fromProto(r.getDelta()),
            originSeqs(r.getVersionsList()), r.getEpoch() < 0 ? PeerMessage.Rumor.EPOCH_UNKNOWN : r.getEpoch()));
      }
      List<NodeId> alsoSentTo = new ArrayList<>(batch.getAlsoSentToCount());
      for (ByteString peer : list(batch.getAlsoSentToList(), limits.membersMax())) {
        alsoSentTo.add(id(peer));
      }
      return new PeerMessage.RumorBatch(id(batch.getFrom()), batch.getBatchId(), rumors,
          batch.getWantsReply() ? originSeqs(batch.getDigestList()) : null, alsoSentTo);
    }

    PeerMessage aeHashesReply(io.latticekv.proto.AeHashesReply m) throws CrdtDecodeException {
      if (m.getIndexesCount() != m.getHashesCount()) {
        throw new CrdtDecodeException("hash reply with " + m.getIndexesCount() + " indexes and " + m.getHashesCount()
            + " hashes");
      }
      int[] indexes = ints(m.getIndexesList());
      long[] hashes = new long[indexes.length];
      for (int i = 0; i < hashes.length; i++) {
        hashes[i] = m.getHashes(i);
      }
      return new PeerMessage.AeHashesReply(id(m.getFrom()), m.getExchange(), m.getLevel(), indexes, hashes);
    }

    PeerMessage aeSegmentsReply(io.latticekv.proto.AeSegmentsReply m) throws CrdtDecodeException {
      List<KeyDigest> entries = new ArrayList<>(m.getEntriesCount());
      for (io.latticekv.proto.KeyDigest kd : m.getEntriesList()) {
        entries.add(new KeyDigest(key(kd.getKey()), kd.getDigest()));
      }
      return new PeerMessage.AeSegmentsReply(id(m.getFrom()), m.getExchange(), ints(m.getSegmentsList()), entries);
    }

    PeerMessage aeFetch(io.latticekv.proto.AeFetch m) throws CrdtDecodeException {
      List<ByteString> keys = new ArrayList<>(m.getKeysCount());
      for (ByteString k : list(m.getKeysList(), limits.listMax())) {
        keys.add(key(k));
      }
      List<PeerMessage.SetSummary> summaries = new ArrayList<>(m.getSummariesCount());
      for (io.latticekv.proto.SetSummary summary : list(m.getSummariesList(), limits.listMax())) {
        summaries.add(new PeerMessage.SetSummary(key(summary.getKey()), summary.getShape(),
            bucketHashes(summary.getHashesList(), false)));
      }
      return new PeerMessage.AeFetch(id(m.getFrom()), m.getExchange(), keys, summaries);
    }

    /** A set's bucket hashes: a valid bucket count of them (or none, where that is allowed). */
    long[] bucketHashes(List<Long> hashes, boolean noneAllowed) throws CrdtDecodeException {
      if (!(noneAllowed && hashes.isEmpty()) && !SetRepair.validCount(hashes.size())) {
        throw new CrdtDecodeException(hashes.size() + " bucket hashes: a set is compared in 16 to "
            + SetRepair.BUCKETS_MAX + " buckets, a power of two");
      }
      long[] out = new long[hashes.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = hashes.get(i);
      }
      return out;
    }

    List<PeerMessage.SetPart> setParts(List<io.latticekv.proto.SetPart> parts) throws CrdtDecodeException {
      List<PeerMessage.SetPart> out = new ArrayList<>(parts.size());
      for (io.latticekv.proto.SetPart part : list(parts, limits.listMax())) {
        int[] buckets = ints(part.getBucketsList());
        if (!SetRepair.validCount(part.getCount()) || !SetRepair.validBuckets(part.getCount(), buckets)) {
          throw new CrdtDecodeException("a set part over buckets " + part.getBucketsList() + " of " + part.getCount());
        }
        long[] hashes = bucketHashes(part.getHashesList(), true);
        if (hashes.length != 0 && hashes.length != part.getCount()) {
          throw new CrdtDecodeException("a set part of " + part.getCount() + " buckets with " + hashes.length + " hashes");
        }
        out.add(new PeerMessage.SetPart(key(part.getKey()), CrdtCodec.fromProto(part.getState()), part.getCount(),
            buckets, hashes));
      }
      return out;
    }

    PeerMessage aeStates(io.latticekv.proto.AeStates m) throws CrdtDecodeException {
      List<PeerMessage.KeyState> states = new ArrayList<>(m.getStatesCount());
      for (io.latticekv.proto.KeyState ks : list(m.getStatesList(), limits.listMax())) {
        states.add(new PeerMessage.KeyState(key(ks.getKey()), CrdtCodec.fromProto(ks.getState())));
      }
      if (m.getStatesCount() + m.getStoredCount() > limits.listMax()) {
        throw new CrdtDecodeException(m.getStatesCount() + m.getStoredCount() + " states in one answer, over the limit of "
            + limits.listMax());
      }
      List<PeerMessage.StoredState> stored = new ArrayList<>(m.getStoredCount());
      for (io.latticekv.proto.StoredState st : m.getStoredList()) {
        // Only the key is checked here; the value is decoded and checked where it is stored.
        stored.add(new PeerMessage.StoredState(key(st.getKey()), st.getValue()));
      }
      List<ByteString> wholeWanted = new ArrayList<>(m.getWholeWantedCount());
      for (ByteString k : list(m.getWholeWantedList(), limits.listMax())) {
        wholeWanted.add(key(k));
      }
      return new PeerMessage.AeStates(id(m.getFrom()), m.getExchange(), states, m.getPush(), m.getPartial(),
          m.getResumeIndex(), resumeKey(m.getResumeAfter()), m.getRetryAfterMs(), Math.max(0, m.getStreamBytes()),
          stored, setParts(m.getPartsList()), wholeWanted);
    }

    /** A stream's resume point: empty (from the start) or a key within the key limit. */
    ByteString resumeKey(ByteString key) throws CrdtDecodeException {
      return key.isEmpty() ? key : key(key);
    }
  }

  // ---------------------------------------------------------------- helpers

  private static List<io.latticekv.proto.OriginSeq> originSeqs(Map<NodeId, Long> versions) {
    List<io.latticekv.proto.OriginSeq> out = new ArrayList<>(versions.size());
    versions.forEach((origin, seq) ->
        out.add(io.latticekv.proto.OriginSeq.newBuilder().setOrigin(origin.toBytes()).setSeq(seq).build()));
    return out;
  }

  private static List<Integer> ints(int[] values) {
    List<Integer> out = new ArrayList<>(values.length);
    for (int v : values) {
      out.add(v);
    }
    return out;
  }

  private static List<Long> longs(long[] values) {
    List<Long> out = new ArrayList<>(values.length);
    for (long v : values) {
      out.add(v);
    }
    return out;
  }

  static NodeId id(ByteString bytes) throws CrdtDecodeException {
    return NodeId.fromBytes(bytes);
  }

  private static List<io.latticekv.proto.MemberUpdate> updates(List<MemberUpdate> updates) {
    List<io.latticekv.proto.MemberUpdate> out = new ArrayList<>(updates.size());
    for (MemberUpdate u : updates) {
      var b = io.latticekv.proto.MemberUpdate.newBuilder().setNodeId(u.id().toBytes()).setAddress(u.address())
          .setIncarnation(u.incarnation()).setStatus(PeerMemberStatus.forNumber(u.status().ordinal()));
      if (u.adopter() != null) {
        b.setAdopter(u.adopter().toBytes());
      }
      out.add(b.build());
    }
    return out;
  }
}
