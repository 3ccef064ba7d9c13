package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.merkle.Hashing;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The store's reads of sets stored one row per element that do not read them whole: in place for
 * clients ({@link LargeSet}), by buckets for anti-entropy ({@link #plainSet}), by record for the
 * lifecycle sweep ({@link #sweepView}). Each reads under the key's lock, record and rows together
 * (docs/architecture.md, "Sets": a record read before a write dropped its rows, with no rows after,
 * would read as every element removed).
 */
final class SplitReads {

  /** A key as the store holds it: its whole state, or its record when stored by rows. */
  record Stored(Lives state, SplitRecord record) {}

  /** What these reads need of the store. */
  interface Access {
    /** The key as stored (through the cache); null when absent. */
    Stored stored(ByteString key);

    /** {@code read} with the store held open and the key's lock held. */
    <T> T locked(ByteString key, Supplier<T> read);

    /** {@code read} with the store held open. */
    <T> T open(Supplier<T> read);

    byte[] dataKey(ByteString key);

    /** A stored row's state, read whole. */
    Lives readWhole(byte[] storedKey, byte[] value);
  }

  private final ElementRows rows;
  private final Access access;

  SplitReads(ElementRows rows, Access access) {
    this.rows = rows;
    this.access = access;
  }

  /** The set at {@code key} when it is stored one row per element (docs/architecture.md, "Sets"); empty otherwise. */
  Optional<LargeSet> largeSet(ByteString key) {
    Stored cached = access.stored(key);
    if (cached == null || cached.record() == null) {
      return Optional.empty();
    }
    int size = cached.record().count();
    byte[] prefix = ElementRows.prefix(access.dataKey(key));
    return Optional.of(new LargeSet() {
      @Override
      public int size() {
        return size;
      }

      @Override
      public boolean contains(ByteString element) {
        return access.locked(key, () -> {
          stillSplit(key);
          return rows.dotsOf(prefix, element).length > 0;
        });
      }

      @Override
      public void forEachFrom(long fromHash, LargeSet.ElementVisitor visitor) {
        // Under the key's lock: a write moving the set back to one value drops its rows, and a page
        // read across that would end early. A page is at most 10,000 rows: the lock is held briefly.
        access.locked(key, () -> {
          stillSplit(key);
          rows.forEachElement(prefix, fromHash, visitor::accept);
          return null;
        });
      }
    });
  }

  private void stillSplit(ByteString key) {
    Stored now = access.stored(key);
    if (now == null || now.record() == null) {
      throw new LayoutChanged();
    }
  }

  /**
   * The plain set at {@code key} as a repair by buckets reads it; empty when the key holds
   * anything else. A set stored one row per element answers from its rows: its hashes read every
   * row once, a part the rows of its buckets alone — it is never read whole.
   *
   * <p>Each read of it takes the key's lock and reads the set as it is then, record and rows
   * together; {@link io.latticekv.core.crdt.SetRepair.Source#cut} computes this side's hashes and
   * its part in one such read, since a part must be cut from the state its hashes are of.
   */
  Optional<io.latticekv.core.crdt.SetRepair.Source> plainSet(ByteString key) {
    Stored cached = access.stored(key);
    if (cached == null) {
      return Optional.empty();
    }
    if (cached.record() == null) {
      return io.latticekv.core.crdt.SetRepair.sourceOf(cached.state());
    }
    SplitRecord record = cached.record();
    Optional<Long> shape = io.latticekv.core.crdt.SetRepair.shape(record.shell());
    if (shape.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new io.latticekv.core.crdt.SetRepair.Source() {
      @Override
      public long shape() {
        return shape.get();
      }

      @Override
      public int size() {
        return record.count();
      }

      @Override
      public long[] hashes(int count) {
        return access.locked(key, () -> {
          io.latticekv.core.crdt.SetRepair.Source now = currentSource(key);
          return now == null ? new long[count] : now.hashes(count);
        });
      }

      @Override
      public Lives part(int count, int[] buckets) {
        return access.locked(key, () -> {
          io.latticekv.core.crdt.SetRepair.Source now = currentSource(key);
          return now == null ? Lives.empty() : now.part(count, buckets);
        });
      }

      @Override
      public io.latticekv.core.crdt.SetRepair.Cut cut(long[] theirs) {
        // Hashes and part from one moment: a part whose context saw an add its buckets leave out
        // would make the receiver take that add as seen and removed.
        return access.locked(key, () -> {
          io.latticekv.core.crdt.SetRepair.Source now = currentSource(key);
          return now == null ? null : now.cut(theirs);
        });
      }
    });
  }

  /**
   * The key's plain set as it is now, read from its rows; the caller holds the key's lock. Null
   * when the key holds no plain set any more.
   */
  private io.latticekv.core.crdt.SetRepair.Source currentSource(ByteString key) {
    Stored now = access.stored(key);
    if (now == null) {
      return null;
    }
    if (now.record() == null) {
      return io.latticekv.core.crdt.SetRepair.sourceOf(now.state()).orElse(null);
    }
    SplitRecord record = now.record();
    if (io.latticekv.core.crdt.SetRepair.shape(record.shell()).isEmpty()) {
      return null;
    }
    byte[] prefix = ElementRows.prefix(access.dataKey(key));
    return new io.latticekv.core.crdt.SetRepair.Source() {
      @Override
      public long shape() {
        return io.latticekv.core.crdt.SetRepair.shape(record.shell()).orElseThrow();
      }

      @Override
      public int size() {
        return record.count();
      }

      @Override
      public long[] hashes(int count) {
        long[] sums = new long[count];
        rows.forEachRowHash(prefix, (h, share) -> sums[io.latticekv.core.crdt.SetRepair.bucket(h, count)] += share);
        return sums;
      }

      @Override
      public Lives part(int count, int[] buckets) {
        java.util.TreeMap<ByteString, io.latticekv.core.crdt.Dot[]> in =
            new java.util.TreeMap<>(ByteString.unsignedLexicographicalComparator());
        for (int b : buckets) {
          rows.forEachRow(prefix, io.latticekv.core.crdt.SetRepair.bucketStart(b, count), (element, dots) -> {
            if (io.latticekv.core.crdt.SetRepair.bucket(Hashing.keyHash(element), count) != b) {
              return false;
            }
            in.put(element, dots);
            return true;
          });
        }
        return io.latticekv.core.crdt.SplitSets.withElements(record.shell(), new ArrayList<>(in.keySet()),
            new ArrayList<>(in.values()));
      }
    };
  }

  /**
   * What the lifecycle sweep reads of a stored row: its state, except that a set stored by rows is
   * read as its record and one of its elements (the life reads as live). That is all a visit
   * needs — the replica ids (the context names them all), the marks, whether anything may be
   * dropped — and it costs a row, not the set; where it over-reports a pruning (it cannot see
   * which elements hold a retired id's dots), the write it asks for prunes from the rows, exactly.
   */
  Lives sweepView(byte[] storedKey, byte[] value) {
    if (!SplitRecord.isRecord(value)) {
      return Store.decodeStored(Store.keyOf(storedKey), value);
    }
    SplitRecord record = SplitRecord.decode(Store.keyOf(storedKey), value);
    ByteString[] anchor = new ByteString[1];
    io.latticekv.core.crdt.Dot[][] dots = new io.latticekv.core.crdt.Dot[1][];
    access.open(() -> {
      rows.forEachRow(ElementRows.prefix(storedKey), 0L, (element, d) -> {
        anchor[0] = element;
        dots[0] = d;
        return false;
      });
      return null;
    });
    if (anchor[0] == null) { // moved to one value meanwhile
      return access.readWhole(storedKey, value);
    }
    return io.latticekv.core.crdt.SplitSets.withElementsAndTheirDots(record.shell(), List.of(anchor[0]),
        java.util.Collections.singletonList(dots[0]));
  }
}
