package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import java.nio.file.Path;
import java.util.function.Predicate;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts a data directory of format 1 (every state one value) to format 2 (large sets one row
 * per element, {@link ElementRows}) at open, before the store takes a write: every stored set that
 * format 2 splits is written as its rows and record, one key per write batch. Idempotent: a
 * conversion cut short by a crash leaves the format at 1, and the next open converts what is left
 * (a key already converted is a record, and is skipped).
 */
final class FormatMigration {

  private static final Logger log = LoggerFactory.getLogger(FormatMigration.class);

  /** Progress is logged every this many keys read. */
  private static final long LOG_EVERY = 100_000;

  private FormatMigration() {}

  static void toVersion2(RocksDB db, ColumnFamilyHandle data, ElementRows rows, Predicate<Lives> splits, Path directory) {
    long start = System.nanoTime();
    long keys = 0;
    long sets = 0;
    long elements = 0;
    long damagedKeys = 0;
    log.info("converting data directory {} from format 1 to 2: large sets go one row per element", directory);
    // Synced: the format version is set to 2 only after every converted key is on disk.
    try (WriteOptions synced = new WriteOptions().setSync(true); RocksIterator it = db.newIterator(data)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        keys++;
        if (keys % LOG_EVERY == 0) {
          log.info("converting {}: {} keys read, {} sets split so far", directory, keys, sets);
        }
        byte[] value = it.value();
        if (SplitRecord.isRecord(value)) {
          continue; // converted by an earlier open that stopped before the end
        }
        byte[] storedKey = it.key();
        ByteString key = Store.keyOf(storedKey);
        Lives state;
        try {
          state = Store.decodeStored(key, value);
        } catch (StorageException damaged) {
          // Left as it is: a read of the key reports the damage, as format 1 did; the rest converts.
          log.error("converting {}: {}; the key is left as it was", directory, damaged.getMessage());
          damagedKeys++;
          continue;
        }
        if (!splits.test(state)) {
          continue;
        }
        SplitRecord record = SplitSet.recordOf(state);
        try (WriteBatch batch = new WriteBatch()) {
          byte[] prefix = ElementRows.prefix(storedKey);
          rows.deleteAll(batch, prefix);
          SplitSet.writeAll(rows, prefix, state, batch);
          batch.put(data, storedKey, record.encode());
          db.write(synced, batch);
        }
        sets++;
        elements += record.count();
      }
    } catch (RocksDBException e) {
      throw new StorageException("converting data directory " + directory + " to format 2 failed: " + e.getMessage()
          + "; nothing is lost, the next start converts what is left", e);
    }
    log.info("converted data directory {} to format 2 in {} ms: {} keys read, {} sets of {} elements split, {} damaged "
        + "keys left as they were", directory, (System.nanoTime() - start) / 1_000_000, keys, sets, elements, damagedKeys);
  }
}
