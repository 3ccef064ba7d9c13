package io.latticekv.core.storage;

import io.latticekv.core.crdt.Lives;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The outcome of one write: the key's state before and after it, the delta it made (what rumors
 * carry), and whether it changed anything. {@link #durable()} completes when the write is as durable as the
 * sync policy promises; acknowledge a client only after it completes.
 *
 * <p>Durability is asked for, not given by default: under group commit, asking costs a share of
 * an fsync, and writes nobody waits for (merges of rumors and repairs) would otherwise keep the
 * disk busy with fsyncs of their own. They become durable with the next fsync anyway.
 */
public final class Applied {

  private final Lives before;
  private final Lives state;
  private final Lives delta;
  private final boolean changed;
  private final Supplier<CompletableFuture<Void>> durability;
  private CompletableFuture<Void> durable;

  Applied(Lives before, Lives state, Lives delta, boolean changed, Supplier<CompletableFuture<Void>> durability) {
    this.before = before;
    this.state = state;
    this.delta = delta;
    this.changed = changed;
    this.durability = durability;
  }

  /** The key's state just before the write (empty when it held nothing), under the same key lock. */
  public Lives before() {
    return before;
  }

  public Lives state() {
    return state;
  }

  public Lives delta() {
    return delta;
  }

  public boolean changed() {
    return changed;
  }

  /** Completes when this write (and every earlier one) is as durable as the sync policy says. */
  public synchronized CompletableFuture<Void> durable() {
    if (durable == null) {
      durable = durability.get();
    }
    return durable;
  }
}
