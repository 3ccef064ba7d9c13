package io.latticekv.core.merkle;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A Merkle tree over the hashed key space, in the style of Riak's tictac AAE trees: the key space
 * is cut into {@code 2^segmentBits} segments by the top bits of the key's hash; a segment's leaf
 * is the XOR of {@link Hashing#entryHash} over the keys in it; an inner node is the XOR of its
 * {@link #FANOUT} children. XOR makes a write O(1): the key's old contribution is XORed out of its
 * leaf and the new one in, in any order, from any thread (the leaves are atomic, and XOR
 * commutes). Inner nodes are not stored: a level is computed from the leaves when an exchange asks
 * for it, which costs one pass over the leaves.
 *
 * <p>Levels are numbered from the leaves: level 0 has one node per segment, level {@code
 * depth()} is the root. With the default 2^14 segments and fan-out 16: 16,384 leaves, then 1,024,
 * 64, 4 and 1 nodes.
 */
public final class MerkleTree {

  /** Children per inner node. */
  public static final int FANOUT = 16;

  /**
   * Default segment count: 2^14. With a million keys a segment holds about 61, so finding one
   * differing key costs listing about 61 keys and digests (a few KB); more segments would make
   * that smaller and the levels above larger.
   */
  public static final int DEFAULT_SEGMENT_BITS = 14;

  private final int segmentBits;
  private final AtomicLongArray leaves;
  /** Keys with an entry: counted as entries appear (from 0) and leave (to 0), so always exact. */
  private final java.util.concurrent.atomic.AtomicLong keys = new java.util.concurrent.atomic.AtomicLong();

  public MerkleTree(int segmentBits) {
    if (segmentBits < 1 || segmentBits > 24) {
      throw new IllegalArgumentException("segment bits must be 1..24, got " + segmentBits);
    }
    this.segmentBits = segmentBits;
    this.leaves = new AtomicLongArray(1 << segmentBits);
  }

  public int segmentBits() {
    return segmentBits;
  }

  public int segments() {
    return leaves.length();
  }

  /** The segment of a key hash: its top bits. */
  public int segmentOf(long keyHash) {
    return (int) (keyHash >>> (64 - segmentBits));
  }

  /** Replaces a key's contribution: {@code oldEntry} (0 if the key was absent) by {@code newEntry}. */
  public void update(long keyHash, long oldEntry, long newEntry) {
    long change = oldEntry ^ newEntry;
    if (oldEntry == 0 && newEntry != 0) {
      keys.incrementAndGet();
    } else if (oldEntry != 0 && newEntry == 0) {
      keys.decrementAndGet();
    }
    if (change != 0) {
      int segment = segmentOf(keyHash);
      long current;
      do {
        current = leaves.get(segment);
      } while (!leaves.compareAndSet(segment, current, current ^ change));
    }
  }

  /**
   * The keys the tree holds an entry for: every stored key, deleted ones included until their
   * tombstones are collected (an entry hash of 0 would go uncounted; a 2^-64 chance per key).
   */
  public long keys() {
    return keys.get();
  }

  /** The number of levels above the leaves (the root's level). */
  public int depth() {
    int nodes = segments();
    int depth = 0;
    while (nodes > 1) {
      nodes = (nodes + FANOUT - 1) / FANOUT;
      depth++;
    }
    return depth;
  }

  /** Number of nodes at {@code level}. */
  public int width(int level) {
    int nodes = segments();
    for (int l = 0; l < level; l++) {
      nodes = (nodes + FANOUT - 1) / FANOUT;
    }
    return nodes;
  }

  /** Every node hash at {@code level}, computed from the leaves now. */
  public long[] level(int level) {
    long[] nodes = new long[segments()];
    for (int i = 0; i < nodes.length; i++) {
      nodes[i] = leaves.get(i);
    }
    for (int l = 0; l < level; l++) {
      long[] up = new long[(nodes.length + FANOUT - 1) / FANOUT];
      for (int i = 0; i < nodes.length; i++) {
        up[i / FANOUT] ^= nodes[i];
      }
      nodes = up;
    }
    return nodes;
  }

  public long root() {
    return level(depth())[0];
  }

  /** Leaf hashes, a copy. */
  public long[] leaves() {
    return level(0);
  }
}
