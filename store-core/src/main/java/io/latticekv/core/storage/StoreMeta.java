package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.KnownMember;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's {@code meta} column family: what a data directory is and has been — its format
 * version, node id, the replica ids it has written under, its membership incarnation, the hybrid
 * clock's lease, the Merkle segment width, and the cluster members it knows. Every write here is
 * fsynced: each of these must survive a power loss, and they change rarely.
 */
final class StoreMeta {

  private static final Logger log = LoggerFactory.getLogger(StoreMeta.class);

  private static final byte[] NODE_ID = bytes("node_id");
  private static final byte[] FORMAT = bytes("format_version");
  private static final byte[] HLC_LEASE = bytes("hlc_lease");
  private static final String REPLICA_PREFIX = "replica/";
  private static final byte[] INCARNATION = bytes("incarnation");
  private static final byte[] SEGMENT_BITS = bytes("merkle_segment_bits");
  private static final byte[] KNOWN_MEMBERS = bytes("known_members");
  private static final byte[] EPOCH = bytes("cluster_epoch");
  private static final String ADOPTED_PREFIX = "adopted/";
  private static final byte[] CLUSTER_RECORD = bytes("cluster_record");
  /** The layout of the known-members value; a reader refuses others. */
  private static final int KNOWN_MEMBERS_VERSION = 1;

  private final RocksDB db;
  private final ColumnFamilyHandle meta;
  private final WriteOptions synced;
  private final Path directory;

  StoreMeta(RocksDB db, ColumnFamilyHandle meta, WriteOptions synced, Path directory) {
    this.db = db;
    this.meta = meta;
    this.synced = synced;
    this.directory = directory;
  }

  /** Writes the format version into a new directory, refuses a directory of another version. */
  /**
   * The directory's format version: {@code version} for a new directory (recorded), the stored one
   * for another. A version this build does not read — newer, or not one of {@code 1} (converted at
   * open) and {@code version} — is refused, never guessed at.
   */
  int checkFormat(int version, boolean holdsData) {
    byte[] format = get(FORMAT);
    if (format == null) {
      if (holdsData) {
        throw new StorageException("data directory " + directory
            + " holds data but no format version: it was not written by LatticeKV");
      }
      put(FORMAT, bytes(Integer.toString(version)));
      return version;
    }
    String stored = new String(format, StandardCharsets.UTF_8);
    if (!stored.equals(Integer.toString(version)) && !stored.equals("1")) {
      throw new StorageException("data directory " + directory + " has format version " + stored
          + "; this build reads versions 1 (converted at open) and " + version);
    }
    return Integer.parseInt(stored);
  }

  /** The directory's recorded format version, or null when none is. */
  String format() {
    byte[] format = get(FORMAT);
    return format == null ? null : new String(format, StandardCharsets.UTF_8);
  }

  /** Records the directory's format version (fsynced): after a conversion. */
  void setFormat(int version) {
    put(FORMAT, bytes(Integer.toString(version)));
  }

  /**
   * The directory's node id; a new directory takes {@code certified} when given (the id its TLS
   * certificate names), else a random one. An existing directory whose id differs from {@code
   * certified} is refused: the node would claim an id its certificate does not prove.
   */
  NodeId loadOrCreateNodeId(Random random, NodeId certified) {
    byte[] stored = get(NODE_ID);
    if (stored != null) {
      NodeId id;
      try {
        id = NodeId.fromBytes(ByteString.copyFrom(stored));
      } catch (CrdtDecodeException e) {
        throw new StorageException("the node id in " + directory + " is damaged: " + e.getMessage(), e);
      }
      if (certified != null && !certified.equals(id)) {
        throw new StorageException("data directory " + directory + " belongs to node " + id
            + ", but the TLS certificate names node " + certified + "; issue a certificate for this node "
            + "(lattice gen-certs DIR --node-id " + id + ")");
      }
      return id;
    }
    NodeId fresh = certified != null ? certified : NodeId.random(random);
    put(NODE_ID, fresh.toBytes().toByteArray());
    log.info("new data directory {}: node id {}", directory, fresh);
    return fresh;
  }

  /** A replica id this directory wrote under, or adopted: when it started, the epoch then, and whether pruning is done. */
  record ReplicaRecord(NodeId id, long startedMillis, long epoch, boolean pruned) {}

  void recordReplicaId(NodeId replicaId, long millis, long epoch) {
    put(bytes(REPLICA_PREFIX + replicaId), replicaValue(millis, epoch, false));
  }

  private static byte[] replicaValue(long millis, long epoch, boolean pruned) {
    return ByteBuffer.allocate(2 * Long.BYTES + 1).putLong(millis).putLong(epoch).put((byte) (pruned ? 1 : 0)).array();
  }

  /** Every replica id this directory has written under, oldest first (by the time it started). */
  List<ReplicaRecord> replicaHistory() {
    List<ReplicaRecord> ids = records(REPLICA_PREFIX);
    ids.sort(java.util.Comparator.comparingLong(ReplicaRecord::startedMillis).thenComparing(ReplicaRecord::id));
    return ids;
  }

  /** The replica ids to prune at {@code atEpoch}, {@code current} being this life's ({@link RetiredIds#due}). */
  List<NodeId> retiredToPrune(NodeId current, long atEpoch) {
    return RetiredIds.due(retired(replicaHistory()), current, retired(adopted()), atEpoch);
  }

