package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.merkle.Hashing;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;

/**
 * The rows of sets stored one row per element (docs/architecture.md, "Sets"), in two column
 * families beside {@code data}, which holds each such set's record:
 *
 * <ul>
 *   <li>{@code elements}: {@code set prefix | u64 element hash | element} → the element's dots,
 *       so that a set's rows are in hash order — the order of its repair buckets and of its pages;
 *   <li>{@code dots}: {@code set prefix | replica (16 bytes) | u64 counter} → the element holding
 *       that dot: a remove's delta is a context without elements, and this index finds what it
 *       removes in time proportional to the dots it names, not to the set.
 * </ul>
 *
 * <p>The set prefix is {@code segment (4 bytes) | u32 key length | key}: the key's Merkle segment
 * first, as in {@code data}, and its length so that no key's rows are a prefix of another's. A
 * key's rows of both families are one range each, dropped with one range delete.
 */
final class ElementRows {

  /** A dot's row value: the replica's two longs and the counter. */
  private static final int DOT_BYTES = 24;

  private final RocksDB db;
  private final ColumnFamilyHandle elements;
  private final ColumnFamilyHandle dots;

  ElementRows(RocksDB db, ColumnFamilyHandle elements, ColumnFamilyHandle dots) {
    this.db = db;
    this.elements = elements;
    this.dots = dots;
  }

  ColumnFamilyHandle elementFamily() {
    return elements;
  }

  ColumnFamilyHandle dotFamily() {
    return dots;
  }

  /** The prefix of every row of {@code key}'s set; {@code dataKey} is the key's row in {@code data}. */
  static byte[] prefix(byte[] dataKey) {
    int keyLength = dataKey.length - 4;
    byte[] out = new byte[dataKey.length + 4];
    System.arraycopy(dataKey, 0, out, 0, 4);
    out[4] = (byte) (keyLength >>> 24);
    out[5] = (byte) (keyLength >>> 16);
    out[6] = (byte) (keyLength >>> 8);
    out[7] = (byte) keyLength;
    System.arraycopy(dataKey, 4, out, 8, keyLength);
    return out;
  }

  /** The first key after every key that starts with {@code prefix}. */
  static byte[] end(byte[] prefix) {
    byte[] out = Arrays.copyOf(prefix, prefix.length);
    for (int i = out.length - 1; i >= 0; i--) {
      if (out[i] != (byte) 0xff) {
        out[i]++;
        return Arrays.copyOf(out, i + 1);
      }
    }
    throw new IllegalArgumentException("a set prefix starts with its segment, never all 0xff");
  }

  static byte[] elementKey(byte[] prefix, ByteString element) {
    ByteBuffer b = ByteBuffer.allocate(prefix.length + 8 + element.size());
    b.put(prefix).putLong(Hashing.keyHash(element));
    element.copyTo(b);
    return b.array();
  }

  static byte[] dotKey(byte[] prefix, NodeId replica, long counter) {
    return ByteBuffer.allocate(prefix.length + 24).put(prefix).putLong(replica.high()).putLong(replica.low())
        .putLong(counter).array();
  }

  private static byte[] replicaPrefix(byte[] prefix, NodeId replica) {
    return ByteBuffer.allocate(prefix.length + 16).put(prefix).putLong(replica.high()).putLong(replica.low()).array();
  }

  static byte[] encodeDots(Dot[] ds) {
    ByteBuffer b = ByteBuffer.allocate(ds.length * DOT_BYTES);
    for (Dot d : ds) {
      b.putLong(d.replica().high()).putLong(d.replica().low()).putLong(d.counter());
    }
    return b.array();
  }

