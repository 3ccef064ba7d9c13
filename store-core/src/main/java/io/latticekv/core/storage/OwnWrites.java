package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client writes of this life, per key, kept while the node may still learn that its directory
 * is a backup older than the cluster's horizon (docs/lifecycle.md). A discard then drops every
 * key but keeps, in the same step under the key's lock, what this life wrote to it: nobody else
 * may hold those writes yet, and no read in between sees the key without them.
 *
 * <p>Kept only until the node first moves its epoch on (then no participant can be two epochs
 * ahead of it), through any discards before that: a discard's target is where most participants
 * were, and a member heard later may be further on still, so a second discard can follow the
 * first, and it must keep what the first kept and what came after. At most {@link #KEYS_MAX}
 * keys: past that the log is dropped, and a discard is refused (the operator wipes the directory
 * instead). Each key holds the join of its deltas, so a key written many times costs one entry.
 * Thread-safe: writers add under their key's lock, the lifecycle closes it from its own thread.
 */
public final class OwnWrites {

  private static final Logger log = LoggerFactory.getLogger(OwnWrites.class);

  /** Keys a node writes after its start before its peers tell it their epochs: a few seconds of writes. */
  public static final int KEYS_MAX = 100_000;

  private final int keysMax;
  private final Map<ByteString, Lives> deltas = new ConcurrentHashMap<>();
  private volatile boolean open;
  private volatile boolean overflowed;

  public OwnWrites() {
    this(KEYS_MAX);
  }

  OwnWrites(int keysMax) {
    this.keysMax = keysMax;
  }

  /** Starts keeping this life's writes (a node bound by a cluster's epoch, at its start). */
  public void open() {
    if (!overflowed) {
      open = true;
    }
  }

  /** Stops keeping them and forgets those kept. */
  public void close() {
    open = false;
    deltas.clear();
  }

  /** Whether the log was dropped because too many keys were written while it was kept. */
  public boolean overflowed() {
    return overflowed;
  }

  /** A client write's delta to {@code key}, stored; the caller holds the key's lock. */
  public void add(ByteString key, Lives delta) {
    if (!open || delta.isEmpty()) {
      return;
    }
    Lives before = deltas.get(key);
    if (before == null && deltas.size() >= keysMax) {
      overflowed = true;
      close();
      log.warn("{} keys were written since this node started, before it first moved its epoch on (until then, or "
          + "while it catches up after discarding a too old backup, it may have to discard its keys): no longer "
          + "keeping those writes; if a discard comes now, the directory will have to be wiped by hand", keysMax);
      return;
    }
    deltas.put(key, before == null ? delta : before.merge(delta));
  }

  /** What this life wrote to {@code key}, or null; the caller holds the key's lock. */
  public Lives of(ByteString key) {
    return deltas.get(key);
  }

  /** Every key kept with what this life wrote to it. */
  public List<Map.Entry<ByteString, Lives>> entries() {
    return deltas.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue())).toList();
  }
}
