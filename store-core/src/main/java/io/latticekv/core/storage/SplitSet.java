package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CausalContext;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.SplitSets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * A set stored one row per element, as a batch of writes sees and changes it under the key's lock:
 * its record, and the rows the batch read or changed, kept here until the batch is stored. A
 * write joins its delta element by element: the delta's elements, and the elements that hold a
 * dot its context names (found through the dot index), and nothing else — so an add costs the
 * same at a thousand elements as at a million.
 */
final class SplitSet {

  private static final java.util.Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();

  private final ElementRows rows;
  private final byte[] prefix;
  private Lives shell;
  private int count;
  private long elementBytes;
  private long elementSum;
  private boolean shellChanged;
  /** Elements the batch read: their dots as stored (empty when absent). */
  private final Map<ByteString, Dot[]> stored = new HashMap<>();
  /** Elements the batch read, with their dots now (empty when absent). */
  private final Map<ByteString, Dot[]> now = new HashMap<>();
  /** Dots the batch gave an element, not in the dot index yet, and the dots it took away. */
  private final Map<Dot, ByteString> dotsAdded = new HashMap<>();
  private final Set<Dot> dotsRemoved = new HashSet<>();

  SplitSet(ElementRows rows, byte[] prefix, SplitRecord record) {
    this.rows = rows;
    this.prefix = prefix;
    this.shell = record.shell();
    this.count = record.count();
    this.elementBytes = record.elementBytes();
    this.elementSum = record.elementSum();
  }

  Life life() {
    return shell.lives().get(0);
  }

  int count() {
    return count;
  }

  long elementBytes() {
    return elementBytes;
  }

  SplitRecord record() {
    return new SplitRecord(shell, count, elementBytes, elementSum);
  }

  boolean changed() {
    return shellChanged || rowsChanged();
  }

  private boolean rowsChanged() {
    for (Map.Entry<ByteString, Dot[]> e : now.entrySet()) {
      if (!Arrays.equals(e.getValue(), stored.get(e.getKey()))) {
        return true;
      }
    }
    return false;
  }

  /** The dots of {@code element} as the batch has it; empty when absent. */
  Dot[] dotsOf(ByteString element) {
    Dot[] d = now.get(element);
    if (d == null) {
      d = rows.dotsOf(prefix, element);
      stored.put(element, d);
      now.put(element, d);
    }
    return d;
  }

  /** Gives {@code element} the dots {@code after} (none: removed); returns whether that changed it. */
  private boolean setDots(ByteString element, Dot[] after) {
    Dot[] before = dotsOf(element);
    if (Arrays.equals(before, after)) {
      return false;
    }
    if (before.length == 0) {
      count++;
      elementBytes += element.size();
    } else {
      elementSum -= SplitSets.elementHash(element, before);
    }
    if (after.length == 0) {
      count--;
      elementBytes -= element.size();
    } else {
      elementSum += SplitSets.elementHash(element, after);
    }
    for (Dot d : before) {
      if (Arrays.binarySearch(after, d) < 0) {
        dotsAdded.remove(d);
        dotsRemoved.add(d);
      }
    }
    for (Dot d : after) {
      if (Arrays.binarySearch(before, d) < 0) {
        dotsAdded.put(d, element);
        dotsRemoved.remove(d);
      }
    }
    now.put(element, after);
    return true;
  }

  /**
   * The set as an update needs it to compute its delta: the shell with {@code named} (those
   * present, with their dots) and one present element it does not name, if there is one, so that
   * the life reads as live whatever the update removes — every delta of a set update, a delete or
   * a retire depends on the elements it names, the context and whether the life is live, never on
   * the other elements.
   */
  Lives view(Collection<ByteString> named) {
    TreeMap<ByteString, Dot[]> present = new TreeMap<>(BYTES);
    Set<ByteString> names = new HashSet<>(named);
    for (ByteString e : names) {
      Dot[] d = dotsOf(e);
      if (d.length > 0) {
        present.put(e, d);
      }
    }
    if (count > present.size()) {
      ByteString anchor = elementNotIn(names);
      present.put(anchor, dotsOf(anchor));
    }
    return SplitSets.withElements(shell, new ArrayList<>(present.keySet()), new ArrayList<>(present.values()));
  }

