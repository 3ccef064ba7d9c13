package io.latticekv.server.peer;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import io.latticekv.proto.PeerFrame;
import io.latticekv.proto.PeerMemberStatus;
import java.util.ArrayList;
import java.util.List;

/** Converts the protocol's {@link PeerMessage} records to and from {@link PeerFrame}s. */
public final class PeerCodec {

  private PeerCodec() {}

  /** A peer frame that does not make sense: the connection is closed. */
  static final class BadFrame extends Exception {
    private static final long serialVersionUID = 1L;

    BadFrame(String message) {
      super(message);
    }
  }

  public static PeerFrame encode(PeerMessage message) {
    PeerFrame.Builder frame = PeerFrame.newBuilder();
    if (message instanceof PeerMessage.Join m) {
      frame.setJoin(io.latticekv.proto.Join.newBuilder().setFrom(m.from().toBytes())
          .setAddress(m.address()).setIncarnation(m.incarnation()));
    } else if (message instanceof PeerMessage.JoinReply m) {
      frame.setJoinReply(io.latticekv.proto.JoinReply.newBuilder().setFrom(m.from().toBytes())
          .addAllMembers(updates(m.members())));
    } else if (message instanceof PeerMessage.Ping m) {
      frame.setPing(io.latticekv.proto.Ping.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
          .addAllGossip(updates(m.gossip())));
    } else if (message instanceof PeerMessage.Ack m) {
      frame.setAck(io.latticekv.proto.Ack.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
          .addAllGossip(updates(m.gossip())));
    } else if (message instanceof PeerMessage.PingReq m) {
      frame.setPingReq(io.latticekv.proto.PingReq.newBuilder().setFrom(m.from().toBytes()).setSeq(m.seq())
          .setTarget(m.target().toBytes()).setTargetAddress(m.targetAddress()));
    } else if (message instanceof PeerMessage.Gossip m) {
      frame.setGossip(io.latticekv.proto.Gossip.newBuilder().setFrom(m.from().toBytes())
          .addAllGossip(updates(m.gossip())));
    } else if (message instanceof PeerMessage.RumorBatch m) {
      io.latticekv.proto.RumorBatch.Builder batch = io.latticekv.proto.RumorBatch.newBuilder()
          .setFrom(m.from().toBytes()).setBatchId(m.batchId());
      for (PeerMessage.Rumor r : m.rumors()) {
        batch.addRumors(io.latticekv.proto.Rumor.newBuilder().setKey(r.key()).setDelta(CrdtCodec.toProto(r.delta()))
            .addAllVersions(originSeqs(r.versions())));
      }
      if (m.digest() != null) {
        batch.setWantsReply(true).addAllDigest(originSeqs(m.digest()));
      }
      frame.setRumorBatch(batch);
    } else if (message instanceof PeerMessage.RumorPull m) {
      frame.setRumorPull(io.latticekv.proto.RumorPull.newBuilder().setFrom(m.from().toBytes())
          .addAllDigest(originSeqs(m.digest())));
    } else if (message instanceof PeerMessage.ReplicaWrite m) {
      frame.setReplicaWrite(io.latticekv.proto.ReplicaWrite.newBuilder().setFrom(m.from().toBytes()).setId(m.id())
          .setKey(m.key()).setState(CrdtCodec.toProto(m.state())));
    } else if (message instanceof PeerMessage.ReplicaWriteAck m) {
      frame.setReplicaWriteAck(io.latticekv.proto.ReplicaWriteAck.newBuilder().setFrom(m.from().toBytes())
          .setId(m.id()).setError(m.error()));
    } else if (message instanceof PeerMessage.ReplicaRead m) {
      frame.setReplicaRead(io.latticekv.proto.ReplicaRead.newBuilder().setFrom(m.from().toBytes()).setId(m.id())
          .setKey(m.key()));
    } else if (message instanceof PeerMessage.ReplicaReadReply m) {
      io.latticekv.proto.ReplicaReadReply.Builder reply = io.latticekv.proto.ReplicaReadReply.newBuilder()
          .setFrom(m.from().toBytes()).setId(m.id()).setError(m.error()).setFound(m.state() != null);
      if (m.state() != null) {
        reply.setState(CrdtCodec.toProto(m.state()));
      }
      frame.setReplicaReadReply(reply);
    } else if (message instanceof PeerMessage.AeHashes m) {
      frame.setAeHashes(io.latticekv.proto.AeHashes.newBuilder().setFrom(m.from().toBytes()).setExchange(m.exchange())
          .setLevel(m.level()).addAllIndexes(ints(m.indexes())));
    } else if (message instanceof PeerMessage.AeHashesReply m) {
      io.latticekv.proto.AeHashesReply.Builder b = io.latticekv.proto.AeHashesReply.newBuilder()
          .setFrom(m.from().toBytes()).setExchange(m.exchange()).setLevel(m.level()).addAllIndexes(ints(m.indexes()));
      for (long h : m.hashes()) {
        b.addHashes(h);
      }
      frame.setAeHashesReply(b);
    } else if (message instanceof PeerMessage.AeSegments m) {
      frame.setAeSegments(io.latticekv.proto.AeSegments.newBuilder().setFrom(m.from().toBytes())
          .setExchange(m.exchange()).addAllSegments(ints(m.segments())));
    } else if (message instanceof PeerMessage.AeSegmentsReply m) {
      io.latticekv.proto.AeSegmentsReply.Builder b = io.latticekv.proto.AeSegmentsReply.newBuilder()
          .setFrom(m.from().toBytes()).setExchange(m.exchange());
      for (PeerMessage.KeyDigest kd : m.entries()) {
        b.addEntries(io.latticekv.proto.KeyDigest.newBuilder().setKey(kd.key()).setDigest(kd.digest()));
      }
      frame.setAeSegmentsReply(b);
    } else if (message instanceof PeerMessage.AeFetch m) {
      frame.setAeFetch(io.latticekv.proto.AeFetch.newBuilder().setFrom(m.from().toBytes()).setExchange(m.exchange())
          .addAllKeys(m.keys()));
    } else if (message instanceof PeerMessage.AeStates m) {
      io.latticekv.proto.AeStates.Builder b = io.latticekv.proto.AeStates.newBuilder().setFrom(m.from().toBytes())
          .setExchange(m.exchange()).setPush(m.push());
      for (PeerMessage.KeyState ks : m.states()) {
        b.addStates(io.latticekv.proto.KeyState.newBuilder().setKey(ks.key()).setState(CrdtCodec.toProto(ks.state())));
      }
      frame.setAeStates(b);
    } else if (message instanceof PeerMessage.RumorAck m) {
      frame.setRumorAck(io.latticekv.proto.RumorAck.newBuilder().setFrom(m.from().toBytes())
          .setBatchId(m.batchId()).addAllWasNew(m.wasNew()));
    }
    return frame.build();
  }

