package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.merkle.Hashing;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.StoredState;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;

/**
 * The store's reads of whole Merkle segments (a segment's keys are contiguous on disk, behind a
 * prefix): the digests of a segment for the precise anti-entropy path, and the stored states of
 * many for a catch-up stream. The caller holds the store open ({@code Store.whileOpen}).
 */
final class SegmentScans {

  private final RocksDB db;
  private final ColumnFamilyHandle data;
  private final MerkleTree tree;
  /** A stored row's state, read whole (a large set from its element rows). */
  private final java.util.function.BiFunction<byte[], byte[], io.latticekv.core.crdt.Lives> stateOfRow;
  /** A stored row's digest, from the row alone. */
  private final java.util.function.ToLongFunction<byte[]> digestOfRow;

  SegmentScans(RocksDB db, ColumnFamilyHandle data, MerkleTree tree,
      java.util.function.BiFunction<byte[], byte[], io.latticekv.core.crdt.Lives> stateOfRow,
      java.util.function.ToLongFunction<byte[]> digestOfRow) {
    this.db = db;
    this.data = data;
    this.tree = tree;
    this.stateOfRow = stateOfRow;
    this.digestOfRow = digestOfRow;
  }

  /** Every key of {@code segment} with its state's digest, sorted by key bytes. */
  List<KeyDigest> segmentEntries(int segment) {
    return rows(segment, (storedKey, value) -> new KeyDigest(Store.keyOf(storedKey), digestOfRow.applyAsLong(value)));
  }

  /** See {@link Store#segmentStates}. */
  List<KeyState> segmentStates(int segment) {
    return rows(segment, (storedKey, value) -> new KeyState(Store.keyOf(storedKey), stateOfRow.apply(storedKey, value)));
  }

  /** Each row of {@code segment}, in key order, as {@code row} makes it of the stored key and value. */
  private <T> List<T> rows(int segment, java.util.function.BiFunction<byte[], byte[], T> row) {
    List<T> out = new ArrayList<>();
    try (SegmentIterator scan = new SegmentIterator(segment)) {
      RocksIterator it = scan.it;
      for (it.seek(Store.segmentPrefix(segment)); it.isValid(); it.next()) {
        out.add(row.apply(it.key(), it.value()));
      }
    }
    return out;
  }

  /** See {@link Store#streamStates}. */
  Replica.StreamChunk streamStates(int[] segments, ByteString resumeAfter,
      int maxBytes, int maxStates) {
    List<StoredState> states = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < segments.length; i++) {
      try (SegmentIterator scan = new SegmentIterator(segments[i])) {
        RocksIterator it = scan.it;
        // A resume key outside the first segment (no correct peer sends one) reads it whole.
        if (i == 0 && !resumeAfter.isEmpty() && tree.segmentOf(Hashing.keyHash(resumeAfter)) == segments[0]) {
          byte[] after = Store.dataKey(resumeAfter, tree);
          it.seek(after);
          if (it.isValid() && java.util.Arrays.equals(it.key(), after)) {
            it.next();
          }
        } else {
          it.seek(Store.segmentPrefix(segments[i]));
        }
        for (; it.isValid(); it.next()) {
          ByteString key = Store.keyOf(it.key());
          if ((bytes >= maxBytes || states.size() >= maxStates) && !states.isEmpty()) {
            return new Replica.StreamChunk(states, bytes, false, i,
                lastKeyIn(states, segments[i]));
          }
          byte[] v = it.value();
          if (io.latticekv.core.storage.SplitRecord.isRecord(v)) { // a large set goes whole, as peers store states
            v = stateOfRow.apply(it.key(), v).encode();
          }
          states.add(new StoredState(key, com.google.protobuf.UnsafeByteOperations.unsafeWrap(v))); // v is ours alone
          bytes += v.length + key.size();
        }
      }
    }
    return new Replica.StreamChunk(states, bytes, true, segments.length, ByteString.EMPTY);
  }

  /**
   * An iterator over the stored keys of one segment alone, bounded above by the next segment's
   * prefix. RocksDB keeps a deleted key's tombstone until compaction reaches it, and an unbounded
   * seek steps over every tombstone up to the next live key: in a store that dropped most of its
   * keys (a discard, a mass delete) each seek would walk the rest of the keyspace.
   */
  private final class SegmentIterator implements AutoCloseable {
    private final Slice upper;
    private final ReadOptions options;
    final RocksIterator it;

    SegmentIterator(int segment) {
      upper = new Slice(Store.segmentPrefix(segment + 1));
      options = new ReadOptions().setIterateUpperBound(upper);
      it = db.newIterator(data, options);
    }

    @Override
    public void close() {
      it.close();
      options.close();
      upper.close();
    }
  }

  /**
   * Where a stream cut inside segment {@code segment} resumes: after the last state sent from that
   * segment, or from its start when none was.
   */
  private ByteString lastKeyIn(List<StoredState> states, int segment) {
    ByteString last = states.get(states.size() - 1).key();
    return tree.segmentOf(Hashing.keyHash(last)) == segment ? last : ByteString.EMPTY;
  }
}
