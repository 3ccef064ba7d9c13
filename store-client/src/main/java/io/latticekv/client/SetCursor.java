package io.latticekv.client;

import com.google.protobuf.ByteString;

/**
 * Where the next page of a set's elements starts ({@link LatticeClient#elements(String, SetCursor,
 * int)}): opaque, given by the node with each page. A page starts just after the last element of
 * the page before, whatever changed in between: an element added behind the cursor meanwhile is
 * not returned, one added ahead of it is.
 */
public record SetCursor(ByteString bytes) {

  /** The first page. */
  public static final SetCursor START = new SetCursor(ByteString.EMPTY);
}
