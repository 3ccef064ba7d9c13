package io.latticekv.client;

import com.google.protobuf.ByteString;

/**
 * The causal context a set read returned: opaque to the client. Passing it to a remove removes
 * only the adds that read saw, so an element added concurrently elsewhere survives (add wins).
 */
public record SetContext(ByteString bytes) {}