  static Dot[] decodeDots(byte[] bytes) {
    if (bytes.length == 0 || bytes.length % DOT_BYTES != 0) {
      throw new StorageException("a set element row of " + bytes.length + " bytes is damaged; restore this node's data from a peer");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    Dot[] out = new Dot[bytes.length / DOT_BYTES];
    for (int i = 0; i < out.length; i++) {
      out[i] = new Dot(new NodeId(b.getLong(), b.getLong()), b.getLong());
    }
    return out;
  }

  /** The element of an element row's key. */
  static ByteString elementOf(byte[] rowKey, int prefixLength) {
    return ByteString.copyFrom(rowKey, prefixLength + 8, rowKey.length - prefixLength - 8);
  }

  /** The stored dots of {@code element}, or none (an empty array) when the set does not hold it. */
  Dot[] dotsOf(byte[] prefix, ByteString element) {
    try {
      byte[] v = db.get(elements, elementKey(prefix, element));
      return v == null ? NO_DOTS : decodeDots(v);
    } catch (RocksDBException e) {
      throw new StorageException("read of a set element failed: " + e.getMessage(), e);
    }
  }

  /** The element holding dot ({@code replica}, {@code counter}), or null. */
  ByteString ownerOf(byte[] prefix, NodeId replica, long counter) {
    try {
      byte[] v = db.get(dots, dotKey(prefix, replica, counter));
      return v == null ? null : ByteString.copyFrom(v);
    } catch (RocksDBException e) {
      throw new StorageException("read of a set dot failed: " + e.getMessage(), e);
    }
  }

  static final Dot[] NO_DOTS = new Dot[0];

  /** What {@link #forEachDot} and {@link #forEachRow} call per row. */
  interface DotRow {
    /** Returns false to stop. */
    boolean accept(long counter, ByteString element);
  }

  interface ElementRow {
    /** Returns false to stop. */
    boolean accept(ByteString element, Dot[] dots);
  }

  /** What {@link #forEachElement} calls per row: the element's hash (the rows' order) and the element. */
  interface HashedElement {
    /** Returns false to stop. */
    boolean accept(long hash, ByteString element);
  }

  /** The stored dots of {@code replica} with counters from {@code from} to {@code to}, ascending. */
  void forEachDot(byte[] prefix, NodeId replica, long from, long to, DotRow row) {
    byte[] rp = replicaPrefix(prefix, replica);
    scan(dots, dotKey(prefix, replica, from), rp, it -> {
      long counter = ByteBuffer.wrap(it.key(), rp.length, 8).getLong();
      return Long.compareUnsigned(counter, to) <= 0 && row.accept(counter, ByteString.copyFrom(it.value()));
    });
  }

  /** Each element row of the set, in hash order, from {@code fromHash} on (unsigned). */
  void forEachRow(byte[] prefix, long fromHash, ElementRow row) {
    scan(elements, hashKey(prefix, fromHash), prefix,
        it -> row.accept(elementOf(it.key(), prefix.length), decodeDots(it.value())));
  }

  /** Each element of the set, in hash order (then byte order), from {@code fromHash} on (unsigned); dots not read. */
  void forEachElement(byte[] prefix, long fromHash, HashedElement row) {
    scan(elements, hashKey(prefix, fromHash), prefix, it -> {
      byte[] k = it.key();
      return row.accept(hashOf(k, prefix.length), elementOf(k, prefix.length));
    });
  }

  /** What {@link #forEachRowHash} calls per row. */
  interface RowHash {
    void accept(long elementHash, long elementShare);
  }

  /**
   * Each row's element hash and its share of a repair bucket's hash ({@link
   * io.latticekv.core.crdt.SetRepair#elementHash}), computed from the row's bytes: no element or
   * dot is decoded, so a pass over a million rows costs the iteration alone.
   */
  void forEachRowHash(byte[] prefix, RowHash row) {
    scan(elements, prefix, prefix, it -> {
      long h = hashOf(it.key(), prefix.length);
      ByteBuffer v = ByteBuffer.wrap(it.value());
      long dots = 0;
      while (v.remaining() >= DOT_BYTES) {
        dots += io.latticekv.core.crdt.SetRepair.dotHash(v.getLong(), v.getLong(), v.getLong());
      }
      row.accept(h, io.latticekv.core.crdt.SetRepair.elementHash(h, dots));
      return true;
    });
  }

  private static byte[] hashKey(byte[] prefix, long hash) {
    return ByteBuffer.allocate(prefix.length + 8).put(prefix).putLong(hash).array();
  }

  /** What {@link #scan} calls at each row; returns false to stop. */
  private interface Step {
    boolean accept(RocksIterator it);
  }

  /** The rows of {@code family} from {@code start} while they start with {@code within}, until {@code step} stops. */
  private void scan(ColumnFamilyHandle family, byte[] start, byte[] within, Step step) {
    try (Slice upper = new Slice(end(within)); ReadOptions ro = new ReadOptions().setIterateUpperBound(upper);
        RocksIterator it = db.newIterator(family, ro)) {
      for (it.seek(start); it.isValid(); it.next()) {
        if (!step.accept(it)) {
          return;
        }
      }
      status(it);
    }
  }

  /**
   * Throws when an iteration ended on an error rather than at its end: a set read short would read
   * as elements removed (docs/architecture.md, "Sets").
   */
  private static void status(RocksIterator it) {
    try {
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("reading a set's rows failed: " + e.getMessage(), e);
    }
  }

  /** The hash an element row's key sorts by. */
  static long hashOf(byte[] rowKey, int prefixLength) {
    return ByteBuffer.wrap(rowKey, prefixLength, 8).getLong();
  }

  void put(WriteBatch batch, byte[] prefix, ByteString element, Dot[] before, Dot[] after) throws RocksDBException {
    byte[] key = elementKey(prefix, element);
    if (after.length == 0) {
      batch.delete(elements, key);
    } else {
      batch.put(elements, key, encodeDots(after));
    }
    byte[] owner = element.toByteArray();
    for (Dot d : before) {
      if (Arrays.binarySearch(after, d) < 0) {
        batch.delete(dots, dotKey(prefix, d.replica(), d.counter()));
      }
    }
    for (Dot d : after) {
      if (Arrays.binarySearch(before, d) < 0) {
        batch.put(dots, dotKey(prefix, d.replica(), d.counter()), owner);
      }
    }
  }

  /** Drops every row of the set. */
  void deleteAll(WriteBatch batch, byte[] prefix) throws RocksDBException {
    byte[] end = end(prefix);
    batch.deleteRange(elements, prefix, end);
    batch.deleteRange(dots, prefix, end);
  }
}