  static PeerMessage decode(PeerFrame frame) throws BadFrame {
    try {
      return switch (frame.getBodyCase()) {
        case JOIN -> new PeerMessage.Join(id(frame.getJoin().getFrom()), frame.getJoin().getAddress(),
            frame.getJoin().getIncarnation());
        case JOIN_REPLY -> new PeerMessage.JoinReply(id(frame.getJoinReply().getFrom()),
            updatesFrom(frame.getJoinReply().getMembersList()));
        case PING -> new PeerMessage.Ping(id(frame.getPing().getFrom()), frame.getPing().getSeq(),
            updatesFrom(frame.getPing().getGossipList()));
        case ACK -> new PeerMessage.Ack(id(frame.getAck().getFrom()), frame.getAck().getSeq(),
            updatesFrom(frame.getAck().getGossipList()));
        case PING_REQ -> new PeerMessage.PingReq(id(frame.getPingReq().getFrom()), frame.getPingReq().getSeq(),
            id(frame.getPingReq().getTarget()), frame.getPingReq().getTargetAddress());
        case GOSSIP -> new PeerMessage.Gossip(id(frame.getGossip().getFrom()), updatesFrom(frame.getGossip().getGossipList()));
        case RUMOR_BATCH -> rumorBatch(frame.getRumorBatch());
        case AE_HASHES -> new PeerMessage.AeHashes(id(frame.getAeHashes().getFrom()), frame.getAeHashes().getExchange(),
            frame.getAeHashes().getLevel(), toInts(frame.getAeHashes().getIndexesList()));
        case AE_HASHES_REPLY -> aeHashesReply(frame.getAeHashesReply());
        case AE_SEGMENTS -> new PeerMessage.AeSegments(id(frame.getAeSegments().getFrom()),
            frame.getAeSegments().getExchange(), toInts(frame.getAeSegments().getSegmentsList()));
        case AE_SEGMENTS_REPLY -> aeSegmentsReply(frame.getAeSegmentsReply());
        case AE_FETCH -> new PeerMessage.AeFetch(id(frame.getAeFetch().getFrom()), frame.getAeFetch().getExchange(),
            List.copyOf(frame.getAeFetch().getKeysList()));
        case AE_STATES -> aeStates(frame.getAeStates());
        case RUMOR_PULL -> new PeerMessage.RumorPull(id(frame.getRumorPull().getFrom()),
            originSeqsFrom(frame.getRumorPull().getDigestList()));
        case RUMOR_ACK -> new PeerMessage.RumorAck(id(frame.getRumorAck().getFrom()),
            frame.getRumorAck().getBatchId(), frame.getRumorAck().getWasNewList());
        case REPLICA_WRITE -> new PeerMessage.ReplicaWrite(id(frame.getReplicaWrite().getFrom()),
            frame.getReplicaWrite().getId(), nonEmptyKey(frame.getReplicaWrite().getKey()),
            CrdtCodec.fromProto(frame.getReplicaWrite().getState()));
        case REPLICA_WRITE_ACK -> new PeerMessage.ReplicaWriteAck(id(frame.getReplicaWriteAck().getFrom()),
            frame.getReplicaWriteAck().getId(), frame.getReplicaWriteAck().getError());
        case REPLICA_READ -> new PeerMessage.ReplicaRead(id(frame.getReplicaRead().getFrom()),
            frame.getReplicaRead().getId(), nonEmptyKey(frame.getReplicaRead().getKey()));
        case REPLICA_READ_REPLY -> new PeerMessage.ReplicaReadReply(id(frame.getReplicaReadReply().getFrom()),
            frame.getReplicaReadReply().getId(),
            frame.getReplicaReadReply().getFound() ? CrdtCodec.fromProto(frame.getReplicaReadReply().getState()) : null,
            frame.getReplicaReadReply().getError());
        default -> throw new BadFrame("unexpected peer frame " + frame.getBodyCase());
      };
    } catch (CrdtDecodeException e) {
      throw new BadFrame("invalid peer frame: " + e.getMessage());
    }
  }

