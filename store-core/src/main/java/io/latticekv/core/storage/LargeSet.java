package io.latticekv.core.storage;

import com.google.protobuf.ByteString;

/**
 * A set stored one row per element, read in place ({@link Store#largeSet}): its size from its
 * record, an element from its row, its elements in the rows' order — by {@link
 * io.latticekv.core.merkle.Hashing#keyHash} of the element, unsigned, then by bytes. Each call
 * reads under the key's lock, so it sees the set of one moment; it throws {@link LayoutChanged}
 * when the key is no longer stored by rows, and the caller reads the key whole.
 */
public interface LargeSet {
  int size();

  boolean contains(ByteString element);

  /** The elements from hash {@code fromHash} (unsigned) on, in row order, until {@code visitor} returns false. */
  void forEachFrom(long fromHash, ElementVisitor visitor);

  /** What {@link #forEachFrom} calls per element. */
  interface ElementVisitor {
    boolean accept(long hash, ByteString element);
  }
}
