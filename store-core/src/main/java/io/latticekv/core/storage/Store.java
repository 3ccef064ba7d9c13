package io.latticekv.core.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.clock.HybridLogicalClock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.TypeMismatch;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.StoredState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's durable replica: every key's CRDT state in RocksDB.
 *
 * <p>Layout: column family {@code data} maps a key's bytes to its canonical CRDT encoding;
 * column family {@code meta} holds the node id, the format version, the hybrid logical clock's
 * lease and the list of replica ids this directory has written under.
 *
 * <p>A write is an atomic read-merge-write of one key under a striped lock: read the state (cache
 * or RocksDB), refuse another type, compute the update's delta, merge, encode, write. Concurrent
 * writes to one key therefore never lose each other. Values are validated when read (decoding
 * checks every invariant) and states from outside are validated when decoded, before they reach
 * a write.
 *
 * <p><b>Replica ids.</b> Counter entries and set dots are written under a <em>replica id</em>,
 * which must never be reused with state older than what was written under it: if a directory is
 * wiped or restored from an older copy and the node went on writing under its old id, its new
 * increments and adds would be dominated by the ones the copy lost, which the other replicas
 * still hold, and vanish silently (riak_kv#679). Like Pekko, which gives every start of a node a
 * fresh unique id, this store draws a new random replica id at every open, so no id ever spans
 * two lives of a directory, whatever happened to the files in between. The node id, which names
 * the node to its peers, stays stable. The cost is one entry per life that wrote to a counter, and
 * one per life in set contexts; they are listed under {@code meta} for pruning.
 *
 * <p><b>Clock.</b> The hybrid logical clock's floor is persisted as a lease: before issuing a
 * timestamp past the lease, the store fsyncs a new lease a few seconds ahead. A restart starts the
 * clock above the lease, so timestamps never go backwards, even if the machine's clock did.
 */
public final class Store implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Store.class);

  /** The on-disk layout version; a directory of another version is refused, never guessed at. */
  public static final int FORMAT_VERSION = 2;

  /** How far ahead each clock lease reaches: one fsync per this many milliseconds of writes. */
  private static final long HLC_LEASE_MILLIS = 10_000;

  private static final byte[] CF_DATA = "data".getBytes(StandardCharsets.UTF_8);
  private static final byte[] CF_META = "meta".getBytes(StandardCharsets.UTF_8);
  /** Large sets, one row per element, and their dot index (format 2; see {@link ElementRows}). */
  private static final byte[] CF_ELEMENTS = "elements".getBytes(StandardCharsets.UTF_8);
  private static final byte[] CF_DOTS = "dots".getBytes(StandardCharsets.UTF_8);
  /** Every data key starts with its Merkle segment, so a segment's keys are one prefix scan. */
  private static final int SEGMENT_PREFIX_BYTES = 4;
  /** Progress of the tree build at startup is logged every this many keys. */
  private static final long BUILD_LOG_EVERY = 500_000;

  static {
    RocksDB.loadLibrary();
  }

  private final StoreOptions options;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final ColumnFamilyOptions rowOptions;
  private final RocksDB db;
  private final ColumnFamilyHandle data;
  private final ColumnFamilyHandle meta;
  private final ElementRows rows;
  private final List<ColumnFamilyHandle> handles;
  private final WriteOptions writeOptions;
  private final WriteOptions syncedWrite;
  private final GroupCommitter groupCommitter;
  private final StoreMeta metadata;
  private final NodeId nodeId;
  private final NodeId replicaId;
  private final HybridLogicalClock hlc;
  private final Object leaseLock = new Object();
  private volatile long leaseMillis;
  private final ReentrantLock[] stripes;
  private final Cache<ByteString, Cached> cache;
  /** This life's client writes while a discard may come (the lifecycle opens and closes it). */
  private final OwnWrites ownWrites = new OwnWrites();
  private volatile boolean closed;
  /** Writes applied (client writes, rumors, repairs), and the RocksDB writes that stored them. */
  private final java.util.concurrent.atomic.LongAdder writesApplied = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder rocksDbWrites = new java.util.concurrent.atomic.LongAdder();
  /** Keys whose every life was collected, so they left the store. */
  private final java.util.concurrent.atomic.LongAdder keysCollected = new java.util.concurrent.atomic.LongAdder();
  /** A write stored a tombstone or a retired mark (see {@link #takeLifecycleWork}); racy by design, a hint. */
  private volatile boolean lifecycleWork;
  /** States from peers refused, by reason; clients get theirs as errors. */
  private final PeerRefusals refusals;

  /**
   * A decoded state — or, for a set stored one row per element, its record — with its stored
   * size and its current contribution to the Merkle tree.
   */
  private record Cached(Lives state, SplitRecord record, int bytes, long entryHash) {}

  /** The cluster epoch (docs/lifecycle.md): what collection and deletes go by; -1 until the node first takes one. */
  private volatile long epoch;
  /** Numbers of the lives this replica id starts: unique per replica id, which is new at every open. */
  private final java.util.concurrent.atomic.AtomicLong lifeSeq = new java.util.concurrent.atomic.AtomicLong();

  private final MerkleTree tree;
  private final SegmentScans scans;
  private final SplitReads splitReads;

  private Store(StoreOptions options) {
    this.options = options;
    try {
      Files.createDirectories(options.directory());
    } catch (IOException e) {
      throw new StorageException("cannot create data directory " + options.directory() + ": " + e.getMessage(), e);
    }
    // In-place memtable updates: a key rewritten while its last value is still in the memtable
    // (a hot counter, a register) overwrites that value when the new one is no longer, instead
    // of adding one more skiplist entry per write. Skiplist inserts into a memtable grown with old
    // versions were a fifth of a write's CPU in profiles (docs/benchmarks.md). The price: an
    // iterator over the memtable is not a point-in-time view, which only the anti-entropy segment
    // listing uses, and a digest read mid-update there costs at most one needless key repair.
    // In-place updates require memtable inserts from one thread at a time.
    this.dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
        .setAllowConcurrentMemtableWrite(false);
    // A Bloom filter per table (10 bits a key, about 1 % false positives): a read of a key that
    // is not stored skips the tables that cannot hold it instead of searching each of them.
    this.cfOptions = new ColumnFamilyOptions().setInplaceUpdateSupport(true)
        .setTableFormatConfig(new BlockBasedTableConfig().setFilterPolicy(new BloomFilter(10)));
    // The element rows are dropped by range deletes, which in-place updates would break: a value
    // updated in place keeps its old sequence number, so a range delete after it would hide the
    // new value too.
    this.rowOptions = new ColumnFamilyOptions()
        .setTableFormatConfig(new BlockBasedTableConfig().setFilterPolicy(new BloomFilter(10)));
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(CF_DATA, cfOptions),
        new ColumnFamilyDescriptor(CF_META, cfOptions),
        new ColumnFamilyDescriptor(CF_ELEMENTS, rowOptions),
        new ColumnFamilyDescriptor(CF_DOTS, rowOptions));
    this.handles = new ArrayList<>();
    try {
      this.db = RocksDB.open(dbOptions, options.directory().toString(), descriptors, handles);
    } catch (RocksDBException e) {
      dbOptions.close();
      cfOptions.close();
      rowOptions.close();
      String why = e.getMessage() != null && e.getMessage().contains("lock")
          ? "it is in use by another process (" + e.getMessage() + ")"
          : e.getMessage();
      throw new StorageException("cannot open data directory " + options.directory() + ": " + why, e);
    }
    this.data = handles.get(1);
    this.meta = handles.get(2);
    this.rows = new ElementRows(db, handles.get(3), handles.get(4));
    this.writeOptions = new WriteOptions().setSync(options.sync() == SyncPolicy.ALWAYS);
    this.syncedWrite = new WriteOptions().setSync(true);
    this.metadata = new StoreMeta(db, meta, syncedWrite, options.directory());
    this.refusals = new PeerRefusals(options.clock());
    try {
      int format = metadata.checkFormat(FORMAT_VERSION, hasAnyData());
      if (format == 1) {
        FormatMigration.toVersion2(db, data, rows, this::splitsAs, options.directory());
        metadata.setFormat(FORMAT_VERSION);
      }
      this.nodeId = metadata.loadOrCreateNodeId(options.random(), options.certifiedNodeId());
      this.replicaId = NodeId.random(options.random());
      this.epoch = metadata.epoch();
      metadata.recordReplicaId(replicaId, options.clock().millis(), Math.max(0, epoch));
      HlcTimestamp floor = new HlcTimestamp(metadata.hlcLease());
      this.hlc = new HybridLogicalClock(options.clock(), floor);
      this.leaseMillis = floor.physicalMillis();
    } catch (RuntimeException e) {
      closeHandles();
      throw e;
    }
    this.tree = new MerkleTree(metadata.segmentBits(options.segmentBits()));
    this.scans = new SegmentScans(db, data, tree, this::stateOfRow, Store::digestOfRow);
    this.splitReads = new SplitReads(rows, new SplitReads.Access() {
      @Override
      public SplitReads.Stored stored(ByteString key) {
        Cached c = cache.get(key, Store.this::load);
        return c == null ? null : new SplitReads.Stored(c.state(), c.record());
      }

      @Override
      public <T> T locked(ByteString key, java.util.function.Supplier<T> read) {
        return whileOpen(() -> withKeyLock(key, read));
      }

      @Override
      public <T> T open(java.util.function.Supplier<T> read) {
        return whileOpen(read);
      }

      @Override
      public byte[] dataKey(ByteString key) {
        return Store.this.dataKey(key);
      }

      @Override
      public Lives readWhole(byte[] storedKey, byte[] value) {
        return stateOfRow(storedKey, value);
      }
    });
    StreamedLoad.removeLeftovers(ingestDirectory());
    buildTree();
    this.groupCommitter = options.sync() == SyncPolicy.BATCH ? new GroupCommitter(db) : null;
    this.stripes = new ReentrantLock[options.lockStripes()];
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
    this.cache = Caffeine.newBuilder()
        .maximumWeight(options.cacheBytes())
        .weigher((ByteString key, Cached value) -> key.size() + value.bytes() + 64)
        .recordStats()
        .build();
    log.info("opened store {} (node {}, replica {}, sync {})",
        options.directory(), nodeId, replicaId, options.sync().name().toLowerCase());
  }

  /** Opens (creating when needed) the store in {@code options.directory()}. */
  public static Store open(StoreOptions options) {
    return new Store(options);
  }

  /** The stable identity of this data directory. */
  public NodeId nodeId() {
    return nodeId;
  }

  /** The id this life of the store writes counter entries, dots and registers under. */
  public NodeId replicaId() {
    return replicaId;
  }

  /**
   * The next membership incarnation of this node, persisted before it is returned: a restarted
   * node announces itself with an incarnation above every one it used before, so its peers take
   * it as alive again rather than as an old rumor.
   */
  public long nextIncarnation() {
    checkOpen();
    return metadata.nextIncarnation();
  }

  /** Every replica id this directory has written under, oldest first. */
  public List<NodeId> replicaHistory() {
    checkOpen();
    return metadata.replicaHistory().stream().map(StoreMeta.ReplicaRecord::id).toList();
  }

  /**
   * The replica ids this node prunes ({@link CrdtUpdate.Retire}) at {@code atEpoch}: its own
   * earlier ones and those it adopted from removed members, once their data is final everywhere —
   * {@link io.latticekv.core.crdt.Life#COLLECT_AFTER_EPOCHS} epochs after they retired — and not
   * yet pruned from every key.
   */
  public List<NodeId> retiredToPrune(long atEpoch) {
    checkOpen();
    return metadata.retiredToPrune(replicaId, atEpoch);
  }

  /** Takes over pruning {@code replicaId} of a removed member, from {@code atEpoch} on (persisted). */
  public void adopt(NodeId replicaId, long atEpoch) {
    checkOpen();
    metadata.adopt(replicaId, options.clock().millis(), atEpoch);
  }

  /** Records that a whole sweep found no key naming {@code replicaId}: its pruning is done. */
  public void markPruned(NodeId replicaId) {
    checkOpen();
    metadata.markPruned(replicaId);
  }

  /** The cluster epoch this node is at; -1 for a directory that never took part in a cluster epoch. */
  public long epoch() {
    return epoch;
  }

  /** Moves to cluster epoch {@code next} (persisted, fsynced, never backwards). */
  public synchronized void setEpoch(long next) {
    checkOpen();
    if (next < epoch) {
      throw new IllegalArgumentException("epochs never go back: " + epoch + " to " + next);
    }
    if (next != epoch) {
      metadata.setEpoch(next);
      epoch = next;
    }
  }

  /** What the cluster code last saved of this node's place in the cluster (opaque here); null when nothing. */
  public byte[] clusterRecord() {
    checkOpen();
    return metadata.clusterRecord();
  }

  /** Saves the cluster code's record (fsynced). */
  public void saveClusterRecord(byte[] record) {
    checkOpen();
    metadata.setClusterRecord(record);
  }

  /** Keys one step of {@link #discardAll} drops at most: bounds one batch. */
  private static final int DISCARD_BATCH_KEYS = 1_024;

  /** This life's client writes, kept while a discard may come (the lifecycle opens and closes the log). */
  public OwnWrites ownWrites() {
    return ownWrites;
  }

  /**
   * Drops every key (docs/lifecycle.md: a node restored from a backup older than the cluster's
   * horizon holds nothing the others lack, and what it holds may be deleted data) but what this
   * life wrote to it ({@link #ownWrites}), which replaces the key's state in the same batch under
   * its lock; returns how many keys were dropped or replaced. Keys written after the discard
   * passed them keep what was written.
   */
  public long discardAll() {
    return whileOpen(this::discardAllOpen);
  }

  private long discardAllOpen() {
    long dropped = 0;
    byte[] after = null; // where the next batch starts: a seek from the first key would walk every tombstone left so far
    while (true) {
      List<ByteString> keys = new ArrayList<>();
      try (RocksIterator it = db.newIterator(data)) {
        if (after == null) {
          it.seekToFirst();
        } else {
          it.seek(after);
          if (it.isValid() && java.util.Arrays.equals(it.key(), after)) {
            it.next();
          }
        }
        for (; it.isValid() && keys.size() < DISCARD_BATCH_KEYS; it.next()) {
          after = it.key();
          keys.add(keyOf(after));
        }
      }
      if (keys.isEmpty()) {
        compactData("discarding " + dropped + " keys");
        return dropped;
      }
      ReentrantLock[] locks = stripesOfKeys(keys);
      for (ReentrantLock lock : locks) {
        lock.lock();
      }
      int removed;
      try {
        Map<ByteString, Pending> pending = new HashMap<>();
        for (ByteString key : keys) {
          Pending p = pendingOf(key);
          p.split = null;
          Lives own = ownWrites.of(key);
          if (own == null) {
            p.state = Lives.empty();
            p.removed = true;
            p.discarded = true;
          } else { // what this life wrote, which nobody else may hold yet, stays
            p.state = own;
            p.deferred = true;
          }
          if (p.before != null && (p.wasSplit() || !p.state.equals(p.before.state()))) {
            pending.put(key, p);
          }
        }
        if (!pending.isEmpty()) {
          store(pending); // a key gone meanwhile has nothing to drop; the next batch starts after it
        }
        removed = pending.size();
      } finally {
        for (int i = locks.length - 1; i >= 0; i--) {
          locks[i].unlock();
        }
      }
      dropped += removed;
    }
  }

  /**
   * Compacts the data column family, which drops the tombstones RocksDB keeps for deleted keys:
   * after most keys went at once, every scan would otherwise step over them until the background
   * compactions reach them.
   */
  private void compactData(String why) {
    long start = System.nanoTime();
    // Forced at the bottom level: a lone file would otherwise move down whole, tombstones and all.
    try (org.rocksdb.CompactRangeOptions options = new org.rocksdb.CompactRangeOptions()
        .setBottommostLevelCompaction(org.rocksdb.CompactRangeOptions.BottommostLevelCompaction.kForceOptimized)) {
      db.compactRange(data, null, null, options);
      db.compactRange(rows.elementFamily(), null, null, options);
      db.compactRange(rows.dotFamily(), null, null, options);
      log.info("compacted the stored keys after {} in {} ms", why, (System.nanoTime() - start) / 1_000_000);
    } catch (RocksDBException e) {
      log.warn("could not compact the stored keys after {}: {}", why, e.getMessage());
    }
  }


  /**
   * Takes cluster epoch {@code next} even below the current one (persisted): only for a directory
   * that never took part in a cluster's epoch, joining one (docs/lifecycle.md).
   */
  public synchronized void resetEpoch(long next) {
    checkOpen();
    metadata.setEpoch(next);
    // This life counts from here: its earlier ids are pruned three epochs on from the new epoch,
    // once this node holds what the cluster did with them (another life may have pruned them).
    metadata.recordReplicaId(replicaId, options.clock().millis(), Math.max(0, next));
    epoch = next;
  }

  /** The cluster members this node knew to be replicas when it last saved them. */
  public List<io.latticekv.core.membership.KnownMember> knownMembers() {
    checkOpen();
    return metadata.knownMembers();
  }

  /** Saves the members this node knows to be replicas (fsynced: a restart must find them). */
  public void saveKnownMembers(List<io.latticekv.core.membership.KnownMember> members) {
    checkOpen();
    metadata.setKnownMembers(members);
  }

  public SyncPolicy sync() {
    return options.sync();
  }

  // ---------------------------------------------------------------- reads

  /**
   * The state of {@code key}, or empty if it was never written.
   *
   * @throws StorageException when the stored bytes do not decode: the store is damaged
   */
  public Optional<Lives> get(ByteString key) {
    checkOpen();
    Cached cached = cache.get(key, this::load);
    if (cached == null) {
      return Optional.empty();
    }
    if (cached.record() != null) {
      return readSplit(key);
    }
    return Optional.of(cached.state());
  }

  /**
   * The state of a key stored one row per element, read whole under the key's lock: its record and
   * its rows from one moment. Without the lock, a write that moves the set back to one value (it
   * shrank, took another life) could drop the rows between the two reads, and the record's context
   * with no rows would read as every element removed — a state that, sent to a peer, removes them
   * there. O(the set's size), holding the key's lock (the rare whole reads of a large set).
   */
  private Optional<Lives> readSplit(ByteString key) {
    return whileOpen(() -> withKeyLock(key, () -> {
      Cached now = cache.get(key, this::load);
      if (now == null) {
        return Optional.<Lives>empty();
      }
      return Optional.of(now.record() == null ? now.state()
          : SplitSet.read(rows, ElementRows.prefix(dataKey(key)), now.record()));
    }));
  }

  private <T> T withKeyLock(ByteString key, java.util.function.Supplier<T> read) {
    ReentrantLock lock = stripes[stripe(key)];
    lock.lock();
    try {
      return read.get();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The state a stored row of {@code data} holds, read whole: a set stored one row per element is
   * read from its rows, O(its size). For scans (the sweep, segment listings, streams).
   */
  Lives stateOfRow(byte[] storedKey, byte[] value) {
    ByteString key = keyOf(storedKey);
    if (SplitRecord.isRecord(value)) { // its state now, record and rows together (see readSplit)
      return readSplit(key).orElse(Lives.empty());
    }
    return decodeStored(key, value);
  }

  /**
   * A set stored one row per element, read in place ({@link LargeSet}); empty when the key is
   * stored otherwise (docs/architecture.md, "Sets").
   */
  public Optional<LargeSet> largeSet(ByteString key) {
    checkOpen();
    return splitReads.largeSet(key);
  }

  /**
   * The plain set at {@code key} as a repair by buckets reads it ({@link SplitReads#plainSet});
   * empty when the key holds anything else.
   */
  public Optional<io.latticekv.core.crdt.SetRepair.Source> plainSet(ByteString key) {
    checkOpen();
    return splitReads.plainSet(key);
  }


  /** The format version the directory records (for tests). */
  String storedFormat() {
    return metadata.format();
  }

  /** Whether {@code key} is stored one row per element (for tests). */
  boolean storedSplit(ByteString key) {
    Cached cached = cache.get(key, this::load);
    return cached != null && cached.record() != null;
  }

  /** What the lifecycle sweep reads of a stored row ({@link SplitReads#sweepView}). */
  Lives sweepViewOfRow(byte[] storedKey, byte[] value) {
    return splitReads.sweepView(storedKey, value);
  }

  /** The digest of a stored row's state, from the row alone (a set's record carries its elements' share). */
  static long digestOfRow(byte[] value) {
    return SplitRecord.isRecord(value) ? SplitRecord.digest(value) : CrdtCodec.digest(value);
  }

  /**
   * Whether {@code state} is stored one row per element: a set of one life, without deferred
   * removes, with at least {@link StoreOptions#splitElementsMin} elements or {@link
   * StoreOptions#SPLIT_BYTES_MIN} bytes of them. A function of the state, so that equal states
   * are stored, and digest, alike on every node.
   */
  boolean splitsAs(Lives state) {
    io.latticekv.core.crdt.Life life = io.latticekv.core.crdt.SplitSets.splittableLife(state);
    if (life == null) {
      return false;
    }
    List<ByteString> elements = io.latticekv.core.crdt.SplitSets.elements(life);
    if (elements.size() >= options.splitElementsMin()) {
      return true;
    }
    long bytes = 0;
    for (ByteString e : elements) {
      bytes += e.size();
    }
    return bytes >= StoreOptions.SPLIT_BYTES_MIN;
  }

  private boolean splitsAs(int count, long elementBytes) {
    return count >= options.splitElementsMin() || elementBytes >= StoreOptions.SPLIT_BYTES_MIN;
  }

  byte[] dataKey(ByteString key) {
    return dataKey(key, tree);
  }

  /** The RocksDB key of {@code key}: its segment, big-endian, then its bytes. */
  static byte[] dataKey(ByteString key, MerkleTree tree) {
    int segment = tree.segmentOf(Hashing.keyHash(key));
    byte[] out = new byte[SEGMENT_PREFIX_BYTES + key.size()];
    out[0] = (byte) (segment >>> 24);
    out[1] = (byte) (segment >>> 16);
    out[2] = (byte) (segment >>> 8);
    out[3] = (byte) segment;
    key.copyTo(out, SEGMENT_PREFIX_BYTES);
    return out;
  }

  static byte[] segmentPrefix(int segment) {
    return new byte[] {(byte) (segment >>> 24), (byte) (segment >>> 16), (byte) (segment >>> 8), (byte) segment};
  }

  private static long entryHash(ByteString key, byte[] stored) {
    return Hashing.entryHash(Hashing.keyHash(key), digestOfRow(stored));
  }

  private Cached load(ByteString key) {
    byte[] bytes;
    try {
      bytes = db.get(data, dataKey(key));
    } catch (RocksDBException e) {
      throw new StorageException("read of key " + printable(key) + " failed: " + e.getMessage(), e);
    }
    if (bytes == null) {
      return null;
    }
    if (SplitRecord.isRecord(bytes)) {
      return new Cached(null, SplitRecord.decode(key, bytes), bytes.length, entryHash(key, bytes));
    }
    return new Cached(decodeStored(key, bytes), null, bytes.length, entryHash(key, bytes));
  }

  /** A stored value as a key's state; a value that does not decode is damage, reported with its key. */
  static Lives decodeStored(ByteString key, byte[] bytes) {
    try {
      // A value stored before lives existed (format 1) reads as a key of one life.
      return Lives.of(CrdtCodec.decode(bytes));
    } catch (CrdtDecodeException e) {
      throw new StorageException("stored value of key " + printable(key) + " is damaged: " + e.getMessage()
          + "; restore this node's data from a peer", e);
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Applies {@code update} to {@code key} atomically and writes the result.
   *
   * @throws TypeMismatchException when the key holds another type
   * @throws io.latticekv.core.crdt.CounterOverflowException when a counter would leave the range
   * @throws ValueTooLargeException when the new state would exceed the value size limit
   * @throws StorageException when RocksDB fails
   */
  public Applied apply(ByteString key, CrdtUpdate update) {
    Outcome outcome = applyAll(List.of(new Write(key, update))).get(0);
    if (outcome.refused() != null) {
      throw outcome.refused();
    }
    return outcome.applied();
  }

  /** Who asked for a write: a refused write from a client is its error; one from a peer is counted and logged. */
  public enum Origin { CLIENT, PEER }

  /** One write of a batch: an update to one key. */
  public record Write(ByteString key, CrdtUpdate update, Origin origin) {
    public Write(ByteString key, CrdtUpdate update) {
      this(key, update, Origin.CLIENT);
    }
  }

  /**
   * The outcome of one write of a batch: applied, or refused with the exception {@link #apply}
   * would have thrown for it alone.
   */
  public record Outcome(Applied applied, RuntimeException refused) {}

  /** A key's state while a batch is being computed: what it was before, and what it is now. */
  private static final class Pending {
    final Cached before;
    Lives state;
    /** The new encoding; null when unchanged, or when the key is now gone ({@link #removed}). */
    byte[] encoded;
    /** Every life was collected: the key leaves the store. */
    boolean removed;
    /** Dropped by {@link #discardAll}, not collected. */
    boolean discarded;
    /** Changed, its encoding (and the size check) left to {@link #store}: once per batch, not per write. */
    boolean deferred;
    /** While the key is a set stored one row per element: the batch's view of it ({@link #state} is then null). */
    SplitSet split;
    /** Set by {@link #store}: the new state is stored one row per element, all rows written anew. */
    SplitRecord resplit;

    Pending(Cached before, SplitSet split) {
      this.before = before;
      this.state = before == null ? null : before.state();
      this.split = split;
    }

    boolean wasSplit() {
      return before != null && before.record() != null;
    }
  }

  private Pending pendingOf(ByteString key) {
    Cached before = cache.get(key, this::load);
    SplitSet split = before == null || before.record() == null
        ? null : new SplitSet(rows, ElementRows.prefix(dataKey(key)), before.record());
    return new Pending(before, split);
  }

  /** The key's set, read whole from its rows and this batch's changes: for writes that need it whole. */
  private static void unsplit(Pending p) {
    p.state = p.split.whole();
    p.split = null;
  }

  /**
   * Applies {@code writes} in order, each as {@link #apply} would, and stores all their results
   * with one RocksDB write (one WAL record): the cost of a write that is not per key — the write
   * path's fixed work, the WAL syscall, the group-commit request — is paid once per batch. Several
   * writes to one key in a batch see each other, as if applied one by one.
   *
   * <p>A write the store refuses (type mismatch, overflow, size) is refused alone; the others go
   * ahead. Readers see none of the batch until all of it is in RocksDB: the cache and the Merkle
   * tree change after the RocksDB write, under the keys' locks, which are taken in stripe order so
   * that batches on different threads cannot deadlock.
   *
   * @return one outcome per write, in order
   * @throws StorageException when RocksDB fails; then none of the batch was written
   */
  public List<Outcome> applyAll(List<Write> writes) {
    // Held open: a write may iterate a large set's rows, and an iterator on a closed RocksDB crashes the process.
    return whileOpen(() -> applyAllOpen(writes));
  }

  private List<Outcome> applyAllOpen(List<Write> writes) {
    ReentrantLock[] locks = stripesOf(writes);
    for (ReentrantLock lock : locks) {
      lock.lock();
    }
    try {
      List<Outcome> outcomes;
      try {
        // Many writes to one key in a batch (a hot set, say) encode its state once, at the end.
        outcomes = computeAndStore(writes, writes.size() == 1);
      } catch (DeferredTooLarge tooLarge) {
        // A key's state at the end of the batch is over the size limit: again, checking each write
        // as it comes, so that exactly the writes that make it too large are refused. Nothing was
        // stored or shown to anyone; the first pass only advanced the clock and the life counter.
        outcomes = computeAndStore(writes, true);
      }
      for (int i = 0; i < writes.size(); i++) {
        Write write = writes.get(i);
        Outcome outcome = outcomes.get(i);
        if (outcome.refused() != null && write.origin() == Origin.PEER) {
          refusals.refused(write.key(), outcome.refused());
        }
        Applied applied = outcome.applied();
        if (applied != null && applied.changed() && write.origin() == Origin.CLIENT) {
          ownWrites.add(write.key(), applied.delta()); // under the key's lock, like the write
        }
      }
      writesApplied.add(writes.size());
      return outcomes;
    } finally {
      for (int i = locks.length - 1; i >= 0; i--) {
        locks[i].unlock();
      }
    }
  }

  /** A deferred encoding came out over the size limit: the batch is computed again, write by write. */
  private static final class DeferredTooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DeferredTooLarge() {
      super(null, null, false, false);
    }
  }

  /**
   * Computes each write against the batch's pending states, then stores them. With {@code exact}
   * each changed state is encoded and size-checked as its write comes; without, once per key at
   * the end ({@link #store} throws {@link DeferredTooLarge} when one is over the limit).
   */
  private List<Outcome> computeAndStore(List<Write> writes, boolean exact) {
    Map<ByteString, Pending> pending = new HashMap<>();
    List<Outcome> outcomes = new ArrayList<>(writes.size());
    for (Write write : writes) {
      try {
        outcomes.add(new Outcome(compute(write, pending, exact), null));
      } catch (RowsFailed failed) {
        throw failed.getCause(); // the batch's view of a large set is in part changed: none of it is stored
      } catch (RuntimeException refused) {
        outcomes.add(new Outcome(null, refused));
      }
    }
    store(pending);
    return outcomes;
  }

  /**
   * Reading or joining a large set's rows failed part way (a RocksDB error, a damaged row): the
   * batch fails whole, since the set's pending view may hold half of the write.
   */
  private static final class RowsFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RowsFailed(StorageException cause) {
      super(cause);
    }

    @Override
    public synchronized StorageException getCause() {
      return (StorageException) super.getCause();
    }
  }

  /** The distinct lock stripes of the writes' keys, in stripe order. */
  private ReentrantLock[] stripesOf(List<Write> writes) {
    if (writes.size() == 1) { // the client write path: no list to build
      return new ReentrantLock[] {stripes[stripe(writes.get(0).key())]};
    }
    return stripesOfKeys(writes.stream().map(Write::key).toList());
  }

  /** The distinct lock stripes of {@code keys}, in stripe order. */
  private ReentrantLock[] stripesOfKeys(List<ByteString> keys) {
    if (keys.size() == 1) {
      return new ReentrantLock[] {stripes[stripe(keys.get(0))]};
    }
    int[] indexes = keys.stream().mapToInt(this::stripe).sorted().distinct().toArray();
    ReentrantLock[] locks = new ReentrantLock[indexes.length];
    for (int i = 0; i < indexes.length; i++) {
      locks[i] = stripes[indexes[i]];
    }
    return locks;
  }

  private int stripe(ByteString key) {
    return Math.floorMod(key.hashCode(), stripes.length);
  }

  /**
   * Computes one write against the key's pending state; the caller holds the key's lock. With
   * {@code exact} a changed state is encoded (and refused when too large) at once; else later.
   */
  private Applied compute(Write write, Map<ByteString, Pending> pending, boolean exact) {
    try {
      return computeOne(write, pending, exact);
    } catch (StorageException e) {
      Pending p = pending.get(write.key());
      if (p != null && (p.split != null || p.wasSplit())) {
        throw new RowsFailed(e);
      }
      throw e;
    }
  }

  private Applied computeOne(Write write, Map<ByteString, Pending> pending, boolean exact) {
    ByteString key = write.key();
    CrdtUpdate update = write.update();
    Pending p = pending.get(key);
    if (p == null) {
      p = pendingOf(key);
      pending.put(key, p);
    }
    options.policy().checkKey(key);
    if (update instanceof CrdtUpdate.JoinState join) {
      options.policy().checkState(join.state(), options.clock().millis());
    } else if (update instanceof CrdtUpdate.JoinPart part) {
      options.policy().checkState(part.part(), options.clock().millis());
    }
    if (p.split != null && update instanceof CrdtUpdate.JoinPart part) {
      return joinPart(key, p, part, Math.max(0, epoch));
    }
    List<ByteString> named = update instanceof CrdtUpdate.SetUpdate set ? named(set) : List.of();
    Lives current = p.split != null ? p.split.view(named) : p.state == null ? Lives.empty() : p.state;
    long at = Math.max(0, epoch);
    Lives delta;
    try {
      delta = update.delta(current, new CrdtUpdate.Writer(replicaId, this::nextTimestamp, at, lifeSeq::incrementAndGet));
    } catch (TypeMismatch mismatch) {
      throw new TypeMismatchException(printable(key), mismatch.held(), mismatch.wanted());
    }
    if (p.split != null) {
      if (io.latticekv.core.crdt.SplitSets.joinsElementwise(delta, p.split.life())) {
        return joinSplit(key, p, named, current, delta, at);
      }
      unsplit(p); // another life, a deferred remove: joined whole, as any state is
      current = p.state;
    }
    // Collection rides on every write: what the epoch allows dropping is dropped here, so a key
    // that is written never holds collectable tombstones (the sweep finds the others).
    Lives next = current.merge(delta).collect(at);
    if (update instanceof CrdtUpdate.JoinState && next.visibleType().orElse(null) == CrdtType.PN_COUNTER) {
      next.counterValue(); // a merged state that would overflow is refused before it is stored (StatePolicy)
    }
    boolean changed = p.state == null ? !next.isEmpty() : !next.equals(current);
    if (changed && next.hasTombstones()) {
      lifecycleWork = true;
    }
    if (changed) {
      if (next.isEmpty()) {
        p.state = next;
        p.encoded = null;
        p.removed = true;
        p.deferred = false;
      } else if (!exact || splitsAs(next)) {
        p.state = next;
        p.encoded = null;
        p.removed = false;
        p.deferred = true;
      } else {
        byte[] bytes = next.encode();
        if (bytes.length > options.valueBytesMax()) {
          throw new ValueTooLargeException("the " + next.visibleType().orElse(CrdtType.KEY).displayName() + " at key "
              + printable(key) + " would take " + bytes.length + " bytes, over the limit of " + options.valueBytesMax());
        }
        p.state = next;
        p.encoded = bytes;
        p.removed = false;
      }
    }
    return new Applied(current, next, delta, changed, this::durability);
  }

  /**
   * Joins a repair's part into a set stored one row per element, reading the rows of the part's
   * buckets only; a part that does not fit the set (another life, not a part over those buckets)
   * is dropped, as on a set stored whole.
   */
  private Applied joinPart(ByteString key, Pending p, CrdtUpdate.JoinPart part, long at) {
    io.latticekv.core.crdt.OrSet in = io.latticekv.core.crdt.SetRepair.splitPart(Lives.of(p.split.life()), part.part(),
        part.count(), part.buckets());
    Lives before = p.split.view(List.of());
    if (in == null) {
      return new Applied(before, before, Lives.empty(), false, this::durability, p.split.count(),
          () -> get(key).orElse(Lives.empty()));
    }
    Lives partState = Lives.of(part.part());
    boolean changed = p.split.joinPart(in, partState, part.count(), part.buckets(), at);
    int size = p.split.count();
    if (!splitsAs(p.split.count(), p.split.elementBytes())) {
      toWhole(p, at);
    }
    // No delta: a part carries the sender's whole context over a few buckets' elements, and joins
    // only into the state it was cut against; a repair's outcome is not gossiped (StoreReplica).
    return new Applied(before, before, Lives.empty(), changed, this::durability, size,
        () -> get(key).orElse(Lives.empty()));
  }

  /**
   * A set that fell under the threshold (or was emptied) after a join by rows: read whole and
   * collected, as a whole set's write collects, to be stored as one value (or removed).
   */
  private void toWhole(Pending p, long at) {
    unsplit(p);
    p.state = p.state.collect(at);
    if (p.state.hasTombstones()) {
      lifecycleWork = true;
    }
    p.encoded = null;
    if (p.state.isEmpty()) {
      p.removed = true;
      p.deferred = false;
    } else {
      p.removed = false;
      p.deferred = true;
    }
  }

  private static List<ByteString> named(CrdtUpdate.SetUpdate set) {
    if (set.remove().isEmpty()) {
      return set.add();
    }
    List<ByteString> all = new ArrayList<>(set.add());
    all.addAll(set.remove());
    return all;
  }

  /**
   * Joins a delta into a set stored one row per element, touching only the rows it names
   * ({@link SplitSet#join}); a set that falls under the threshold is read whole, to be stored
   * whole by {@link #store}.
   */
  private Applied joinSplit(ByteString key, Pending p, List<ByteString> named, Lives before, Lives delta, long at) {
    SplitSet set = p.split;
    boolean changed = set.join(delta, at);
    if (changed && (set.count() == 0 || !set.life().retired().isEmpty())) {
      lifecycleWork = true;
    }
    int size = set.count();
    Lives after = set.view(named);
    if (!splitsAs(set.count(), set.elementBytes())) {
      toWhole(p, at);
    }
    return new Applied(before, after, delta, changed, this::durability, size, () -> get(key).orElse(Lives.empty()));
  }

  /**
   * Writes the changed keys in one RocksDB write, then moves each key's Merkle contribution and
   * cache entry to its new state. The caller holds the keys' locks, so the tree never lags a write
   * it could miss.
   */
  private void store(Map<ByteString, Pending> pending) {
    List<Map.Entry<ByteString, Pending>> changed = new ArrayList<>(pending.size());
    boolean rowsToo = false;
    for (Map.Entry<ByteString, Pending> e : pending.entrySet()) {
      Pending p = e.getValue();
      if (p.split != null) {
        if (p.split.changed()) {
          changed.add(e);
          rowsToo = true;
        }
        continue;
      }
      if (p.deferred) {
        p.deferred = false;
        if (splitsAs(p.state)) {
          p.resplit = SplitSet.recordOf(p.state);
        } else {
          byte[] bytes = p.state.encode();
          if (bytes.length > options.valueBytesMax()) {
            throw new DeferredTooLarge();
          }
          p.encoded = bytes;
        }
      }
      if (p.encoded != null || p.resplit != null || (p.removed && p.before != null)) {
        changed.add(e);
        rowsToo |= p.resplit != null || p.wasSplit();
      }
    }
    if (changed.isEmpty()) {
      return;
    }
    try {
      if (changed.size() == 1 && !changed.get(0).getValue().removed && !rowsToo) {
        db.put(data, writeOptions, dataKey(changed.get(0).getKey()), changed.get(0).getValue().encoded);
      } else {
        try (WriteBatch batch = new WriteBatch()) {
          for (Map.Entry<ByteString, Pending> e : changed) {
            storeInto(batch, dataKey(e.getKey()), e.getValue());
          }
          db.write(writeOptions, batch);
        }
      }
      rocksDbWrites.increment();
    } catch (RocksDBException e) {
      throw new StorageException("write of " + changed.size() + " key(s), among them "
          + printable(changed.get(0).getKey()) + ", failed: " + e.getMessage(), e);
    }
    for (Map.Entry<ByteString, Pending> e : changed) {
      ByteString key = e.getKey();
      Pending p = e.getValue();
      long before = p.before == null ? 0 : p.before.entryHash();
      if (p.removed) {
        tree.update(Hashing.keyHash(key), before, 0);
        cache.invalidate(key);
        if (!p.discarded) {
          keysCollected.increment();
        }
      } else {
        long entry = entryHash(key, p.encoded);
        tree.update(Hashing.keyHash(key), before, entry);
        SplitRecord record = p.split != null ? p.split.record() : p.resplit;
        cache.put(key, new Cached(record == null ? p.state : null, record, p.encoded.length, entry));
      }
    }
  }

  /** Adds one key's new state to {@code batch}: its row in {@code data}, and its element rows when it has them. */
  private void storeInto(WriteBatch batch, byte[] dataKey, Pending p) throws RocksDBException {
    if (p.split != null) { // still one row per element: the rows the batch changed, and the record
      p.split.writeRows(batch);
      p.encoded = p.split.record().encode();
      batch.put(data, dataKey, p.encoded);
      return;
    }
    byte[] prefix = ElementRows.prefix(dataKey);
    if (p.wasSplit()) {
      rows.deleteAll(batch, prefix); // stored whole now, gone, or split anew below
    }
    if (p.removed) {
      batch.delete(data, dataKey);
    } else if (p.resplit != null) {
      SplitSet.writeAll(rows, prefix, p.state, batch);
      p.encoded = p.resplit.encode();
      batch.put(data, dataKey, p.encoded);
    } else {
      batch.put(data, dataKey, p.encoded);
    }
  }

  private CompletableFuture<Void> durability() {
    if (groupCommitter != null) {
      // Even an unchanged state needs it: an earlier write of that state may still be unsynced.
      return groupCommitter.request();
    }
    return CompletableFuture.completedFuture(null);
  }

  /** A fresh timestamp, below the persisted lease, so that no restart can issue it again. */
  HlcTimestamp nextTimestamp() {
    HlcTimestamp ts = hlc.now();
    if (ts.physicalMillis() >= leaseMillis) {
      synchronized (leaseLock) {
        if (ts.physicalMillis() >= leaseMillis) {
          long lease = ts.physicalMillis() + HLC_LEASE_MILLIS;
          metadata.setHlcLease(HlcTimestamp.of(lease, 0).packed());
          leaseMillis = lease;
        }
      }
    }
    return ts;
  }

  /** States from peers refused by the state policy since open, by reason. */
  public Map<String, Long> peerStatesRefused() {
    return refusals.byReason();
  }

  /** The greatest timestamp the clock has issued or observed. */
  public HlcTimestamp clockHighWaterMark() {
    return hlc.highWaterMark();
  }

  // ---------------------------------------------------------------- Merkle tree

  /** The Merkle tree over this store's keys, kept up to date with every write. */
  public MerkleTree tree() {
    return tree;
  }

  /** Every key of {@code segment} with its state's digest, sorted by key bytes. */
  public List<KeyDigest> segmentEntries(int segment) {
    return whileOpen(() -> scans.segmentEntries(segment));
  }

  /**
   * Every key of {@code segment} with its stored state, sorted by key bytes: one pass over the
   * segment's rows, past the cache (a walk over the keys does not fill it with them).
   */
  public List<KeyState> segmentStates(int segment) {
    return whileOpen(() -> scans.segmentStates(segment));
  }

  /**
   * The full states of {@code segments} in order, from after {@code resumeAfter} in the first,
   * until about {@code maxBytes} (see {@link io.latticekv.core.cluster.Replica#streamStates}): a
   * sequential read, since a segment's keys are contiguous on disk. The values pass through undecoded.
   */
  public io.latticekv.core.cluster.Replica.StreamChunk streamStates(int[] segments, ByteString resumeAfter,
      int maxBytes, int maxStates) {
    return whileOpen(() -> scans.streamStates(segments, resumeAfter, maxBytes, maxStates));
  }


  /**
   * Builds the tree from every stored key. Runs during open, before the store takes writes, so no
   * write can slip between the scan and the first incremental update.
   */
  private void buildTree() {
    long start = System.nanoTime();
    long keys = 0;
    try (RocksIterator it = db.newIterator(data)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] k = it.key();
        ByteString key = ByteString.copyFrom(k, SEGMENT_PREFIX_BYTES, k.length - SEGMENT_PREFIX_BYTES);
        tree.update(Hashing.keyHash(key), 0, entryHash(key, it.value()));
        if (++keys % BUILD_LOG_EVERY == 0) {
          log.info("building the Merkle tree: {} keys so far", keys);
        }
      }
    }
    log.info("built the Merkle tree over {} keys in {} ms ({} segments)", keys,
        (System.nanoTime() - start) / 1_000_000, tree.segments());
  }

  // ---------------------------------------------------------------- the lifecycle sweep

  /** One step of the lifecycle sweep: see {@link KeySweep#step}. */
  public SweepStep sweep(byte[] from, int maxKeys, List<NodeId> retire) {
    return whileOpen(() -> KeySweep.step(this, from, maxKeys, retire, Math.max(0, epoch)));
  }

  // ---------------------------------------------------------------- catch-up streams

  /** Where table files of streamed states wait to be ingested; emptied at open. */
  private Path ingestDirectory() {
    return options.directory().resolve("ingest");
  }

  /**
   * Joins states a peer streamed as it stores them ({@link io.latticekv.core.cluster.Replica#mergeStored}):
   * those of keys this store holds nothing of are stored as they came ({@link StreamedLoad}).
   */
  public boolean[] mergeStored(List<StoredState> stored) {
    return whileOpen(() -> StreamedLoad.merge(this, stored));
  }

  /**
   * Stores each of {@code absent} (sorted by stored key, distinct, checked) as it came if its key
   * holds nothing here; returns those whose key did hold something (for the caller to merge).
   * Which keys look absent, and the table file for them, are found outside the keys' locks (the
   * file is the slow part); under the locks each is checked again, since a write may have come
   * in between, and only then stored — the file ingested if no key of it was written meanwhile.
   */
  List<StreamedLoad.Candidate> storeAbsent(List<StreamedLoad.Candidate> absent) {
    if (absent.isEmpty()) {
      return List.of();
    }
    List<StreamedLoad.Candidate> held = new ArrayList<>();
    List<StreamedLoad.Candidate> free = new ArrayList<>(absent.size());
    Path table = null;
    try {
      for (StreamedLoad.Candidate c : absent) {
        (holds(c) ? held : free).add(c);
      }
      if (free.size() >= StreamedLoad.INGEST_KEYS_MIN && !memtableHolds(free)) {
        try (org.rocksdb.Options tableOptions = new org.rocksdb.Options(dbOptions, cfOptions)) {
          table = StreamedLoad.writeTable(ingestDirectory(), tableOptions, free);
        }
      }
      if (free.isEmpty()) {
        return held;
      }
      ReentrantLock[] locks = stripesOfKeys(free.stream().map(StreamedLoad.Candidate::key).toList());
      for (ReentrantLock lock : locks) {
        lock.lock();
      }
      try {
        List<StreamedLoad.Candidate> stored = new ArrayList<>(free.size());
        for (StreamedLoad.Candidate c : free) {
          (holds(c) ? held : stored).add(c);
        }
        if (table != null && stored.size() == free.size()) {
          StreamedLoad.ingestTable(db, data, table);
          tablesIngested.increment();
        } else if (!stored.isEmpty()) {
          try (WriteBatch batch = new WriteBatch()) {
            for (StreamedLoad.Candidate c : stored) {
              batch.put(data, c.dataKey(), c.value());
            }
            db.write(writeOptions, batch);
          }
          rocksDbWrites.increment();
        }
        for (StreamedLoad.Candidate c : stored) {
          tree.update(Hashing.keyHash(c.key()), 0, entryHash(c.key(), c.value()));
        }
        keysStoredAsStreamed.add(stored.size());
        return held;
      } finally {
        for (int i = locks.length - 1; i >= 0; i--) {
          locks[i].unlock();
        }
      }
    } catch (RocksDBException e) {
      throw new StorageException("storing " + absent.size() + " streamed states failed: " + e.getMessage(), e);
    } finally {
      if (table != null) {
        StreamedLoad.deleteQuietly(table); // gone once ingested (moved); a file not ingested is dropped
      }
    }
  }

  /** Whether the key of {@code c} holds something here (the cache, then the Bloom filters, then a read). */
  private boolean holds(StreamedLoad.Candidate c) throws RocksDBException {
    return cache.getIfPresent(c.key()) != null
        || (db.keyMayExist(data, c.dataKey(), null) && db.get(data, c.dataKey()) != null);
  }

  /**
   * Whether the memtable holds keys in the range of {@code sorted}: a file ingested over it would
   * make RocksDB flush the memtable first — on a node taking writes while it catches up, a flush
   * per answer, and a pile of small level-0 files. Those states take one write batch instead.
   */
  private boolean memtableHolds(List<StreamedLoad.Candidate> sorted) {
    byte[] last = sorted.get(sorted.size() - 1).dataKey();
    byte[] end = java.util.Arrays.copyOf(last, last.length + 1); // just past the last key
    try (Slice from = new Slice(sorted.get(0).dataKey()); Slice to = new Slice(end)) {
      return db.getApproximateMemTableStats(data, new org.rocksdb.Range(from, to)).count > 0;
    }
  }

  /** Keys a catch-up stored as they came, without a merge (they were new here). */
  public long keysStoredAsStreamed() {
    return keysStoredAsStreamed.sum();
  }

  /** Table files of streamed states ingested. */
  public long tablesIngested() {
    return tablesIngested.sum();
  }

  private final java.util.concurrent.atomic.LongAdder keysStoredAsStreamed = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder tablesIngested = new java.util.concurrent.atomic.LongAdder();

  int valueBytesMax() {
    return options.valueBytesMax();
  }

  StatePolicy policy() {
    return options.policy();
  }

  long nowMillis() {
    return options.clock().millis();
  }

  /** A streamed state that does not decode: counted and logged as a refused peer state. */
  void refusedStreamedState(ByteString key, String reason, String detail) {
    refusals.refused(key, reason, detail);
  }

  /** The RocksDB instance, for tests in this package that read its counters. */
  RocksDB rocks() {
    return db;
  }

  /** An iterator over the stored keys (with their segment prefix), for a sweep. */
  RocksIterator dataIterator() {
    return db.newIterator(data);
  }

  /** The key of a stored entry, without its segment prefix. */
  static ByteString keyOf(byte[] storedKey) {
    return ByteString.copyFrom(storedKey, SEGMENT_PREFIX_BYTES, storedKey.length - SEGMENT_PREFIX_BYTES);
  }

  /** Whether a write stored a tombstone or retired mark since the last call; clears it. */
  public boolean takeLifecycleWork() {
    boolean work = lifecycleWork;
    lifecycleWork = false;
    return work;
  }

  /** Keys that left the store since open because every life of theirs was collected. */
  public long keysCollected() {
    return keysCollected.sum();
  }

  // ---------------------------------------------------------------- scans and stats

  /** Number of keys, estimated by RocksDB (exact after a compaction). */
  public long estimatedKeyCount() {
    try {
      return db.getLongProperty(data, "rocksdb.estimate-num-keys");
    } catch (RocksDBException e) {
      throw new StorageException("cannot read key count: " + e.getMessage(), e);
    }
  }

  /** Whether RocksDB has flushes or compactions running or due: its background work on the stored keys. */
  public boolean backgroundWorkPending() {
    try {
      return db.getLongProperty(data, "rocksdb.compaction-pending") > 0
          || db.getLongProperty(data, "rocksdb.num-running-compactions") > 0
          || db.getLongProperty(data, "rocksdb.num-running-flushes") > 0
          || db.getLongProperty(data, "rocksdb.mem-table-flush-pending") > 0;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read RocksDB's background state: " + e.getMessage(), e);
    }
  }

  /** Bytes of the data in SST files and memtables (RocksDB's estimates). */
  public long diskBytes() {
    try {
      long bytes = 0;
      for (ColumnFamilyHandle family : List.of(data, rows.elementFamily(), rows.dotFamily())) {
        bytes += db.getLongProperty(family, "rocksdb.total-sst-files-size")
            + db.getLongProperty(family, "rocksdb.size-all-mem-tables");
      }
      return bytes;
    } catch (RocksDBException e) {
      throw new StorageException("cannot read storage size: " + e.getMessage(), e);
    }
  }

  /** Hit rate of the decoded-value cache since open, 0 to 1. */
  public double cacheHitRate() {
    return cache.stats().hitRate();
  }

  /** Writes applied since open: client writes, rumors and repairs, refused ones included. */
  public long writesApplied() {
    return writesApplied.sum();
  }

  /**
   * RocksDB writes since open: one per batch that changed something, so {@code writesApplied /
   * rocksDbWrites} is about the average batch (writes that changed nothing store nothing).
   */
  public long rocksDbWrites() {
    return rocksDbWrites.sum();
  }

  /** How many group-commit fsyncs have run (BATCH only; 0 otherwise). */
  public long groupCommitSyncs() {
    return groupCommitter == null ? 0 : groupCommitter.syncs();
  }

  // ---------------------------------------------------------------- metadata

  private boolean hasAnyData() {
    try (RocksIterator it = db.newIterator(data)) {
      it.seekToFirst();
      return it.isValid();
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Held (shared) by scans that iterate RocksDB for a while — catch-up streams, segment listings,
   * the sweep, a discard — and (exclusive) by {@link #close}, which waits for them.
   */
  private final java.util.concurrent.locks.ReentrantReadWriteLock openLock =
      new java.util.concurrent.locks.ReentrantReadWriteLock();

  private <T> T whileOpen(java.util.function.Supplier<T> scan) {
    openLock.readLock().lock();
    try {
      checkOpen();
      return scan.get();
    } finally {
      openLock.readLock().unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new StorageException("the store is closed");
    }
  }

  /** Syncs everything written, then closes RocksDB. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    openLock.writeLock().lock(); // scans under way finish first: RocksDB iterators on a closed DB crash the process
    try {
      closeOpen();
    } finally {
      openLock.writeLock().unlock();
    }
  }

  private void closeOpen() {
    if (groupCommitter != null) {
      groupCommitter.close();
    }
    try {
      db.flushWal(true);
    } catch (RocksDBException e) {
      log.error("final fsync of the write-ahead log failed", e);
    }
    closeHandles();
    log.info("closed store {}", options.directory());
  }

  private void closeHandles() {
    for (ColumnFamilyHandle handle : handles) {
      handle.close();
    }
    db.close();
    writeOptions.close();
    syncedWrite.close();
    dbOptions.close();
    cfOptions.close();
    rowOptions.close();
  }

  // ---------------------------------------------------------------- helpers

  /** A key as a person can read it in a message: UTF-8 when it is, hex otherwise, shortened. */
  public static String printable(ByteString key) {
    if (key.isValidUtf8()) {
      String text = key.toStringUtf8();
      boolean plain = text.chars().allMatch(c -> c >= 0x20 && c != 0x7f);
      if (plain) {
        return "'" + (text.length() > 80 ? text.substring(0, 80) + "..." : text) + "'";
      }
    }
    StringBuilder hex = new StringBuilder("0x");
    for (int i = 0; i < Math.min(key.size(), 40); i++) {
      hex.append(String.format("%02x", key.byteAt(i)));
    }
    return key.size() > 40 ? hex + "..." : hex.toString();
  }
}
