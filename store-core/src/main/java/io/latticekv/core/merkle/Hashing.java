package io.latticekv.core.merkle;

import com.google.protobuf.ByteString;

/**
 * The 64-bit hashes of the Merkle tree. They only need to spread keys evenly and make accidental
 * collisions unlikely (2^-64 per pair); no adversary chooses digests, so a fast mixing hash does.
 * Every node must use these exact functions: the segment of a key and the leaf hashes are part of
 * the peer protocol (checked at the handshake through the segment count and {@link #VERSION}).
 */
public final class Hashing {

  /** Changes whenever either function below changes. */
  public static final int VERSION = 1;

  private Hashing() {}

  /** FNV-1a over the key's bytes, finished with SplitMix64's mixer for avalanche. */
  public static long keyHash(ByteString key) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < key.size(); i++) {
      h ^= key.byteAt(i) & 0xFF;
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** A key-and-state's contribution to its leaf: XORed in when written, out when replaced. */
  public static long entryHash(long keyHash, long stateDigest) {
    return mix(keyHash ^ mix(stateDigest + 0x9e3779b97f4a7c15L));
  }

  /** SplitMix64's finalizer. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
