package io.latticekv.server.api;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.Lives;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.SetPageQuery;
import io.latticekv.proto.SetReadRequest;
import io.latticekv.proto.SetReadResponse;
import java.util.List;
import java.util.Optional;

/**
 * Reads of part of a set (docs/protocol.md): whether it holds an element, its size, a page of its
 * elements after a cursor. A page's cursor is opaque to clients: a version byte, then where the
 * page ended, so that the next page starts just after it whatever changed in between (an element
 * added behind the cursor meanwhile is not returned; one added ahead of it is). Pages of a set
 * stored whole go in byte order (cursor version 1: the last element); pages of a large set, stored
 * one row per element, go in the rows' order (version 2: the last element's hash, then the
 * element) and read only the rows they return. A set that changed between the two ways of being
 * stored between two pages is paged on in the order its cursor names, from the whole set.
 */
final class SetReads {

  /** Elements of a page when the request names no limit. */
  static final int PAGE_DEFAULT = 1_000;
  /** Most elements one page may ask for: a page of the largest elements (1 MiB each) stays a bounded answer. */
  static final int PAGE_MAX = 10_000;

  private static final byte CURSOR_V1 = 1;
  /**
   * Largest set stored by rows that a page cursor of byte order (version 1) is paged on from: the
   * page reads the set whole. Sets are stored by rows from 4,096 elements, so a cursor given just
   * before a set crossed that stays good; a forged one cannot make a node read a huge set whole.
   */
  static final int BYTE_ORDER_CURSOR_ELEMENTS_MAX = 16_384;
  private static final byte CURSOR_V2 = 2;
  private static final java.util.Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();

  private SetReads() {}

  /** The answer to {@code read} from the key's state, as read at the requested level (empty: nothing there). */
  static SetReadResponse answer(SetReadRequest read, Optional<Lives> state, int elementBytesMax) {
    List<ByteString> elements = state.map(s -> setOf(s, read.getKey())).orElse(List.of());
    SetReadResponse.Builder out = SetReadResponse.newBuilder().setSize(elements.size());
    switch (read.getQueryCase()) {
      case CONTAINS -> out.setContains(java.util.Collections.binarySearch(elements, read.getContains(),
          ByteString.unsignedLexicographicalComparator()) >= 0);
      case SIZE -> { }
      case PAGE -> {
        if (isHashCursor(read.getPage().getCursor())) { // the set was stored by rows when the last page was read
          pageInHashOrder(read.getPage(), hashOrder(elements), elementBytesMax, out);
        } else {
          page(read.getPage(), elements, elementBytesMax, out);
        }
      }
      case SCAN -> scan(read.getScan(), elements, out);
      case QUERY_NOT_SET -> throw new IllegalStateException("a set read without a query: check refuses it first");
    }
    return out.build();
  }