  private static PeerMessage rumorBatch(io.latticekv.proto.RumorBatch batch) throws CrdtDecodeException {
    List<PeerMessage.Rumor> rumors = new ArrayList<>(batch.getRumorsCount());
    for (io.latticekv.proto.Rumor r : batch.getRumorsList()) {
      if (r.getKey().isEmpty()) {
        throw new CrdtDecodeException("a rumor with an empty key");
      }
      rumors.add(new PeerMessage.Rumor(r.getKey(), CrdtCodec.fromProto(r.getDelta()), originSeqsFrom(r.getVersionsList())));
    }
    return new PeerMessage.RumorBatch(id(batch.getFrom()), batch.getBatchId(), rumors,
        batch.getWantsReply() ? originSeqsFrom(batch.getDigestList()) : null);
  }

  private static List<io.latticekv.proto.OriginSeq> originSeqs(java.util.Map<NodeId, Long> versions) {
    List<io.latticekv.proto.OriginSeq> out = new ArrayList<>(versions.size());
    versions.forEach((origin, seq) ->
        out.add(io.latticekv.proto.OriginSeq.newBuilder().setOrigin(origin.toBytes()).setSeq(seq).build()));
    return out;
  }

  private static java.util.Map<NodeId, Long> originSeqsFrom(List<io.latticekv.proto.OriginSeq> list)
      throws CrdtDecodeException {
    java.util.Map<NodeId, Long> out = new java.util.HashMap<>();
    for (io.latticekv.proto.OriginSeq o : list) {
      out.merge(id(o.getOrigin()), o.getSeq(), Math::max);
    }
    return out;
  }

