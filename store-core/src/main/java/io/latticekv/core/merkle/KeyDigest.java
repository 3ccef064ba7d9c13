package io.latticekv.core.merkle;

import com.google.protobuf.ByteString;

/** A key and the digest of its stored state: what anti-entropy compares within a segment. */
public record KeyDigest(ByteString key, long digest) {}
