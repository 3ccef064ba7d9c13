package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.client.LatticeClient;
import io.latticekv.client.LatticeException;
import io.latticekv.client.SetCursor;
import io.latticekv.client.SetPage;
import io.latticekv.client.SetWritten;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.SetUpdate;
import io.latticekv.testing.Batches;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads of part of a set, and set writes that answer without the set: what a client sees. */
class SetReadTest {

  private static final int ELEMENTS = 2_500;

  @TempDir Path dir;

  private static String element(int i) {
    return String.format("e%05d", i);
  }

  /** {@code count} elements added, a thousand per request (the per-request limit). */
  private static void fill(LatticeClient client, String key, int count) {
    List<String> elements = java.util.stream.IntStream.range(0, count).mapToObj(SetReadTest::element).toList();
    Batches.inChunks(elements, chunk -> client.add(key, chunk.toArray(new String[0])));
  }

  @Test
  void pagesReadEveryElementOnceInOrderAndContainsAndSizeNeedNoSet() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      fill(client, "big", ELEMENTS);
      assertEquals(ELEMENTS, client.size("big"));
      assertTrue(client.contains("big", element(1_234)));
      assertFalse(client.contains("big", "absent"));

      List<String> read = new ArrayList<>();
      SetCursor cursor = SetCursor.START;
      int pages = 0;
      while (pages++ < 100) { // bounded: 2,500 elements at 700 a page end in 4
        SetPage page = client.elements("big", cursor, 700);
        assertEquals(ELEMENTS, page.size());
        assertTrue(page.elements().size() <= 700);
        read.addAll(page.elementsAsStrings());
        if (page.next().isEmpty()) {
          break;
        }
        cursor = page.next().get();
      }
      assertEquals(4, pages);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < ELEMENTS; i++) {
        expected.add(element(i));
      }
      assertEquals(expected, read);

      List<String> iterated = new ArrayList<>();
      Iterator<ByteString> all = client.iterateElements("big", 999);
      while (all.hasNext() && iterated.size() <= ELEMENTS) {
        iterated.add(all.next().toStringUtf8());
      }
      assertEquals(expected, iterated);
      assertEquals(1_000, client.elements("big", SetCursor.START, 0).elements().size(), "a page's default size");
    }
  }

  /**
   * A set of more than 4,096 elements is stored one row per element: its pages go in the rows'
   * order (not byte order), read only the rows they return, and still give every element once;
   * a page cursor stays good when the set shrinks to be stored whole again between two pages.
   */
  @Test
  void aLargeSetIsPagedAndAskedInPlaceAndItsCursorOutlivesItsLayout() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      int large = 6_000;
      fill(client, "large", large);
      assertEquals(large, client.size("large"));
      assertTrue(client.contains("large", element(5_999)));
      assertFalse(client.contains("large", "absent"));
      java.util.Set<String> expected = new TreeSet<>();
      for (int i = 0; i < large; i++) {
        expected.add(element(i));
      }
      List<String> read = new ArrayList<>();
      SetCursor cursor = SetCursor.START;
      for (int pages = 0; pages < 100; pages++) { // 6,000 at 700 a page end in 9
        SetPage page = client.elements("large", cursor, 700);
        assertTrue(page.elements().size() <= 700);
        read.addAll(page.elementsAsStrings());
        if (page.next().isEmpty()) {
          break;
        }
        cursor = page.next().get();
      }
      assertEquals(large, read.size(), "each element once");
      assertEquals(expected, new TreeSet<>(read));

      // Half way through, the set shrinks under the threshold: it is stored whole, and the pages go on.
      SetPage first = client.elements("large", SetCursor.START, 3_000);
      java.util.Set<String> seen = new TreeSet<>(first.elementsAsStrings());
      List<String> gone = new ArrayList<>();
      for (int i = 0; i < 3_000; i++) {
        gone.add(element(i));
      }
      Batches.inChunks(gone, chunk -> client.remove("large", chunk.toArray(new String[0])));
      assertEquals(3_000, client.size("large"));
      cursor = first.next().orElseThrow();
      for (int pages = 0; pages < 100; pages++) {
        SetPage page = client.elements("large", cursor, 700);
        seen.addAll(page.elementsAsStrings());
        if (page.next().isEmpty()) {
          break;
        }
        cursor = page.next().get();
      }
      for (int i = 3_000; i < large; i++) {
        assertTrue(seen.contains(element(i)), element(i) + " was held throughout and never returned");
      }
    }
  }

  @Test
  void aPageStartsAfterTheLastElementItGaveWhateverChangedInBetween() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      fill(client, "s", 100);
      SetPage first = client.elements("s", SetCursor.START, 10);
      assertEquals(element(9), first.elementsAsStrings().get(9));
      client.remove("s", element(9), element(10)); // the cursor's own element and the next one go
      client.add("s", "a-behind", "e00010x");       // one behind the cursor, one just ahead of it
      SetPage second = client.elements("s", first.next().orElseThrow(), 3);
      assertEquals(List.of("e00010x", element(11), element(12)), second.elementsAsStrings());
      assertEquals(100, second.size());
    }
  }

  @Test
  void writesAnswerTheSizeAndTheSetOnlyWhenAskedAndSmallEnough() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      fill(client, "s", 1_500);
      SetUpdate add = SetUpdate.newBuilder().addAdd(ByteString.copyFromUtf8("new")).build();
      SetWritten plain = client.updateSet("s", add, 0);
      assertEquals(1_501, plain.size());
      assertEquals(Optional.empty(), plain.set(), "the default answer carries no set");
      assertTrue(client.updateSet("s", add, 1_000).set().isEmpty(), "a set larger than asked is not sent");
      SetWritten body = client.updateSet("s", add, 2_000);
      assertEquals(1_501, body.set().orElseThrow().elements().size());
      assertEquals(new TreeSet<>(body.set().get().elementsAsStrings()), new TreeSet<>(client.elements("s")
          .elementsAsStrings()));
    }
  }

  @Test
  void badPagesAndOtherTypesAreRefusedClearly() throws Exception {
    try (TestNode node = TestNode.start(dir, 0);
        LatticeClient client = LatticeClient.builder().addresses(node.address()).build()) {
      client.increment("n", 1);
      LatticeException mismatch = assertThrows(LatticeException.class, () -> client.size("n"));
      assertEquals(ErrorCode.TYPE_MISMATCH, mismatch.code());
      assertTrue(mismatch.getMessage().contains("counter"), mismatch.getMessage());
      assertEquals(0, client.size("never-written"));
      assertFalse(client.contains("never-written", "x"));
      assertTrue(client.elements("never-written", SetCursor.START, 10).next().isEmpty());

      client.add("s", "x");
      LatticeException tooMany = assertThrows(LatticeException.class,
          () -> client.elements("s", SetCursor.START, 10_001));
      assertEquals(ErrorCode.BAD_REQUEST, tooMany.code());
      assertTrue(tooMany.getMessage().contains("10000"), tooMany.getMessage());
      LatticeException forged = assertThrows(LatticeException.class,
          () -> client.elements("s", new SetCursor(ByteString.copyFromUtf8("\u0007junk")), 10));
      assertEquals(ErrorCode.BAD_REQUEST, forged.code());
      assertEquals(List.of("x"), client.elements("s", SetCursor.START, 10).elementsAsStrings(), "the node serves on");
    }
  }
}
