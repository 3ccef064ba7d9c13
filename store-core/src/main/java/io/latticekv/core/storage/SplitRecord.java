package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.SplitSets;
import java.nio.ByteBuffer;

/**
 * The record of a set stored one row per element, at the key's row in {@code data}: the set's
 * shell ({@link SplitSets#shellOf}), its element count, the bytes of its elements, and the sum of
 * its elements' hashes (which makes its digest without reading a row).
 *
 * <p>Encoding: {@code 0x00 | 0x01 (version) | u32 count | u64 element bytes | u64 element sum |
 * shell (canonical CRDT encoding)}. No CRDT encoding starts with a zero byte (a protobuf field
 * tag is never zero), so a record and a whole value cannot be mistaken for each other.
 */
record SplitRecord(Lives shell, int count, long elementBytes, long elementSum) {

  private static final byte MARK = 0x00;
  private static final byte VERSION = 0x01;
  private static final int HEADER = 2 + 4 + 8 + 8;

  static boolean isRecord(byte[] stored) {
    return stored.length > 0 && stored[0] == MARK;
  }

  byte[] encode() {
    byte[] shellBytes = shell.encode();
    return ByteBuffer.allocate(HEADER + shellBytes.length).put(MARK).put(VERSION).putInt(count)
        .putLong(elementBytes).putLong(elementSum).put(shellBytes).array();
  }

  static SplitRecord decode(ByteString key, byte[] stored) {
    if (stored.length < HEADER || stored[1] != VERSION) {
      throw damaged(key, "a set record of " + stored.length + " bytes, version " + (stored.length > 1 ? stored[1] : -1));
    }
    ByteBuffer b = ByteBuffer.wrap(stored);
    b.position(2);
    int count = b.getInt();
    long bytes = b.getLong();
    long sum = b.getLong();
    Lives shell;
    try {
      shell = Lives.of(CrdtCodec.decode(stored, HEADER, stored.length - HEADER));
    } catch (CrdtDecodeException e) {
      throw damaged(key, e.getMessage());
    }
    if (count <= 0 || SplitSets.splittableLife(shell) == null) {
      throw damaged(key, "a set record with " + count + " elements and shell " + shell);
    }
    return new SplitRecord(shell, count, bytes, sum);
  }

  /** The digest of a stored record, read from its bytes alone: what the Merkle tree holds for the key. */
  static long digest(byte[] stored) {
    ByteBuffer b = ByteBuffer.wrap(stored);
    long sum = b.getLong(2 + 4 + 8);
    return SplitSets.digest(CrdtCodec.digest(stored, HEADER, stored.length - HEADER), sum);
  }

  private static StorageException damaged(ByteString key, String why) {
    return new StorageException("stored set record of key " + Store.printable(key) + " is damaged: " + why
        + "; restore this node's data from a peer");
  }
}
