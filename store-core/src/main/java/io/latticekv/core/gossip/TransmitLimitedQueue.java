package io.latticekv.core.gossip;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BinaryOperator;
import java.util.function.IntSupplier;

/**
 * Items to piggyback or push, each sent a bounded number of times (memberlist's {@code
 * TransmitLimitedQueue}): the limit is {@code mult * ceil(log10(n + 1))} for a cluster of n
 * nodes, enough for an epidemic to reach everyone with high probability (each send infects a new
 * node while most are uninfected; log n rounds of doubling cover the cluster). Items that have
 * been sent least go first, newest first among equals. A newer item for the same key joins the
 * queued one (for CRDT deltas, a merge) and its count starts again.
 *
 * <p>Bounded: past {@code capacity} items the oldest is dropped and counted. Not thread-safe:
 * owned by one protocol object.
 *
 * @param <K> what identifies an item (a node id, a key)
 * @param <V> the item
 */
public final class TransmitLimitedQueue<K, V> {

  private static final class Entry<K, V> {
    final K key;
    V value;
    int transmits;
    long id; // insertion order: higher is newer

    Entry(K key, V value, long id) {
      this.key = key;
      this.value = value;
      this.id = id;
    }
  }

  private static final Comparator<Entry<?, ?>> ORDER =
      Comparator.<Entry<?, ?>>comparingInt(e -> e.transmits).thenComparing(e -> -e.id);

  private final Map<K, Entry<K, V>> byKey = new HashMap<>();
  private final TreeSet<Entry<K, V>> ordered = new TreeSet<>(ORDER);
  private final java.util.TreeMap<Long, Entry<K, V>> byAge = new java.util.TreeMap<>();
  private final int retransmitMult;
  private final IntSupplier clusterSize;
  private final int capacity;
  private final BinaryOperator<V> join;
  private long nextId;
  private long dropped;

  /**
   * @param retransmitMult memberlist's multiplier (4 there): sends per item scale with it
   * @param clusterSize the current number of nodes, asked at every take
   * @param capacity most items held; beyond it the oldest are dropped
   * @param join combines a queued item with a newer one for the same key
   */
  public TransmitLimitedQueue(int retransmitMult, IntSupplier clusterSize, int capacity, BinaryOperator<V> join) {
    if (retransmitMult < 1 || capacity < 1) {
      throw new IllegalArgumentException("retransmitMult and capacity must be positive");
    }
    this.retransmitMult = retransmitMult;
    this.clusterSize = clusterSize;
    this.capacity = capacity;
    this.join = join;
  }

  /** The number of times an item is sent before it is dropped, for the current cluster size. */
  public int transmitLimit() {
    return retransmitMult * (int) Math.ceil(Math.log10(clusterSize.getAsInt() + 1));
  }

  /** Queues {@code value}, joining it with a queued item of the same key. */
  public void add(K key, V value) {
    Entry<K, V> existing = byKey.get(key);
    if (existing != null) {
      ordered.remove(existing);
      byAge.remove(existing.id);
      existing.value = join.apply(existing.value, value);
      existing.transmits = 0;
      existing.id = nextId++;
      ordered.add(existing);
      byAge.put(existing.id, existing);
      return;
    }
    Entry<K, V> entry = new Entry<>(key, value, nextId++);
    byKey.put(key, entry);
    ordered.add(entry);
    byAge.put(entry.id, entry);
    while (byKey.size() > capacity) {
      remove(byAge.firstEntry().getValue());
      dropped++;
    }
  }

  /**
   * Up to {@code max} items, least sent first, whose cost (by {@code cost}) fits in {@code
   * budget}; each counts as sent {@code sends} times, and items at their limit leave the queue.
   */
  public List<V> take(int max, long budget, java.util.function.ToLongFunction<V> cost, int sends) {
    return take(max, budget, cost, sends, v -> true);
  }

  /** As {@link #take(int, long, java.util.function.ToLongFunction, int)}, among items that pass {@code filter}. */
  public List<V> take(int max, long budget, java.util.function.ToLongFunction<V> cost, int sends,
      java.util.function.Predicate<V> filter) {
    return take(max, budget, cost, sends, filter, false);
  }

  /** Whether some item was never taken: a new one, or one a newer item joined since. */
  public boolean hasUnsent() {
    return !ordered.isEmpty() && ordered.first().transmits == 0;
  }

  /**
   * As {@link #take(int, long, java.util.function.ToLongFunction, int, java.util.function.Predicate)},
   * among the items never taken ({@link #hasUnsent}). They lead the order, so this walks them
   * alone, not the queue, and at most {@code max} of them, taken or not.
   */
  public List<V> takeUnsent(int max, long budget, java.util.function.ToLongFunction<V> cost, int sends,
      java.util.function.Predicate<V> filter) {
    return take(max, budget, cost, sends, filter, true);
  }

  private List<V> take(int max, long budget, java.util.function.ToLongFunction<V> cost, int sends,
      java.util.function.Predicate<V> filter, boolean unsentOnly) {
    List<V> out = new ArrayList<>();
    List<Entry<K, V>> touched = new ArrayList<>();
    long used = 0;
    int walked = 0;
    for (Entry<K, V> e : ordered) {
      if (out.size() >= max || (unsentOnly && (e.transmits > 0 || walked++ >= max))) {
        break;
      }
      if (!filter.test(e.value)) {
        continue;
      }
      long c = cost.applyAsLong(e.value);
      if (used + c > budget && !out.isEmpty()) {
        continue;
      }
      used += c;
      out.add(e.value);
      touched.add(e);
    }
    int limit = transmitLimit();
    for (Entry<K, V> e : touched) {
      ordered.remove(e);
      e.transmits += sends;
      if (e.transmits >= limit) {
        byKey.remove(e.key);
        byAge.remove(e.id);
      } else {
        ordered.add(e);
      }
    }
    return out;
  }

  /** Removes the item of {@code key} (it has cooled). */
  public void cool(K key) {
    Entry<K, V> e = byKey.get(key);
    if (e != null) {
      remove(e);
    }
  }

  private void remove(Entry<K, V> e) {
    ordered.remove(e);
    byKey.remove(e.key);
    byAge.remove(e.id);
  }

  public V get(K key) {
    Entry<K, V> e = byKey.get(key);
    return e == null ? null : e.value;
  }

  public int size() {
    return byKey.size();
  }

  /** Whether some item is still to be sent. */
  public boolean pending() {
    return !byKey.isEmpty();
  }

  /** Items dropped because the queue was full; anti-entropy repairs what they carried. */
  public long dropped() {
    return dropped;
  }
}
