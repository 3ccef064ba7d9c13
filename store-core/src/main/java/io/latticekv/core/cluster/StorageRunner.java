package io.latticekv.core.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Where the protocol objects send work that touches the local replica — merges of rumors and
 * repairs, segment scans, reads for anti-entropy and for other coordinators — so that it never runs
 * on the thread that answers SWIM pings: a slow disk must not make a healthy node look dead.
 *
 * <p>The protocol thread calls {@link #run} and goes on; the driver runs {@code work} elsewhere
 * (the server: a bounded pool of storage threads; the simulator: later in virtual time) and then
 * calls {@code then} <em>on the protocol thread</em>, with the result or the failure. {@code work}
 * must not touch protocol state; {@code then} may. When the driver cannot take more work (its queue
 * is full, it is stopping), {@code then} gets the refusal at once, still on the protocol thread.
 */
public interface StorageRunner {

  /** Runs {@code work} off the protocol thread; its result goes to {@code then} on it. */
  default <T> void run(Supplier<T> work, BiConsumer<? super T, Throwable> then) {
    runAsync(() -> CompletableFuture.completedFuture(work.get()), then);
  }

  /**
   * Runs {@code work}, which starts something that completes later (a write that becomes durable
   * with the next group commit); {@code then} gets its outcome on the protocol thread.
   */
  <T> void runAsync(Supplier<? extends CompletionStage<T>> work, BiConsumer<? super T, Throwable> then);

  /** Runs work and continuation at once, on the caller's thread: for unit tests of one protocol object. */
  static StorageRunner inline() {
    return new StorageRunner() {
      @Override
      public <T> void runAsync(Supplier<? extends CompletionStage<T>> work, BiConsumer<? super T, Throwable> then) {
        runHere(work, then);
      }
    };
  }

  /**
   * Runs {@code work} on this thread and hands its outcome to {@code then} when it completes (at
   * once for synchronous work): the body of a runner that has already moved to the right thread.
   */
  static <T> void runHere(Supplier<? extends CompletionStage<T>> work, BiConsumer<? super T, Throwable> then) {
    CompletionStage<T> stage;
    try {
      stage = work.get();
    } catch (RuntimeException e) {
      then.accept(null, e);
      return;
    }
    stage.whenComplete((value, failure) -> then.accept(value, unwrap(failure)));
  }

  /** The cause a {@link java.util.concurrent.CompletionException} wraps, or the failure itself. */
  static Throwable unwrap(Throwable failure) {
    while (failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null) {
      failure = failure.getCause();
    }
    return failure;
  }
}
