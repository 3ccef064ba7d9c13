package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.SetRepair;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads of a set while writes move it between its two layouts (one value, one row per element):
 * a reader must never see the record of one moment with the rows of another. Six elements stay in
 * the set throughout while a writer adds and removes ten others, so the set crosses the threshold
 * (eight) over and over; readers of three kinds — a whole read, a repair's cut, a segment scan —
 * must always find the six (page reads take the same lock: {@code SplitReads}). Without the key's lock on those reads, a read that took the
 * record before a write dropped the rows read the set as empty under its full context: every
 * element removed, which a repair would have sent to peers (found by review).
 */
class SplitSetConcurrencyTest {

  private static final ByteString KEY = ByteString.copyFromUtf8("crossing");
  private static final int TOGGLES = 3_000;

  @TempDir Path dir;

  private static ByteString e(String name) {
    return ByteString.copyFromUtf8(name);
  }

  @Test
  void readersNeverSeeARecordWithoutItsRows() throws Exception {
    List<ByteString> kept = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      kept.add(e("kept-" + i));
    }
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE).withSplitElementsMin(8))) {
      store.apply(KEY, new CrdtUpdate.SetUpdate(kept, List.of(), Optional.empty()));
      AtomicBoolean done = new AtomicBoolean();
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      int segment = store.tree().segmentOf(io.latticekv.core.merkle.Hashing.keyHash(KEY));
      List<Thread> readers = List.of(
          reader("get", done, problems, () -> store.get(KEY).orElse(Lives.empty()), kept),
          reader("cut", done, problems, () -> {
            Optional<SetRepair.Source> set = store.plainSet(KEY);
            SetRepair.Cut cut = set.isEmpty() ? null : set.get().cut(new long[16]); // every bucket differs from zeros
            return cut == null ? null : cut.part();
          }, kept),
          reader("scan", done, problems, () -> store.segmentStates(segment).stream()
              .filter(ks -> ks.key().equals(KEY)).map(KeyState::state).findFirst().orElse(null), kept));
      readers.forEach(Thread::start);
      try {
        for (int i = 0; i < TOGGLES; i++) {
          List<ByteString> some = new ArrayList<>();
          for (int t = 0; t < 1 + i % 10; t++) {
            some.add(e("toggled-" + t));
          }
          boolean add = (i / 10) % 2 == 0;
          store.apply(KEY, new CrdtUpdate.SetUpdate(add ? some : List.of(), add ? List.of() : some, Optional.empty()));
        }
      } finally {
        done.set(true);
        for (Thread r : readers) {
          r.join(TimeUnit.SECONDS.toMillis(30));
        }
      }
      assertTrue(problems.isEmpty(), String.join("\n", problems));
      assertTrue(store.get(KEY).orElseThrow().elements().containsAll(kept));
    }
  }

  private static Thread reader(String what, AtomicBoolean done, ConcurrentLinkedQueue<String> problems,
      java.util.function.Supplier<Lives> read, List<ByteString> kept) {
    Thread t = new Thread(() -> {
      long reads = 0;
      while (!done.get() && problems.size() < 5) {
        Lives state = read.get();
        reads++;
        if (state != null && !state.isEmpty() && !state.elements().containsAll(kept)) {
          problems.add(what + " read " + state.elementCount() + " elements without the six kept ones, read "
              + reads + ": " + state);
        }
      }
    }, "reader-" + what);
    t.setDaemon(true);
    return t;
  }
}