  private static PeerMessage aeHashesReply(io.latticekv.proto.AeHashesReply m) throws CrdtDecodeException {
    if (m.getIndexesCount() != m.getHashesCount()) {
      throw new CrdtDecodeException("hash reply with " + m.getIndexesCount() + " indexes and " + m.getHashesCount() + " hashes");
    }
    long[] hashes = new long[m.getHashesCount()];
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = m.getHashes(i);
    }
    return new PeerMessage.AeHashesReply(id(m.getFrom()), m.getExchange(), m.getLevel(), toInts(m.getIndexesList()), hashes);
  }

  private static PeerMessage aeSegmentsReply(io.latticekv.proto.AeSegmentsReply m) throws CrdtDecodeException {
    List<PeerMessage.KeyDigest> entries = new ArrayList<>(m.getEntriesCount());
    for (io.latticekv.proto.KeyDigest kd : m.getEntriesList()) {
      entries.add(new PeerMessage.KeyDigest(nonEmptyKey(kd.getKey()), kd.getDigest()));
    }
    return new PeerMessage.AeSegmentsReply(id(m.getFrom()), m.getExchange(), entries);
  }

  private static PeerMessage aeStates(io.latticekv.proto.AeStates m) throws CrdtDecodeException {
    List<PeerMessage.KeyState> states = new ArrayList<>(m.getStatesCount());
    for (io.latticekv.proto.KeyState ks : m.getStatesList()) {
      states.add(new PeerMessage.KeyState(nonEmptyKey(ks.getKey()), CrdtCodec.fromProto(ks.getState())));
    }
    return new PeerMessage.AeStates(id(m.getFrom()), m.getExchange(), states, m.getPush());
  }

  private static List<Integer> ints(int[] values) {
    List<Integer> out = new ArrayList<>(values.length);
    for (int v : values) {
      out.add(v);
    }
    return out;
  }

  private static int[] toInts(List<Integer> values) {
    int[] out = new int[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  private static ByteString nonEmptyKey(ByteString key) throws CrdtDecodeException {
    if (key.isEmpty()) {
      throw new CrdtDecodeException("an empty key");
    }
    return key;
  }

  static NodeId id(ByteString bytes) throws CrdtDecodeException {
    return NodeId.fromBytes(bytes);
  }

  private static List<io.latticekv.proto.MemberUpdate> updates(List<MemberUpdate> updates) {
    List<io.latticekv.proto.MemberUpdate> out = new ArrayList<>(updates.size());
    for (MemberUpdate u : updates) {
      out.add(io.latticekv.proto.MemberUpdate.newBuilder().setNodeId(u.id().toBytes()).setAddress(u.address())
          .setIncarnation(u.incarnation()).setStatus(PeerMemberStatus.forNumber(u.status().ordinal())).build());
    }
    return out;
  }

  private static List<MemberUpdate> updatesFrom(List<io.latticekv.proto.MemberUpdate> updates) throws CrdtDecodeException {
    List<MemberUpdate> out = new ArrayList<>(updates.size());
    for (io.latticekv.proto.MemberUpdate u : updates) {
      int status = u.getStatusValue();
      if (status < 0 || status >= MemberStatus.values().length) {
        throw new CrdtDecodeException("unknown member status " + status);
      }
      if (u.getAddress().isEmpty()) {
        throw new CrdtDecodeException("a member without an address");
      }
      out.add(new MemberUpdate(id(u.getNodeId()), u.getAddress(), u.getIncarnation(), MemberStatus.values()[status]));
    }
    return out;
  }
}
