package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data directory of format 1 (every state one value), written by the build before format 2 and
 * kept in the tests' resources ({@code formats/format-1.zip}), opens under format 2: its large set
 * is converted to one row per element, every value reads as it did, and the directory says format
 * 2 from then on.
 *
 * <p>How the directory was made (LatticeKV at commit 4b695c0, sync always, closed cleanly): a
 * counter at 42 − 2; a register "hello"; a set {a, b, c}; a counter deleted; and "big-set", 5,000
 * elements {@code element-0..4999} added 500 at a time, then every tenth removed: 4,500 left.
 */
class FormatMigrationTest {

  @TempDir Path dir;

  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private Path unpack() throws IOException {
    try (InputStream in = getClass().getResourceAsStream("/formats/format-1.zip");
        ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
        Path target = dir.resolve(e.getName()).normalize();
        if (!target.startsWith(dir)) {
          throw new IOException("entry outside the directory: " + e.getName());
        }
        Files.createDirectories(target.getParent());
        Files.copy(zip, target);
      }
    }
    return dir.resolve("format-1");
  }

  private static void checkValues(Store store) {
    assertEquals(40, store.get(b("counter")).orElseThrow().counterValue());
    assertEquals(b("hello"), store.get(b("register")).orElseThrow().register().value());
    assertEquals(List.of(b("a"), b("b"), b("c")), store.get(b("small-set")).orElseThrow().elements());
    assertTrue(store.get(b("gone")).orElseThrow().visibleType().isEmpty(), "the deleted key reads as absent");
    Lives big = store.get(b("big-set")).orElseThrow();
    assertEquals(4_500, big.elementCount());
    for (int i = 0; i < 5_000; i++) {
      assertEquals(i % 10 != 0, big.contains(b("element-" + i)), "element-" + i);
    }
  }

  @Test
  void aFormatOneDirectoryIsConvertedAtOpenAndReadsAsBefore() throws IOException {
    Path data = unpack();
    assertEquals("1", formatOfUnopened(data));
    long root;
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      checkValues(store);
      assertTrue(store.storedSplit(b("big-set")), "the set of 4,500 elements is one row per element now");
      assertFalse(store.storedSplit(b("small-set")));
      // And it takes writes: an add and a remove touch its rows.
      store.apply(b("big-set"), new CrdtUpdate.SetUpdate(List.of(b("new")), List.of(b("element-1")), Optional.empty()));
      assertEquals(4_500, store.get(b("big-set")).orElseThrow().elementCount());
      store.apply(b("big-set"), new CrdtUpdate.SetUpdate(List.of(b("element-1")), List.of(b("new")), Optional.empty()));
      checkValues(store);
      root = store.tree().root();
    }
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      checkValues(store); // format 2 now: opened without converting again
      assertTrue(store.storedSplit(b("big-set")));
      assertEquals(root, store.tree().root(), "the tree rebuilt from the stored records equals the one kept write by write");
    }
    assertEquals("2", formatOf(data));
  }

  /** A damaged value does not stop the conversion: it stays, and reading its key reports it, as before. */
  @Test
  void aDamagedValueIsLeftAsItWasAndTheRestIsConverted() throws Exception {
    Path data = unpack();
    withRocks(data, false, (db, handles) -> {
      byte[] dataKey = Store.dataKey(b("bad"),
          new io.latticekv.core.merkle.MerkleTree(io.latticekv.core.merkle.MerkleTree.DEFAULT_SEGMENT_BITS));
      db.put(handles.get(1), dataKey, new byte[] {0x08, 0x01, 0x12, 0x7f});
      return null;
    });
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      checkValues(store);
      assertTrue(store.storedSplit(b("big-set")));
      StorageException e = org.junit.jupiter.api.Assertions.assertThrows(StorageException.class, () -> store.get(b("bad")));
      assertTrue(e.getMessage().contains("key 'bad' is damaged"), e.getMessage());
    }
  }

  /** The format a directory records, read with RocksDB alone (a store would convert it). */
  private static String formatOfUnopened(Path data) {
    return withRocks(data, true, (db, handles) -> {
      byte[] v = db.get(handles.get(2), "format_version".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return v == null ? null : new String(v, java.nio.charset.StandardCharsets.UTF_8);
    });
  }

  private interface RocksWork<T> {
    T run(org.rocksdb.RocksDB db, java.util.List<org.rocksdb.ColumnFamilyHandle> handles) throws org.rocksdb.RocksDBException;
  }

  /** {@code work} on a format-1 directory opened with RocksDB alone (its families: default, data, meta). */
  private static <T> T withRocks(Path data, boolean readOnly, RocksWork<T> work) {
    java.util.List<org.rocksdb.ColumnFamilyHandle> handles = new java.util.ArrayList<>();
    List<org.rocksdb.ColumnFamilyDescriptor> families = List.of(
        new org.rocksdb.ColumnFamilyDescriptor(org.rocksdb.RocksDB.DEFAULT_COLUMN_FAMILY),
        new org.rocksdb.ColumnFamilyDescriptor("data".getBytes()),
        new org.rocksdb.ColumnFamilyDescriptor("meta".getBytes()));
    try (org.rocksdb.DBOptions opts = new org.rocksdb.DBOptions();
        org.rocksdb.RocksDB db = readOnly ? org.rocksdb.RocksDB.openReadOnly(opts, data.toString(), families, handles)
            : org.rocksdb.RocksDB.open(opts, data.toString(), families, handles)) {
      try {
        return work.run(db, handles);
      } finally {
        handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
      }
    } catch (org.rocksdb.RocksDBException e) {
      throw new AssertionError(e);
    }
  }

  private static String formatOf(Path data) {
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      return store.storedFormat();
    }
  }
}
