package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
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

  /** For a set stored one row per element: its size after the write, and how to read it whole; else -1 and null. */
  private final int elementCount;
  private final Supplier<Lives> whole;
  private Lives wholeState;

  Applied(Lives before, Lives state, Lives delta, boolean changed, Supplier<CompletableFuture<Void>> durability) {
    this(before, state, delta, changed, durability, -1, null);
  }

  /**
   * The outcome of a write to a set stored one row per element: {@code before} and {@code after}
   * hold the elements the update named (and the set's life and context), {@code elementCount} is
   * the set's size after the write, and {@code whole} reads the set whole.
   */
  Applied(Lives before, Lives after, Lives delta, boolean changed, Supplier<CompletableFuture<Void>> durability,
      int elementCount, Supplier<Lives> whole) {
    this.before = before;
    this.state = after;
    this.delta = delta;
    this.changed = changed;
    this.durability = durability;
    this.elementCount = elementCount;
    this.whole = whole;
  }

  /**
   * The key's state just before the write (empty when it held nothing), under the same key lock.
   * For a large set (stored one row per element) only the elements the update named, with the
   * set's life and context: enough to tell which of them the write added or removed.
   */
  public Lives before() {
    return before;
  }

  /**
   * The key's state after the write. For a large set, read whole when first asked, after the
   * write was stored (so it may hold later writes too): O(the set's size).
   */
  public synchronized Lives state() {
    if (whole == null) {
      return state;
    }
    if (wholeState == null) {
      wholeState = whole.get();
    }
    return wholeState;
  }

  /** Whether the key holds {@code element} just after the write; cheap at any set size. */
  public boolean containsAfter(ByteString element) {
    return state.contains(element);
  }

  /** The visible set's size just after the write; cheap at any set size. */
  public int elementCount() {
    return elementCount >= 0 ? elementCount : state.elementCount();
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
