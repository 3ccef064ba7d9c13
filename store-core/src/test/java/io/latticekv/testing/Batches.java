package io.latticekv.testing;

import io.latticekv.core.storage.Store;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * Bulk writes for tests: a store filled 1,000 writes per batch (one RocksDB write each, as a node
 * combines client writes), and requests cut in chunks of 1,000 (the per-request set limit).
 */
public final class Batches {

  /** Writes per batch, elements per request. */
  public static final int SIZE = 1_000;

  private Batches() {}

  /** Applies {@code write(i)} for every i from {@code from} (inclusive) to {@code to} (exclusive). */
  public static void apply(Store store, int from, int to, IntFunction<Store.Write> write) {
    List<Store.Write> batch = new ArrayList<>(SIZE);
    for (int i = from; i < to; i++) {
      batch.add(write.apply(i));
      if (batch.size() == SIZE || i == to - 1) {
        store.applyAll(batch);
        batch.clear();
      }
    }
  }

  /** Hands {@code items} to {@code send} in consecutive chunks of at most {@link #SIZE}. */
  public static <T> void inChunks(List<T> items, Consumer<List<T>> send) {
    for (int from = 0; from < items.size(); from += SIZE) {
      send.accept(items.subList(from, Math.min(items.size(), from + SIZE)));
    }
  }
}
