package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import java.util.Random;

/**
 * A 128-bit identity of a writer: the key under which a replica records its counter totals,
 * its OR-Set dots and its register writes.
 *
 * <p>Ids are random, so two nodes (or two lives of one node, see the storage layer's rule on
 * replica ids) never collide in practice. They order as unsigned 128-bit numbers, which is the
 * order of their big-endian bytes; canonical encodings sort by it.
 */
public record NodeId(long high, long low) implements Comparable<NodeId> {

  /** Bytes in the encoded form. */
  public static final int BYTES = 16;

  /** A fresh id from {@code random}; the caller chooses the source (seeded in tests). */
  public static NodeId random(Random random) {
    return new NodeId(random.nextLong(), random.nextLong());
  }

  /** Decodes the 16-byte big-endian form. */
  public static NodeId fromBytes(ByteString bytes) throws CrdtDecodeException {
    if (bytes.size() != BYTES) {
      throw new CrdtDecodeException(
          "a node id is " + BYTES + " bytes, got " + bytes.size());
    }
    long high = 0;
    long low = 0;
    for (int i = 0; i < 8; i++) {
      high = (high << 8) | (bytes.byteAt(i) & 0xFF);
      low = (low << 8) | (bytes.byteAt(i + 8) & 0xFF);
    }
    return new NodeId(high, low);
  }

  /** Parses the 32 hex digit form that {@link #toString()} prints. */
  public static NodeId parse(String hex) {
    if (hex.length() != 2 * BYTES) {
      throw new IllegalArgumentException("a node id is 32 hex digits, got '" + hex + "'");
    }
    return new NodeId(
        Long.parseUnsignedLong(hex.substring(0, 16), 16),
        Long.parseUnsignedLong(hex.substring(16), 16));
  }

  /** The 16-byte big-endian form. */
  public ByteString toBytes() {
    byte[] bytes = new byte[BYTES];
    for (int i = 0; i < 8; i++) {
      bytes[7 - i] = (byte) (high >>> (8 * i));
      bytes[15 - i] = (byte) (low >>> (8 * i));
    }
    return ByteString.copyFrom(bytes);
  }

  @Override
  public int compareTo(NodeId other) {
    int byHigh = Long.compareUnsigned(high, other.high);
    return byHigh != 0 ? byHigh : Long.compareUnsigned(low, other.low);
  }

  /** 32 lower-case hex digits. */
  @Override
  public String toString() {
    return String.format("%016x%016x", high, low);
  }
}