  private static List<RetiredIds.Retired> retired(List<ReplicaRecord> records) {
    return records.stream().map(r -> new RetiredIds.Retired(r.id(), r.epoch(), r.pruned())).toList();
  }

  /** Replica ids of removed members that this node adopted: it prunes them as its own. */
  List<ReplicaRecord> adopted() {
    return records(ADOPTED_PREFIX);
  }

  void adopt(NodeId replicaId, long millis, long epoch) {
    byte[] key = bytes(ADOPTED_PREFIX + replicaId);
    if (get(key) == null) {
      put(key, replicaValue(millis, epoch, false));
    }
  }

  /** Records that no key names {@code replicaId} any more (a sweep of the whole store found none). */
  void markPruned(NodeId replicaId) {
    for (String prefix : new String[] {REPLICA_PREFIX, ADOPTED_PREFIX}) {
      byte[] key = bytes(prefix + replicaId);
      byte[] value = get(key);
      if (value != null) {
        ByteBuffer b = ByteBuffer.wrap(value);
        long millis = b.getLong();
        long epoch = value.length >= 16 ? b.getLong() : 0;
        put(key, replicaValue(millis, epoch, true));
      }
    }
  }

  private List<ReplicaRecord> records(String prefixText) {
    List<ReplicaRecord> ids = new ArrayList<>();
    byte[] prefix = bytes(prefixText);
    try (RocksIterator it = db.newIterator(meta)) {
      for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
        NodeId id = NodeId.parse(new String(it.key(), prefix.length, it.key().length - prefix.length, StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(it.value());
        long millis = b.getLong();
        long epoch = it.value().length >= 16 ? b.getLong() : 0; // records written before epochs have none
        boolean pruned = it.value().length >= 17 && b.get() == 1;
        ids.add(new ReplicaRecord(id, millis, epoch, pruned));
      }
    }
    return ids;
  }

  /** The cluster epoch this directory last took part in; -1 when it never did (a new directory). */
  long epoch() {
    byte[] stored = get(EPOCH);
    return stored == null ? -1 : readLong(stored);
  }

  void setEpoch(long epoch) {
    put(EPOCH, longBytes(epoch));
  }

  /** The cluster's record of this node (participants, removed members; its layout is the cluster code's), or null. */
  byte[] clusterRecord() {
    return get(CLUSTER_RECORD);
  }

  void setClusterRecord(byte[] record) {
    put(CLUSTER_RECORD, record);
  }

  synchronized long nextIncarnation() {
    long next = readLong(get(INCARNATION)) + 1;
    put(INCARNATION, longBytes(next));
    return next;
  }

  long hlcLease() {
    return readLong(get(HLC_LEASE));
  }

  void setHlcLease(long packed) {
    put(HLC_LEASE, longBytes(packed));
  }

  /** The segment width of this directory: fixed when it is created, since the key layout depends on it. */
  int segmentBits(int requested) {
    byte[] stored = get(SEGMENT_BITS);
    if (stored == null) {
      put(SEGMENT_BITS, longBytes(requested));
      return requested;
    }
    int bits = (int) readLong(stored);
    if (bits != requested) {
      log.warn("data directory {} was created with {} Merkle segment bits; using them, not {}", directory, bits, requested);
    }
    return bits;
  }

  List<KnownMember> knownMembers() {
    byte[] stored = get(KNOWN_MEMBERS);
    List<KnownMember> members = new ArrayList<>();
    if (stored == null) {
      return members;
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(stored))) {
      int version = in.readUnsignedByte();
      if (version != KNOWN_MEMBERS_VERSION) {
        throw new IOException("layout version " + version);
      }
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        byte[] id = in.readNBytes(NodeId.BYTES);
        long incarnation = in.readLong();
        members.add(new KnownMember(NodeId.fromBytes(ByteString.copyFrom(id)), in.readUTF(), incarnation));
      }
    } catch (IOException | CrdtDecodeException e) {
      log.error("the list of known members in {} is damaged ({}); starting without it", directory, e.getMessage());
      members.clear();
    }
    return members;
  }

  void setKnownMembers(List<KnownMember> members) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(KNOWN_MEMBERS_VERSION);
      out.writeInt(members.size());
      for (KnownMember m : members) {
        out.write(m.id().toBytes().toByteArray());
        out.writeLong(m.incarnation());
        out.writeUTF(m.address());
      }
    } catch (IOException e) {
      throw new AssertionError("writing to memory cannot fail", e);
    }
    put(KNOWN_MEMBERS, bytes.toByteArray());
  }

  private byte[] get(byte[] key) {
    try {
      return db.get(meta, key);
    } catch (RocksDBException e) {
      throw new StorageException("cannot read store metadata: " + e.getMessage(), e);
    }
  }

  private void put(byte[] key, byte[] value) {
    try {
      db.put(meta, synced, key, value);
    } catch (RocksDBException e) {
      throw new StorageException("cannot write store metadata: " + e.getMessage(), e);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] longBytes(long value) {
    return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
  }

  static long readLong(byte[] bytes) {
    return bytes == null ? 0 : ByteBuffer.wrap(bytes).getLong();
  }

  static boolean startsWith(byte[] bytes, byte[] prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (bytes[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