  /**
   * The answer to {@code read} (at level one) from a set stored one row per element, reading only
   * what the answer holds; empty when the answer must come from the whole set (a page cursor of
   * byte order, given while the set was stored whole).
   */
  static Optional<SetReadResponse> answer(SetReadRequest read, io.latticekv.core.storage.LargeSet set,
      int elementBytesMax) {
    SetReadResponse.Builder out = SetReadResponse.newBuilder().setSize(set.size());
    switch (read.getQueryCase()) {
      case CONTAINS -> out.setContains(set.contains(read.getContains()));
      case SIZE -> { }
      case PAGE -> {
        if (!read.getPage().getCursor().isEmpty() && !isHashCursor(read.getPage().getCursor())) {
          // A cursor of byte order: the set was stored whole at the last page. It is paged on from
          // the whole set, which a set that just crossed the threshold is cheap to read; a large
          // one is not read whole for a cursor anyone can forge.
          if (set.size() > BYTE_ORDER_CURSOR_ELEMENTS_MAX) {
            throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "this page cursor is of the set as it was "
                + "stored before it grew past " + BYTE_ORDER_CURSOR_ELEMENTS_MAX + " elements; start the listing again");
          }
          return Optional.empty();
        }
        pageInHashOrder(read.getPage(), set, elementBytesMax, out);
      }
      case SCAN -> scan(read.getScan(), set, out);
      case QUERY_NOT_SET -> throw new IllegalStateException("a set read without a query: check refuses it first");
    }
    return Optional.of(out.build());
  }

  private static boolean isHashCursor(ByteString cursor) {
    return !cursor.isEmpty() && cursor.byteAt(0) == CURSOR_V2;
  }

  /** A page of the elements in hash order, after a version-2 cursor: only the rows it returns are read. */
  private static void pageInHashOrder(SetPageQuery query, io.latticekv.core.storage.LargeSet set,
      int elementBytesMax, SetReadResponse.Builder out) {
    int limit = query.getLimit() == 0 ? PAGE_DEFAULT : query.getLimit();
    ByteString cursor = query.getCursor();
    long afterHash = 0;
    ByteString afterElement = null;
    if (!cursor.isEmpty()) {
      checkCursor(cursor, 9, elementBytesMax);
      afterHash = cursor.substring(1, 9).asReadOnlyByteBuffer().getLong();
      afterElement = cursor.substring(9);
    }
    long fromHash = afterHash;
    ByteString after = afterElement;
    List<ByteString> page = new java.util.ArrayList<>(Math.min(limit, 1_024));
    long[] last = new long[1];
    boolean[] more = new boolean[1];
    set.forEachFrom(fromHash, (h, e) -> {
      if (after != null && h == fromHash && BYTES.compare(e, after) <= 0) {
        return true; // at or before the cursor
      }
      if (page.size() == limit) {
        more[0] = true;
        return false;
      }
      page.add(e);
      last[0] = h;
      return true;
    });
    out.addAllElements(page);
    if (more[0]) {
      out.setCursor(ByteString.copyFrom(java.nio.ByteBuffer.allocate(9).put(CURSOR_V2).putLong(last[0]).array())
          .concat(page.get(page.size() - 1)));
    }
  }

  /** A whole set's elements in the order of a set stored by rows: by hash, unsigned, then by bytes. */
  private static io.latticekv.core.storage.LargeSet hashOrder(List<ByteString> elements) {
    ByteString[] sorted = elements.toArray(new ByteString[0]);
    long[] hashes = new long[sorted.length];
    Integer[] order = new Integer[sorted.length];
    for (int i = 0; i < sorted.length; i++) {
      hashes[i] = io.latticekv.core.merkle.Hashing.keyHash(sorted[i]);
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> {
      int c = Long.compareUnsigned(hashes[a], hashes[b]);
      return c != 0 ? c : BYTES.compare(sorted[a], sorted[b]);
    });
    return new io.latticekv.core.storage.LargeSet() {
      @Override
      public int size() {
        return sorted.length;
      }

      @Override
      public boolean contains(ByteString element) {
        return elements.contains(element);
      }

      @Override
      public void forEachFrom(long fromHash, io.latticekv.core.storage.LargeSet.ElementVisitor visitor) {
        for (Integer i : order) {
          if (Long.compareUnsigned(hashes[i], fromHash) >= 0 && !visitor.accept(hashes[i], sorted[i])) {
            return;
          }
        }
      }
    };
  }

  /**
   * SSCAN over a set stored by rows: the rows are in the order of the scan hash (the element hash
   * shifted right by one), so a scan reads the rows it returns and one more.
   */
  private static void scan(io.latticekv.proto.SetScanQuery query, io.latticekv.core.storage.LargeSet set,
      SetReadResponse.Builder out) {
    int count = query.getCount() == 0 ? SCAN_DEFAULT : query.getCount();
    long after = query.getCursor();
    if (after == Long.MAX_VALUE) {
      out.setScanCursor(0);
      return;
    }
    // scanHash(e) > after exactly when the element hash is at least (after + 1) << 1, for after > 0.
    long fromHash = after == 0 ? 0 : (after + 1) << 1;
    List<ByteString> page = new java.util.ArrayList<>(Math.min(count, 1_024));
    long[] last = new long[1];
    boolean[] more = new boolean[1];
    set.forEachFrom(fromHash, (h, e) -> {
      long scan = (h >>> 1) == 0 ? 1 : h >>> 1;
      if (scan <= after) {
        return true;
      }
      if (page.size() >= count && scan != last[0]) {
        more[0] = true;
        return false;
      }
      page.add(e);
      last[0] = scan;
      return true;
    });
    out.addAllElements(page).setScanCursor(more[0] ? last[0] : 0);
  }

  /** Checks what can be checked before the read: the query, the page's limit and cursor. */
  static void check(SetReadRequest read, int elementBytesMax) {
    if (read.getQueryCase() == SetReadRequest.QueryCase.PAGE) {
      int limit = read.getPage().getLimit();
      if (limit < 0 || limit > PAGE_MAX) {
        throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "a page of " + Integer.toUnsignedString(limit)
            + " elements was asked for; at most " + PAGE_MAX + " per page");
      }
      after(read.getPage().getCursor(), elementBytesMax);
    } else if (read.getQueryCase() == SetReadRequest.QueryCase.SCAN) {
      int count = read.getScan().getCount();
      if (count < 0 || count > PAGE_MAX) {
        throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "a scan of " + Integer.toUnsignedString(count)
            + " elements was asked for; at most " + PAGE_MAX + " per call");
      }
      if (read.getScan().getCursor() < 0) {
        throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "the scan cursor is not one this node gave");
      }
    } else if (read.getQueryCase() == SetReadRequest.QueryCase.QUERY_NOT_SET) {
      throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "set read asks nothing: contains, size, page or scan");
    }
  }

  private static void page(SetPageQuery query, List<ByteString> elements, int elementBytesMax,
      SetReadResponse.Builder out) {
    int limit = query.getLimit() == 0 ? PAGE_DEFAULT : query.getLimit();
    Optional<ByteString> after = after(query.getCursor(), elementBytesMax);
    int from = 0;
    if (after.isPresent()) {
      int at = java.util.Collections.binarySearch(elements, after.get(), ByteString.unsignedLexicographicalComparator());
      from = at >= 0 ? at + 1 : -at - 1;
    }
    int to = Math.min(elements.size(), from + limit);
    out.addAllElements(elements.subList(from, to));
    if (to < elements.size()) {
      out.setCursor(cursor(elements.get(to - 1)));
    }
  }

  /** Elements of a scan when the request names no count (Redis's SSCAN default). */
  static final int SCAN_DEFAULT = 10;

  /** An element's place in a scan: its 63-bit hash, never 0 (the cursor that starts and ends). */
  static long scanHash(ByteString element) {
    long h = io.latticekv.core.merkle.Hashing.keyHash(element) >>> 1;
    return h == 0 ? 1 : h;
  }

  /**
   * The {@code count} elements of smallest scan hash above the cursor, and every element that
   * shares the last one's hash; the next cursor is that hash, or 0 when none is left above it.
   * Hash order does not move when elements come and go, so an element held for the whole walk is
   * returned at least once (Redis's SSCAN guarantee). Each element hashed once; a heap of {@code count}.
   */
  private static void scan(io.latticekv.proto.SetScanQuery query, List<ByteString> elements,
      SetReadResponse.Builder out) {
    int count = query.getCount() == 0 ? SCAN_DEFAULT : query.getCount();
    long after = query.getCursor();
    java.util.PriorityQueue<Long> smallest = new java.util.PriorityQueue<>(count + 1,
        java.util.Comparator.reverseOrder());
    long[] hashes = new long[elements.size()];
    int above = 0;
    for (int i = 0; i < hashes.length; i++) {
      long h = scanHash(elements.get(i));
      hashes[i] = h;
      if (h > after) {
        above++;
        if (smallest.size() < count) {
          smallest.add(h);
        } else if (h < smallest.peek()) {
          smallest.poll();
          smallest.add(h);
        }
      }
    }
    long last = smallest.isEmpty() ? 0 : smallest.peek();
    List<ByteString> page = new java.util.ArrayList<>(Math.min(above, count + 1));
    for (int i = 0; i < hashes.length; i++) {
      if (hashes[i] > after && hashes[i] <= last) {
        page.add(elements.get(i));
      }
    }
    out.addAllElements(page).setScanCursor(page.size() >= above ? 0 : last);
  }

  /** The cursor of a page whose last element is {@code last}. */
  static ByteString cursor(ByteString last) {
    return ByteString.copyFrom(new byte[] {CURSOR_V1}).concat(last);
  }

  /** Where a page starts: after the element the cursor names, or at the first (empty cursor). */
  private static Optional<ByteString> after(ByteString cursor, int elementBytesMax) {
    if (cursor.isEmpty()) {
      return Optional.empty();
    }
    if (isHashCursor(cursor)) {
      checkCursor(cursor, 9, elementBytesMax);
      return Optional.empty(); // read by pageInHashOrder
    }
    checkCursor(cursor, 1, elementBytesMax);
    return Optional.of(cursor.substring(1));
  }

  private static void checkCursor(ByteString cursor, int header, int elementBytesMax) {
    byte version = cursor.byteAt(0);
    if ((version != CURSOR_V1 && version != CURSOR_V2) || cursor.size() < header
        || cursor.size() - header > elementBytesMax) {
      throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST,
          "the page cursor is not one this node gave (send back the cursor of the previous page)");
    }
  }

  /** The elements of the set a key holds, sorted; a key of another type is refused. */
  private static List<ByteString> setOf(Lives state, ByteString key) {
    Optional<CrdtType> type = state.visibleType();
    if (type.isEmpty()) {
      return List.of();
    }
    if (type.get() != CrdtType.OR_SET) {
      throw new io.latticekv.core.storage.TypeMismatchException(io.latticekv.core.storage.Store.printable(key),
          type.get(), CrdtType.OR_SET);
    }
    return state.elements();
  }
}
