package io.latticekv.client;

import com.google.protobuf.ByteString;

/**
 * What a read saw of a key, opaque to the client: pass it to {@link LatticeClient#delete(String,
 * ReadContext)} to delete exactly that, so an update made concurrently elsewhere, which the read
 * did not see, survives the delete. (A set's {@link SetContext} carries the same bytes.)
 */
public record ReadContext(ByteString bytes) {}
