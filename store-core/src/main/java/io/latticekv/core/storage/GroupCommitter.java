package io.latticekv.core.storage;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for {@link SyncPolicy#BATCH}: writers append to RocksDB's log without syncing, then
 * ask for a ticket; one thread fsyncs the log and completes every ticket issued before that fsync
 * began. Under load, many writes share one fsync; alone, a write waits for one fsync, as with
 * ALWAYS.
 *
 * <p>Tickets are taken after the write returns, so the fsync that completes a ticket started after
 * the write was in the log, and covers it.
 */
final class GroupCommitter implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

  private record Waiter(long ticket, CompletableFuture<Void> future) {}

  private final RocksDB db;
  private final Thread thread;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private long requested;
  private long synced;
  private boolean closed;
  private long syncs;

  GroupCommitter(RocksDB db) {
    this.db = db;
    this.thread = new Thread(this::run, "lattice-group-commit");
    thread.setDaemon(true);
    thread.start();
  }

  /** A future that completes once everything written before this call is on stable storage. */
  synchronized CompletableFuture<Void> request() {
    CompletableFuture<Void> future = new CompletableFuture<>();
    if (closed) {
      future.completeExceptionally(new StorageException("the store is closing"));
      return future;
    }
    waiters.add(new Waiter(++requested, future));
    notifyAll();
    return future;
  }

  /** How many fsyncs have run; with the number of writes, shows how well they group. */
  synchronized long syncs() {
    return syncs;
  }

  private void run() {
    while (true) {
      long target;
      synchronized (this) {
        while (requested == synced && !closed) {
          try {
            wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        if (requested == synced) {
          return; // closed, nothing pending
        }
        target = requested;
      }
      Throwable failure = null;
      try {
        db.flushWal(true);
      } catch (RocksDBException e) {
        log.error("fsync of the write-ahead log failed; failing {} writes", target - synced, e);
        failure = new StorageException("fsync of the write-ahead log failed: " + e.getMessage(), e);
      }
      complete(target, failure);
    }
  }

  private void complete(long target, Throwable failure) {
    ArrayDeque<Waiter> done = new ArrayDeque<>();
    synchronized (this) {
      synced = target;
      syncs++;
      while (!waiters.isEmpty() && waiters.peek().ticket() <= target) {
        done.add(waiters.poll());
      }
    }
    for (Waiter waiter : done) {
      if (failure == null) {
        waiter.future().complete(null);
      } else {
        waiter.future().completeExceptionally(failure);
      }
    }
  }

  /** Syncs what is pending, then stops the thread. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      notifyAll();
    }
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
