package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;

/** A stored key with its decoded state, as a scan of a segment reads them. */
public record KeyState(ByteString key, Lives state) {}
