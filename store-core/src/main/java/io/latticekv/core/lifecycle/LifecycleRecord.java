package io.latticekv.core.lifecycle;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.transport.PeerMessage.MemberUpdate;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a node persists of its place in the cluster's lifecycle (docs/lifecycle.md), beside its
 * epoch: the participants of the epoch (every member that was ever a replica and was not removed),
 * the members removed for good, and the replica ids heard from each participant (so that the member
 * that adopts a removed one can prune them).
 *
 * @param replicaIds per participant, the replica ids its frames carried, oldest first, at most
 *     {@link #REPLICA_IDS_PER_MEMBER_MAX}
 */
public record LifecycleRecord(SortedSet<NodeId> participants, List<MemberUpdate> removed,
    Map<NodeId, List<NodeId>> replicaIds) {

  /**
   * Replica ids remembered per member: one per restart of it. Beyond this the oldest are
   * forgotten, and if the member is removed they stay in the states that name them (harmless, only
   * bytes); a member restarted more often than this between two epochs is not a real cluster.
   */
  public static final int REPLICA_IDS_PER_MEMBER_MAX = 64;

  private static final int VERSION = 1;

  public static LifecycleRecord empty() {
    return new LifecycleRecord(new TreeSet<>(), List.of(), Map.of());
  }

  public byte[] encode() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeInt(participants.size());
      for (NodeId id : participants) {
        out.write(id.toBytes().toByteArray());
      }
      out.writeInt(removed.size());
      for (MemberUpdate u : removed) {
        out.write(u.id().toBytes().toByteArray());
        out.writeUTF(u.address());
        out.writeLong(u.incarnation());
        out.writeBoolean(u.adopter() != null);
        if (u.adopter() != null) {
          out.write(u.adopter().toBytes().toByteArray());
        }
      }
      out.writeInt(replicaIds.size());
      for (Map.Entry<NodeId, List<NodeId>> e : replicaIds.entrySet()) {
        out.write(e.getKey().toBytes().toByteArray());
        out.writeInt(e.getValue().size());
        for (NodeId id : e.getValue()) {
          out.write(id.toBytes().toByteArray());
        }
      }
    } catch (IOException e) {
      throw new AssertionError("writing to memory cannot fail", e);
    }
    return bytes.toByteArray();
  }

  /** Decodes a record; {@link IOException} when it is damaged or of an unknown layout. */
  public static LifecycleRecord decode(byte[] bytes) throws IOException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      int version = in.readUnsignedByte();
      if (version != VERSION) {
        throw new IOException("unknown layout version " + version);
      }
      SortedSet<NodeId> participants = new TreeSet<>();
      for (int i = 0, n = count(in); i < n; i++) {
        participants.add(id(in));
      }
      List<MemberUpdate> removed = new ArrayList<>();
      for (int i = 0, n = count(in); i < n; i++) {
        NodeId id = id(in);
        String address = in.readUTF();
        long incarnation = in.readLong();
        NodeId adopter = in.readBoolean() ? id(in) : null;
        removed.add(new MemberUpdate(id, address, incarnation, MemberStatus.REMOVED, adopter));
      }
      Map<NodeId, List<NodeId>> replicaIds = new TreeMap<>();
      for (int i = 0, n = count(in); i < n; i++) {
        NodeId member = id(in);
        List<NodeId> ids = new ArrayList<>();
        for (int j = 0, m = count(in); j < m; j++) {
          ids.add(id(in));
        }
        replicaIds.put(member, ids);
      }
      return new LifecycleRecord(participants, removed, replicaIds);
    }
  }

  /** A count, bounded so that a damaged record cannot make the decoder allocate without end. */
  private static int count(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > 1_000_000) {
      throw new IOException("count " + n + " out of range");
    }
    return n;
  }

  private static NodeId id(DataInputStream in) throws IOException {
    try {
      return NodeId.fromBytes(ByteString.copyFrom(in.readNBytes(NodeId.BYTES)));
    } catch (CrdtDecodeException e) {
      throw new IOException(e.getMessage(), e);
    }
  }
}
