package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Memory and disk per key: 1,000,000 counters, small sets (3 elements) and registers (16-byte
 * values) stored through the engine, with bytes on disk after a flush and heap bytes of the
 * decoded states; and one OR-Set of 1,000,000 elements: encoded size and merge time.
 *
 * <p>Run: {@code bench/memory [KEYS]} (default 1,000,000).
 */
public final class MemoryBenchmark {

  public static void main(String[] args) throws Exception {
    int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    NodeId writer = new NodeId(3, 3);
    measure("counters", keys, i -> PnCounter.empty().add(writer, i + 1L));
    measure("sets of 3", keys, i -> OrSet.empty().addAll(writer, List.of(
        ByteString.copyFromUtf8("a" + i), ByteString.copyFromUtf8("b" + i), ByteString.copyFromUtf8("c" + i))));
    measure("registers", keys, i -> LwwRegister.of(ByteString.copyFromUtf8(String.format("value-%010d", i)),
        HlcTimestamp.of(1_700_000_000_000L + i, 0), writer));
    bigSet(keys);
  }

  private static void measure(String what, int keys, IntFunction<Crdt<?>> state) throws Exception {
    Path dir = Files.createTempDirectory("memory-bench");
    long encoded = 0;
    try (Store store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE).withCacheBytes(0))) {
      for (int i = 0; i < keys; i++) {
        Crdt<?> s = state.apply(i);
        encoded += s.encode().length;
        store.apply(ByteString.copyFromUtf8(String.format("key-%08d", i)), new CrdtUpdate.JoinState(s));
      }
    }
    long disk;
    try (var files = Files.walk(dir)) {
      disk = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
    // Heap: decoded states of a sample, measured by the heap's growth while holding them.
    int sample = Math.min(keys, 200_000);
    System.gc();
    long before = usedHeap();
    List<Crdt<?>> held = new ArrayList<>(sample);
    for (int i = 0; i < sample; i++) {
      held.add(CrdtCodec.decode(state.apply(i).encode()));
    }
    System.gc();
    long heapPerKey = (usedHeap() - before) / sample;
    System.out.printf("%-10s %,d keys: %.1f encoded bytes/key, %.1f disk bytes/key (RocksDB, key and segment prefix "
        + "included, after close), ~%d heap bytes per decoded state (%d held)%n",
        what, keys, encoded / (double) keys, disk / (double) keys, heapPerKey, held.size());
  }

  private static void bigSet(int n) throws Exception {
    NodeId a = new NodeId(1, 1);
    NodeId b = new NodeId(2, 2);
    List<ByteString> elements = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      elements.add(ByteString.copyFromUtf8(String.format("element-%08d", i)));
    }
    OrSet left = OrSet.empty().addAll(a, elements);
    OrSet right = left.removeAll(elements.subList(0, 500)).addAll(b, List.of(ByteString.copyFromUtf8("extra")));
    left = left.addAll(a, List.of(ByteString.copyFromUtf8("more")));
    byte[] bytes = left.encode();
    long best = Long.MAX_VALUE;
    for (int round = 0; round < 7; round++) {
      long t = System.nanoTime();
      OrSet merged = left.merge(right);
      best = Math.min(best, System.nanoTime() - t);
      if (merged.size() != n - 500 + 2) {
        throw new IllegalStateException("merge gave " + merged.size());
      }
    }
    System.out.printf("one OR-Set of %,d elements: %,d encoded bytes (%.1f per element); merge with a replica "
        + "differing in 502 elements: %.1f ms (best of 7)%n", n, bytes.length, bytes.length / (double) n, best / 1e6);
  }

  private static long usedHeap() {
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }
}