  /** A present element outside {@code names}: the caller knows there is one. */
  private ByteString elementNotIn(Set<ByteString> names) {
    for (Map.Entry<ByteString, Dot[]> e : now.entrySet()) {
      if (e.getValue().length > 0 && !names.contains(e.getKey())) {
        return e.getKey();
      }
    }
    ByteString[] found = new ByteString[1];
    // Rows the batch emptied, or that the update names, are passed over: at most their number.
    rows.forEachRow(prefix, 0L, (element, dots) -> {
      if (!names.contains(element) && dotsOf(element).length > 0) {
        found[0] = element;
        return false;
      }
      return true;
    });
    if (found[0] == null) {
      throw new StorageException("a set record counts " + count + " elements and its rows hold fewer; restore this node's data from a peer");
    }
    return found[0];
  }

  /**
   * Joins {@code delta} (it {@link SplitSets#joinsElementwise}) and collects at {@code epoch}, as
   * {@code state.merge(delta).collect(epoch)} would on the whole set.
   */
  boolean join(Lives delta, long epoch) {
    OrSet d = SplitSets.setOf(delta);
    // Elements the delta leaves out keep the dots its context has not seen: find those it has.
    CausalContext ours = SplitSets.context(life());
    boolean changed = joinElements(d, () -> ownersOf(d.context(), ours));
    // Deferred removes the joined context now covers take out what they saw, by name.
    for (OrSet.Deferred settled : SplitSets.settledBy(shell, delta)) {
      for (ByteString e : settled.elements()) {
        changed |= setDots(e, SplitSets.unseenBy(dotsOf(e), settled.context()));
      }
    }
    return joinShell(delta, epoch) | changed;
  }

  /**
   * Joins {@code part}, a repair's part over {@code buckets} of {@code count} ({@link
   * io.latticekv.core.crdt.SetRepair#splitPart}), as {@link io.latticekv.core.crdt.SetRepair#join}
   * joins it into a whole set: the elements of those buckets join with the part's, under the
   * sender's whole context; the other buckets stay as they are. Reads the rows of those buckets.
   */
  boolean joinPart(OrSet part, Lives partState, int count, int[] buckets, long epoch) {
    boolean changed = joinElements(part, () -> elementsIn(count, buckets));
    return joinShell(partState, epoch) | changed;
  }

  /**
   * Joins the elements {@code d} holds with ours, under both contexts; then takes from each of
   * {@code others} (found after that, and passed over where {@code d} holds it) the dots {@code
   * d}'s context saw. Returns whether anything changed.
   */
  private boolean joinElements(OrSet d, java.util.function.Supplier<Set<ByteString>> others) {
    boolean changed = false;
    CausalContext ours = SplitSets.context(life());
    CausalContext theirs = d.context();
    Set<ByteString> named = new HashSet<>();
    for (int i = 0; i < SplitSets.size(d); i++) {
      ByteString e = SplitSets.elementAt(d, i);
      named.add(e);
      changed |= setDots(e, SplitSets.joinDots(dotsOf(e), ours, SplitSets.dotsAt(d, i), theirs));
    }
    for (ByteString e : others.get()) {
      if (!named.contains(e)) {
        changed |= setDots(e, SplitSets.unseenBy(dotsOf(e), theirs));
      }
    }
    return changed;
  }

  /** The record after joining {@code delta}'s life and collecting at {@code epoch}; whether it changed. */
  private boolean joinShell(Lives delta, long epoch) {
    Lives joined = SplitSets.joinShell(shell, delta, epoch, this::holdsDotsOf);
    if (joined.equals(shell)) {
      return false;
    }
    shell = joined;
    shellChanged = true;
    return true;
  }

  /** The elements of {@code buckets} of {@code count}: their rows, and this batch's own elements there. */
  private Set<ByteString> elementsIn(int count, int[] buckets) {
    Set<ByteString> inside = new HashSet<>();
    for (int b : buckets) {
      rows.forEachElement(prefix, io.latticekv.core.crdt.SetRepair.bucketStart(b, count), (h, e) -> {
        if (io.latticekv.core.crdt.SetRepair.bucket(h, count) != b) {
          return false;
        }
        inside.add(e);
        return true;
      });
    }
    for (ByteString e : now.keySet()) {
      int b = io.latticekv.core.crdt.SetRepair.bucket(io.latticekv.core.merkle.Hashing.keyHash(e), count);
      if (Arrays.binarySearch(buckets, b) >= 0) {
        inside.add(e);
      }
    }
    return inside;
  }

