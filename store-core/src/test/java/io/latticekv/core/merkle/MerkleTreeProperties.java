package io.latticekv.core.merkle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;
import static org.quicktheories.generators.SourceDSL.longs;

import com.google.protobuf.ByteString;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

@DisplayName("Merkle tree properties")
class MerkleTreeProperties {

  private static final int EXAMPLES = Integer.getInteger("laws.examples", 1000);
  private static final long SEED = Long.getLong("laws.seed", System.nanoTime());

  /** (key index, digest) pairs: writes to a pool of 200 keys, so rewrites are common. */
  private static final Gen<List<long[]>> WRITES = lists().of(
      integers().between(0, 199).zip(longs().between(-3, 3), (k, d) -> new long[] {k, d})).ofSizeBetween(0, 300);

  private static ByteString key(long index) {
    return ByteString.copyFromUtf8("key-" + index);
  }

  private static MerkleTree built(Map<Long, Long> entries) {
    MerkleTree tree = new MerkleTree(6);
    entries.forEach((k, d) -> tree.update(Hashing.keyHash(key(k)), 0, Hashing.entryHash(Hashing.keyHash(key(k)), d)));
    return tree;
  }

  private static Map<Long, Long> apply(List<long[]> writes) {
    Map<Long, Long> entries = new HashMap<>();
    for (long[] w : writes) {
      entries.put(w[0], w[1]);
    }
    return entries;
  }

  @Test
  @DisplayName("two trees are equal exactly when their key/state sets are equal")
  void equalTreesIffEqualSets() {
    qt().withFixedSeed(SEED).withExamples(EXAMPLES).forAll(WRITES, WRITES).checkAssert((a, b) -> {
      Map<Long, Long> left = apply(a);
      Map<Long, Long> right = apply(b);
      MerkleTree x = built(left);
      MerkleTree y = built(right);
      assertEquals(left.equals(right), x.root() == y.root(), "seed " + SEED);
      // And segment by segment: a leaf differs exactly where some key of it differs.
      long[] lx = x.leaves();
      long[] ly = y.leaves();
      for (int s = 0; s < lx.length; s++) {
        int segment = s;
        boolean sameContent = left.entrySet().stream().filter(e -> x.segmentOf(Hashing.keyHash(key(e.getKey()))) == segment)
            .allMatch(e -> e.getValue().equals(right.get(e.getKey())))
            && right.entrySet().stream().filter(e -> x.segmentOf(Hashing.keyHash(key(e.getKey()))) == segment)
            .allMatch(e -> e.getValue().equals(left.get(e.getKey())));
        assertEquals(sameContent, lx[s] == ly[s], "segment " + s + ", seed " + SEED);
      }
    });
  }

  @Test
  @DisplayName("a tree kept up to date write by write equals one rebuilt from scratch")
  void incrementalEqualsRebuilt() {
    qt().withFixedSeed(SEED).withExamples(EXAMPLES).forAll(WRITES).checkAssert(writes -> {
      MerkleTree incremental = new MerkleTree(6);
      Map<Long, Long> current = new HashMap<>();
      for (long[] w : writes) {
        long kh = Hashing.keyHash(key(w[0]));
        Long old = current.put(w[0], w[1]);
        incremental.update(kh, old == null ? 0 : Hashing.entryHash(kh, old), Hashing.entryHash(kh, w[1]));
      }
      MerkleTree rebuilt = built(current);
      for (int level = 0; level <= rebuilt.depth(); level++) {
        assertArrayEquals(rebuilt.level(level), incremental.level(level), "level " + level + ", seed " + SEED);
      }
    });
  }

  @Test
  void levelsFoldSixteenChildrenIntoEachParent() {
    MerkleTree tree = new MerkleTree(MerkleTree.DEFAULT_SEGMENT_BITS);
    assertEquals(4, tree.depth());
    assertEquals(16_384, tree.width(0));
    assertEquals(1_024, tree.width(1));
    assertEquals(64, tree.width(2));
    assertEquals(4, tree.width(3));
    assertEquals(1, tree.width(4));
  }
}
