package io.latticekv.core.storage;

import io.latticekv.core.crdt.Crdt;
import java.util.concurrent.CompletableFuture;

/**
 * The outcome of one write: the key's state after it, the delta it made (what rumors carry), and
 * a future that completes when the write is as durable as the sync policy promises. Acknowledge a
 * client only after {@code durable} completes.
 */
public record Applied(Crdt<?> state, Crdt<?> delta, boolean changed, CompletableFuture<Void> durable) {}
