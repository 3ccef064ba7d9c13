package io.latticekv.proto.wire;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of input one port may hold in memory, over all its connections: frames being received
 * (reserved whole as soon as their length prefix is read) and frames received but not yet answered.
 * Without it, every connection may hold a frame of the frame limit, and ten thousand slow
 * connections (slowloris) hold tens of gigabytes.
 *
 * <p>When a frame being received does not fit, the oldest frame still being received on another
 * connection is evicted (its connection is closed with an error) until it fits: a frame that has
 * been arriving for long is the likeliest to be an attack, and a well-behaved client's frame
 * arrives within milliseconds (Redis evicts the clients using the most memory, for the same
 * reason). Frames received whole are never evicted; a connection whose answers are pending stops
 * being read instead, until they drain.
 *
 * <p>Thread-safe: connections on every event loop share it.
 */
public final class InputBudget {

  /** A frame being received, holding its reservation until it completes or its connection dies. */
  public final class Reservation {
    private final long seq;
    private final long bytes;
    private final Runnable evict;
    private final AtomicBoolean held = new AtomicBoolean(true);

    private Reservation(long seq, long bytes, Runnable evict) {
      this.seq = seq;
      this.bytes = bytes;
      this.evict = evict;
    }

    /** Gives the bytes back; idempotent. */
    public void release() {
      if (held.compareAndSet(true, false)) {
        partial.remove(seq);
        used.addAndGet(-bytes);
      }
    }
  }

  private final long bytesMax;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong nextSeq = new AtomicLong();
  private final AtomicLong evictions = new AtomicLong();
  /** Frames being received, oldest first. */
  private final ConcurrentSkipListMap<Long, Reservation> partial = new ConcurrentSkipListMap<>();

  public InputBudget(long bytesMax) {
    if (bytesMax <= 0) {
      throw new IllegalArgumentException("an input budget must be positive");
    }
    this.bytesMax = bytesMax;
  }

  /** No limit: for the client side of a connection, which trusts the node it chose. */
  public static InputBudget unlimited() {
    return new InputBudget(Long.MAX_VALUE);
  }

  public long bytesMax() {
    return bytesMax;
  }

  /** Bytes held now. */
  public long used() {
    return used.get();
  }

  /** Frames evicted so far because the budget was exhausted. */
  public long evictions() {
    return evictions.get();
  }

  /**
   * Reserves {@code bytes} for a frame being received, evicting older frames being received when
   * the budget is short; {@code evict} runs (on any thread) when this reservation is evicted.
   *
   * @return the reservation, or null when even with every frame being received evicted the bytes
   *     do not fit (answered frames hold the budget)
   */
  public Reservation reserve(long bytes, Runnable evict) {
    while (true) {
      long now = used.get();
      if (now + bytes <= bytesMax && now + bytes >= now) {
        if (used.compareAndSet(now, now + bytes)) {
          Reservation r = new Reservation(nextSeq.incrementAndGet(), bytes, evict);
          partial.put(r.seq, r);
          return r;
        }
        continue;
      }
      Map.Entry<Long, Reservation> oldest = partial.pollFirstEntry();
      if (oldest == null) {
        return null;
      }
      Reservation victim = oldest.getValue();
      if (victim.held.compareAndSet(true, false)) {
        used.addAndGet(-victim.bytes);
        evictions.incrementAndGet();
        victim.evict.run();
      }
    }
  }

  /** Counts bytes that are already in memory (a frame received whole); they cannot be refused. */
  public void hold(long bytes) {
    used.addAndGet(bytes);
  }

  /** Gives back bytes counted by {@link #hold}. */
  public void free(long bytes) {
    used.addAndGet(-bytes);
  }

  /** Whether the budget is used up. */
  public boolean exhausted() {
    return used.get() >= bytesMax;
  }
}
