package io.latticekv.bench;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * The storage engine's apply path against its ceiling: a counter increment through {@link
 * Store#apply} (lock, cached read, delta, merge, canonical encode, RocksDB put) versus a raw
 * RocksDB read-modify-write of an 8-byte counter (get, add, put), both unsynced, over 10,000 keys.
 *
 * <p>Run with {@code bench/jmh EngineApplyBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class EngineApplyBenchmark {

  private static final int KEYS = 10_000;

  private Path dir;
  private Store store;
  private RocksDB raw;
  private Options rawOptions;
  private WriteOptions unsynced;
  private ByteString[] keys;
  private byte[][] rawKeys;
  private int next;
  private final CrdtUpdate increment = new CrdtUpdate.CounterAdd(1);

  @Setup(Level.Trial)
  public void open() throws IOException, RocksDBException {
    dir = Files.createTempDirectory("engine-bench");
    store = Store.open(StoreOptions.defaults(dir.resolve("store"), SyncPolicy.NONE));
    rawOptions = new Options().setCreateIfMissing(true);
    raw = RocksDB.open(rawOptions, dir.resolve("raw").toString());
    unsynced = new WriteOptions();
    keys = new ByteString[KEYS];
    rawKeys = new byte[KEYS][];
    for (int i = 0; i < KEYS; i++) {
      keys[i] = ByteString.copyFromUtf8("counter:" + i);
      rawKeys[i] = keys[i].toByteArray();
    }
  }

  @TearDown(Level.Trial)
  public void close() throws IOException {
    store.close();
    raw.close();
    rawOptions.close();
    unsynced.close();
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Benchmark
  public Object engineIncrement() {
    return store.apply(keys[next++ % KEYS], increment);
  }

  @Benchmark
  public void rawRocksDbReadModifyWrite() throws RocksDBException {
    byte[] key = rawKeys[next++ % KEYS];
    byte[] old = raw.get(key);
    long value = old == null ? 0 : ByteBuffer.wrap(old).getLong();
    raw.put(unsynced, key, ByteBuffer.allocate(8).putLong(value + 1).array());
  }
}