  /**
   * The elements holding a dot of {@code context}: through the dot index, and this batch's changes.
   * A dot {@code ours} (the set's context before this join) has not seen is held by no stored
   * element, so it is not looked up: an add's delta names only such a dot, its new one.
   */
  private Set<ByteString> ownersOf(CausalContext context, CausalContext ours) {
    Set<ByteString> owners = new HashSet<>();
    Map<NodeId, Long> vector = context.vectorAsMap();
    for (Map.Entry<NodeId, Long> v : vector.entrySet()) {
      rows.forEachDot(prefix, v.getKey(), 1, v.getValue(), (counter, element) -> {
        if (!dotsRemoved.contains(new Dot(v.getKey(), counter))) {
          owners.add(element);
        }
        return true;
      });
    }
    for (Dot dot : context.cloud()) {
      if (ours.contains(dot) && !dotsRemoved.contains(dot)) {
        ByteString owner = rows.ownerOf(prefix, dot.replica(), dot.counter());
        if (owner != null) {
          owners.add(owner);
        }
      }
    }
    // This batch's adds, looked up by the context's dots when it has fewer (an add's delta names a
    // handful): checking each of a batch's n adds against every later one's context was n * n / 2
    // context lookups, a tenth of a batch of adds to one set at 16 in flight.
    if (vector.isEmpty() && context.cloud().size() < dotsAdded.size()) {
      for (Dot dot : context.cloud()) {
        ByteString owner = dotsAdded.get(dot);
        if (owner != null) {
          owners.add(owner);
        }
      }
    } else {
      for (Map.Entry<Dot, ByteString> added : dotsAdded.entrySet()) {
        if (context.contains(added.getKey())) {
          owners.add(added.getValue());
        }
      }
    }
    return owners;
  }

  /** Whether an element still holds a dot of {@code replica}. */
  private boolean holdsDotsOf(NodeId replica) {
    for (Dot d : dotsAdded.keySet()) {
      if (d.replica().equals(replica)) {
        return true;
      }
    }
    boolean[] held = new boolean[1];
    rows.forEachDot(prefix, replica, 0, -1L, (counter, element) -> {
      held[0] = !dotsRemoved.contains(new Dot(replica, counter));
      return !held[0];
    });
    return held[0];
  }

  /**
   * The whole set: its rows with this batch's changes, in byte order. O(its size). Read without
   * the key's lock (a read, a scan), rows may be newer than the record: the context then takes
   * the dots of their adds, so the state is one a write could have left (under the lock, a no-op).
   */
  Lives whole() {
    TreeMap<ByteString, Dot[]> all = new TreeMap<>(BYTES);
    rows.forEachRow(prefix, 0L, (element, dots) -> {
      all.put(element, dots);
      return true;
    });
    for (Map.Entry<ByteString, Dot[]> e : now.entrySet()) {
      if (e.getValue().length == 0) {
        all.remove(e.getKey());
      } else {
        all.put(e.getKey(), e.getValue());
      }
    }
    return SplitSets.withElementsAndTheirDots(shell, new ArrayList<>(all.keySet()), new ArrayList<>(all.values()));
  }

  /** Adds this batch's row changes to {@code batch}. */
  void writeRows(WriteBatch batch) throws RocksDBException {
    for (Map.Entry<ByteString, Dot[]> e : now.entrySet()) {
      Dot[] before = stored.get(e.getKey());
      if (!Arrays.equals(before, e.getValue())) {
        rows.put(batch, prefix, e.getKey(), before, e.getValue());
      }
    }
  }

  /** Writes every row of {@code state}, a whole splittable set, to {@code batch}. */
  static void writeAll(ElementRows rows, byte[] prefix, Lives state, WriteBatch batch) throws RocksDBException {
    Life life = SplitSets.splittableLife(state);
    List<ByteString> elements = SplitSets.elements(life);
    for (int i = 0; i < elements.size(); i++) {
      rows.put(batch, prefix, elements.get(i), ElementRows.NO_DOTS, SplitSets.dotsAt(life, i));
    }
  }

  /** The record of {@code state}, a whole splittable set. */
  static SplitRecord recordOf(Lives state) {
    Life life = SplitSets.splittableLife(state);
    List<ByteString> elements = SplitSets.elements(life);
    long bytes = 0;
    long sum = 0;
    for (int i = 0; i < elements.size(); i++) {
      bytes += elements.get(i).size();
      sum += SplitSets.elementHash(elements.get(i), SplitSets.dotsAt(life, i));
    }
    return new SplitRecord(SplitSets.shellOf(state), elements.size(), bytes, sum);
  }

  /** The whole set of a stored record: its rows, in byte order. O(its size). */
  static Lives read(ElementRows rows, byte[] prefix, SplitRecord record) {
    return new SplitSet(rows, prefix, record).whole();
  }
}
