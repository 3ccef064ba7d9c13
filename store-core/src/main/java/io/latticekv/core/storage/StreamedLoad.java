package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.transport.PeerMessage.StoredState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.EnvOptions;
import org.rocksdb.IngestExternalFileOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.SstFileWriter;

/**
 * The storage side of a catch-up stream (docs/gossip.md, "Catching up"): states a peer streamed
 * as it stores them. A state of a key this store holds nothing of is stored as it came — no read
 * of an old value, no merge, no new encoding — and a large batch of them goes into RocksDB as one
 * table file, ingested at the lowest level it fits (on a node that joined empty, the bottom),
 * which skips the write-ahead log, the memtable and the compactions that would move it down
 * later. Every other state (a key held here, a state with tombstones, one the policy may refuse)
 * takes the ordinary merge.
 */
final class StreamedLoad {

  /**
   * Fewest states to store as they came that go in as an ingested file rather than one write
   * batch: an ingestion has a fixed cost (a file, a sync, a manifest update, maybe a memtable
   * flush) that only pays for itself over many keys.
   */
  static final int INGEST_KEYS_MIN = 1_024;

  private static final AtomicLong FILES = new AtomicLong();

  /** A state that may be stored as it came, if its key holds nothing here. */
  record Candidate(int index, ByteString key, byte[] dataKey, byte[] value, Lives state) {}

  private StreamedLoad() {}

  /**
   * Joins {@code stored} into {@code store}: see the class comment. Element i says whether the
   * i-th changed the store; one that does not decode or is refused counts as no change (and is
   * logged as a refused peer state).
   */
  static boolean[] merge(Store store, List<StoredState> stored) {
    boolean[] changed = new boolean[stored.size()];
    List<Candidate> candidates = new ArrayList<>(stored.size());
    List<Integer> toMerge = new ArrayList<>();
    List<Store.Write> merges = new ArrayList<>();
    long at = Math.max(0, store.epoch());
    for (int i = 0; i < stored.size(); i++) {
      StoredState st = stored.get(i);
      byte[] value = st.value().toByteArray();
      Lives state;
      try {
        state = Lives.of(CrdtCodec.decode(value));
      } catch (CrdtDecodeException e) {
        store.refusedStreamedState(st.key(), "damaged", e.getMessage());
        continue;
      }
      if (plain(store, st.key(), state, value, at)) {
        candidates.add(new Candidate(i, st.key(), store.dataKey(st.key()), value, state));
      } else {
        toMerge.add(i);
        merges.add(new Store.Write(st.key(), new CrdtUpdate.JoinState(state), Store.Origin.PEER));
      }
    }
    // Sorted as RocksDB orders them, as a table file must be; a key sent twice is merged the second time.
    candidates.sort((a, b) -> Arrays.compareUnsigned(a.dataKey(), b.dataKey()));
    List<Candidate> unique = new ArrayList<>(candidates.size());
    for (Candidate c : candidates) {
      if (!unique.isEmpty() && Arrays.equals(unique.get(unique.size() - 1).dataKey(), c.dataKey())) {
        toMerge.add(c.index());
        merges.add(joinOf(c));
      } else {
        unique.add(c);
      }
    }
    for (Candidate held : store.storeAbsent(unique)) {
      toMerge.add(held.index());
      merges.add(joinOf(held));
    }
    for (Candidate c : unique) {
      changed[c.index()] = true; // reset below for those that were held and merged instead
    }
    if (!merges.isEmpty()) {
      List<Store.Outcome> outcomes = store.applyAll(merges);
      for (int i = 0; i < outcomes.size(); i++) {
        Store.Outcome o = outcomes.get(i);
        changed[toMerge.get(i)] = o.refused() == null && o.applied().changed();
      }
    }
    return changed;
  }

  private static Store.Write joinOf(Candidate c) {
    return new Store.Write(c.key(), new CrdtUpdate.JoinState(c.state()), Store.Origin.PEER);
  }

  /**
   * Whether a state may be stored as it came when its key holds nothing here: exactly what the
   * merge would store — nothing for the epoch to collect, within the policy and the size limit.
   */
  private static boolean plain(Store store, ByteString key, Lives state, byte[] value, long at) {
    if (state.isEmpty() || state.hasTombstones() || value.length > store.valueBytesMax() || store.splitsAs(state)) {
      return false;
    }
    try {
      store.policy().checkKey(key);
      store.policy().checkState(state, store.nowMillis());
      if (state.visibleType().orElse(null) == CrdtType.PN_COUNTER) {
        state.counterValue(); // overflows are the merge's to refuse
      }
    } catch (RuntimeException refused) {
      return false;
    }
    // As the merge would encode it, byte for byte: the Merkle leaf hashes the stored bytes, and a
    // state that decodes alike from other bytes (an unknown field, an older format, a peer's bug)
    // would leave this replica's tree apart from one that stored the canonical encoding.
    return state.collect(at).equals(state) && Arrays.equals(state.encode(), value);
  }

  /**
   * Writes {@code absent} (sorted, distinct) into a new table file in {@code directory}: the file
   * for RocksDB to ingest.
   */
  static Path writeTable(Path directory, Options options, List<Candidate> absent) {
    Path file = directory.resolve("stream-" + ProcessHandle.current().pid() + "-" + FILES.incrementAndGet() + ".sst");
    try (EnvOptions env = new EnvOptions(); SstFileWriter writer = new SstFileWriter(env, options)) {
      Files.createDirectories(directory);
      writer.open(file.toString());
      for (Candidate c : absent) {
        writer.put(c.dataKey(), c.value());
      }
      writer.finish();
      return file;
    } catch (RocksDBException | IOException e) {
      deleteQuietly(file);
      throw new StorageException("cannot write a table of " + absent.size() + " streamed states: " + e.getMessage(), e);
    }
  }

  /**
   * Ingests a table file into {@code data}: moved in, not copied (a hard link); a memtable holding
   * keys of the file's range is flushed first.
   */
  static void ingestTable(RocksDB db, ColumnFamilyHandle data, Path file) throws RocksDBException {
    try (IngestExternalFileOptions ingest = new IngestExternalFileOptions().setMoveFiles(true)) {
      db.ingestExternalFile(data, List.of(file.toString()), ingest);
    }
  }

  /** Removes table files a crash left before their ingestion: their states come again with the next exchange. */
  static void removeLeftovers(Path directory) {
    if (!Files.isDirectory(directory)) {
      return;
    }
    try (java.util.stream.Stream<Path> files = Files.list(directory)) {
      files.forEach(StreamedLoad::deleteQuietly);
    } catch (IOException e) {
      org.slf4j.LoggerFactory.getLogger(StreamedLoad.class).warn("cannot list {} to remove leftover table files: {}",
          directory, e.getMessage());
    }
  }

  static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // a leftover file: removed at the next open
    }
  }
}
