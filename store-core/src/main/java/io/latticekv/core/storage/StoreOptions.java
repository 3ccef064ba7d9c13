package io.latticekv.core.storage;

import io.latticekv.core.clock.Clock;
import java.nio.file.Path;
import java.util.Random;

/**
 * Settings of one node's storage engine.
 *
 * @param directory the node's data directory; created when missing
 * @param sync when writes are fsynced; see {@link SyncPolicy}
 * @param cacheBytes bound on the decoded-value cache, weighed by encoded size. More keeps more hot
 *     keys decoded in memory; less leaves more memory to RocksDB's block cache and the OS
 * @param valueBytesMax largest encoded state one key may hold. A write that would grow a state
 *     past it is refused; raising it makes every read-merge-write of such a key slower
 * @param lockStripes number of locks that serialize writes per key. More lets more writes to
 *     different keys proceed at once, at a little memory each
 * @param policy what a state from outside (a client's whole-state merge, a peer's rumor, replica
 *     write or repair) must satisfy before it is merged
 * @param clock the physical clock
 * @param random the source of fresh ids (node id, replica ids)
 * @param segmentBits the Merkle tree has 2^segmentBits segments; fixed when a directory is
 *     created, and equal on every node of a cluster (checked at the peer handshake)
 * @param certifiedNodeId the node id the node's TLS certificate names, or null without TLS: a new
 *     directory takes it, an existing one must already have it
 * @param splitElementsMin a set of one life with at least this many elements (or {@link
 *     #SPLIT_BYTES_MIN} bytes of them) is stored one row per element (docs/architecture.md,
 *     "Sets"); equal on every node of a cluster, since a set's digest depends on how it is stored
 */
public record StoreOptions(
    Path directory,
    SyncPolicy sync,
    long cacheBytes,
    int valueBytesMax,
    int lockStripes,
    StatePolicy policy,
    Clock clock,
    Random random,
    int segmentBits,
    io.latticekv.core.crdt.NodeId certifiedNodeId,
    int splitElementsMin) {

  public static final long DEFAULT_CACHE_BYTES = 64L << 20;
  public static final int DEFAULT_VALUE_BYTES_MAX = 32 << 20;
  public static final int DEFAULT_LOCK_STRIPES = 1024;
  /** Sets from this many elements on are stored one row per element: below it a rewrite costs little. */
  public static final int DEFAULT_SPLIT_ELEMENTS_MIN = 4_096;
  /**
   * Sets whose elements take this many bytes are stored one row per element whatever their count,
   * so that a set stored whole stays far below the value limit however large its elements.
   */
  public static final long SPLIT_BYTES_MIN = 1L << 20;
  /**
   * A system property that sets {@link #splitElementsMin} for {@link #defaults}: for tests, which
   * run the cluster suites with every set of two elements or more stored by rows (tests/pom.xml,
   * execution {@code split-sets}). Every node of a cluster must have the same value.
   */
  public static final String SPLIT_ELEMENTS_MIN_PROPERTY = "latticekv.store.splitElementsMin";
  public StoreOptions {
    if (cacheBytes < 0 || valueBytesMax <= 0 || lockStripes <= 0 || splitElementsMin <= 0) {
      throw new IllegalArgumentException("store limits must be positive");
    }
    java.util.Objects.requireNonNull(policy, "policy");
  }

  /** Defaults for {@code directory} with {@code sync}: system clock, secure random ids. */
  public static StoreOptions defaults(Path directory, SyncPolicy sync) {
    return new StoreOptions(
        directory,
        sync,
        DEFAULT_CACHE_BYTES,
        DEFAULT_VALUE_BYTES_MAX,
        DEFAULT_LOCK_STRIPES,
        StatePolicy.DEFAULTS,
        Clock.system(),
        new java.security.SecureRandom(),
        io.latticekv.core.merkle.MerkleTree.DEFAULT_SEGMENT_BITS,
        null,
        Integer.getInteger(SPLIT_ELEMENTS_MIN_PROPERTY, DEFAULT_SPLIT_ELEMENTS_MIN));
  }

  public StoreOptions withCacheBytes(long bytes) {
    return new StoreOptions(directory, sync, bytes, valueBytesMax, lockStripes, policy, clock, random, segmentBits, certifiedNodeId, splitElementsMin);
  }

  public StoreOptions withClock(Clock newClock) {
    return new StoreOptions(directory, sync, cacheBytes, valueBytesMax, lockStripes, policy, newClock, random, segmentBits, certifiedNodeId, splitElementsMin);
  }

  public StoreOptions withSegmentBits(int bits) {
    return new StoreOptions(directory, sync, cacheBytes, valueBytesMax, lockStripes, policy, clock, random, bits, certifiedNodeId, splitElementsMin);
  }

  public StoreOptions withPolicy(StatePolicy newPolicy) {
    return new StoreOptions(directory, sync, cacheBytes, valueBytesMax, lockStripes, newPolicy, clock, random, segmentBits, certifiedNodeId, splitElementsMin);
  }

  public StoreOptions withCertifiedNodeId(io.latticekv.core.crdt.NodeId id) {
    return new StoreOptions(directory, sync, cacheBytes, valueBytesMax, lockStripes, policy, clock, random, segmentBits, id, splitElementsMin);
  }

  public StoreOptions withValueBytesMax(int bytes) {
    return new StoreOptions(directory, sync, cacheBytes, bytes, lockStripes, policy, clock, random, segmentBits, certifiedNodeId, splitElementsMin);
  }

  /** The same, storing sets one row per element from {@code elements} on (tests use a few). */
  public StoreOptions withSplitElementsMin(int elements) {
    return new StoreOptions(directory, sync, cacheBytes, valueBytesMax, lockStripes, policy, clock, random, segmentBits,
        certifiedNodeId, elements);
  }
}
