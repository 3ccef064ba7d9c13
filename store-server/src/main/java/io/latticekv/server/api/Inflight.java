package io.latticekv.server.api;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The requests a node has received and not yet answered, over all connections of every client
 * port: a graceful stop waits for them to reach zero.
 */
public final class Inflight {

  private final AtomicInteger count = new AtomicInteger();

  /** A request arrived. */
  public void begin() {
    count.incrementAndGet();
  }

  /** A request was answered (or dropped with its connection). */
  public void end() {
    if (count.decrementAndGet() == 0) {
      synchronized (count) {
        count.notifyAll(); // a graceful stop may be waiting for the last answer
      }
    }
  }

  public int get() {
    return count.get();
  }

  /** Waits until no request is in flight or {@code millis} pass; returns how many are still in flight. */
  int awaitNone(long millis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    synchronized (count) {
      long left;
      while (count.get() > 0 && (left = deadline - System.nanoTime()) > 0) {
        try {
          count.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    return count.get();
  }
}
