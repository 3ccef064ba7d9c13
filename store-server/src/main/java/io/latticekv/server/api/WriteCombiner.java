package io.latticekv.server.api;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.storage.Applied;
import io.latticekv.core.storage.Store;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * Applies the client writes that one event loop receives in one pass over its ready connections as
 * one store batch ({@link Store#applyAll}): one RocksDB write and one WAL record for all of them,
 * instead of one per write. The first write of a pass schedules the batch as a task on its event
 * loop; Netty runs tasks after the pass's I/O, so a batch holds every write read in that pass and
 * adds no wait of its own. Answers follow when the batch is stored, exactly as they would have
 * after a write of their own.
 *
 * <p>Ordering: a read on a loop first stores the loop's pending writes ({@link #beforeRead}), so a
 * client that sends a write and then a read on one connection reads its write. Other loops and
 * threads see a batch only once it is stored: the store changes its cache after the RocksDB write.
 *
 * <p>Writes from threads outside the group (tests, tools) are applied at once, one by one.
 */
final class WriteCombiner implements RequestProcessor.StoreWriter {

  /** A batch is stored early once it holds this many writes, to bound one RocksDB write's size. */
  static final int BATCH_WRITES_MAX = 1024;

  private final Store store;
  private final Map<EventExecutor, Loop> loops = new IdentityHashMap<>();

  WriteCombiner(Store store, EventLoopGroup group) {
    this.store = store;
    for (EventExecutor executor : group) {
      loops.put(executor, new Loop(executor));
    }
  }

  @Override
  public CompletableFuture<Applied> apply(ByteString key, CrdtUpdate update) {
    Loop loop = current();
    if (loop == null) {
      return CompletableFuture.completedFuture(store.apply(key, update));
    }
    return loop.add(new Store.Write(key, update));
  }

  @Override
  public void beforeRead() {
    Loop loop = current();
    if (loop != null) {
      loop.store();
    }
  }

  private Loop current() {
    for (Map.Entry<EventExecutor, Loop> e : loops.entrySet()) {
      if (e.getKey().inEventLoop()) {
        return e.getValue();
      }
    }
    return null;
  }

  /** One event loop's pending batch; touched by that loop's thread only. */
  private final class Loop {
    private final EventExecutor executor;
    private List<Store.Write> writes = new ArrayList<>();
    private List<CompletableFuture<Applied>> answers = new ArrayList<>();
    private boolean scheduled;

    Loop(EventExecutor executor) {
      this.executor = executor;
    }

    CompletableFuture<Applied> add(Store.Write write) {
      CompletableFuture<Applied> answer = new CompletableFuture<>();
      writes.add(write);
      answers.add(answer);
      if (writes.size() >= BATCH_WRITES_MAX) {
        store();
      } else if (!scheduled) {
        scheduled = true;
        try {
          executor.execute(this::store);
        } catch (RejectedExecutionException shuttingDown) {
          store();
        }
      }
      return answer;
    }

    void store() {
      scheduled = false;
      if (writes.isEmpty()) {
        return;
      }
      List<Store.Write> batch = writes;
      List<CompletableFuture<Applied>> waiting = answers;
      writes = new ArrayList<>();
      answers = new ArrayList<>();
      List<Store.Outcome> outcomes;
      try {
        outcomes = store.applyAll(batch);
      } catch (RuntimeException failed) {
        waiting.forEach(answer -> answer.completeExceptionally(failed));
        return;
      }
      for (int i = 0; i < outcomes.size(); i++) {
        Store.Outcome outcome = outcomes.get(i);
        if (outcome.refused() != null) {
          waiting.get(i).completeExceptionally(outcome.refused());
        } else {
          waiting.get(i).complete(outcome.applied());
        }
      }
    }
  }
}
