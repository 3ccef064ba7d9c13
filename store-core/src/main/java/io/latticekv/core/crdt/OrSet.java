package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.latticekv.proto.CausalContextState;
import io.latticekv.proto.DeferredRemove;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An add-wins observed-remove set without tombstones: the ORSWOT of Bieniusa et al., "An Optimized
 * Conflict-free Replicated Set" (2012), as riak_dt_orswot builds it, with the dotted causal
 * context of Almeida et al., "Delta State Replicated Data Types" (2018), section 7.2 (add-wins
 * set over a dot kernel).
 *
 * <p>State: a {@link CausalContext} holding every add this replica has seen, and for each present
 * element the dots of the adds that put it there. An add creates a fresh dot for the element and
 * retires the element's older dots. A remove simply drops the element and keeps its dots in the
 * context: when we simply drop it, no tombstone is left, and the state is bounded by the live
 * elements and the replicas. Merge keeps a dot when both sides have it, or when one side has it and
 * the other has never seen it; a dot one side has and the other has seen but dropped was removed.
 * A concurrent add has a dot the remover never saw, so add wins.
 *
 * <p>Causal delivery is not assumed: the context keeps gaps (see {@link CausalContext}), so deltas
 * may arrive late, twice, out of order or never, and states and deltas mix freely.
 *
 * <p>Removes that carry a context (the one a client read) remove exactly the adds that context saw.
 * When the replica applying such a remove has not yet seen all of that context, the adds it lacks
 * may still arrive, so the remove is kept as a <em>deferred remove</em> until the set's context
 * covers it, then applied and dropped (riak_dt_orswot keeps deferred operations the same way).
 *
 * <p>Invariants, held by every instance: elements sorted by unsigned bytes, each with at least one
 * dot, all its dots in the context, no dot held by two elements; no deferred remove is already
 * covered by the context.
 *
 * <p>Immutable.
 */
public final class OrSet implements Crdt<OrSet> {

  private static final Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();
  private static final ByteString[] NO_ELEMENTS = new ByteString[0];
  private static final Dot[][] NO_DOTS = new Dot[0][];

  private static final OrSet EMPTY =
      new OrSet(CausalContext.empty(), NO_ELEMENTS, NO_DOTS, Collections.emptySortedMap());

  private final CausalContext context;
  private final ByteString[] elements;
  private final Dot[][] dots;
  /** Deferred removes keyed by the canonical bytes of their context. */
  private final SortedMap<ByteString, Deferred> deferred;

  /** A remove of {@code elements} that saw exactly the adds in {@code context}. */
  public record Deferred(CausalContext context, SortedSet<ByteString> elements) {}

  private OrSet(
      CausalContext context,
      ByteString[] elements,
      Dot[][] dots,
      SortedMap<ByteString, Deferred> deferred) {
    this.context = context;
    this.elements = elements;
    this.dots = dots;
    this.deferred = deferred;
  }

  public static OrSet empty() {
    return EMPTY;
  }

  @Override
  public CrdtType type() {
    return CrdtType.OR_SET;
  }

  // ---------------------------------------------------------------- reading

  /** The present elements, sorted by unsigned bytes. */
  public List<ByteString> elements() {
    return Collections.unmodifiableList(Arrays.asList(elements));
  }

  public int size() {
    return elements.length;
  }

  public boolean contains(ByteString element) {
    return indexOf(element) >= 0;
  }

  /** The dots of the adds that keep {@code element} present; empty when it is absent. */
  public List<Dot> dotsOf(ByteString element) {
    int at = indexOf(element);
    return at >= 0 ? List.of(dots[at]) : List.of();
  }

  /** Every add this replica has seen: what a later remove-with-context should carry. */
  public CausalContext context() {
    return context;
  }

  /** Removes waiting for adds they saw to arrive here. */
  public Collection<Deferred> deferredRemoves() {
    return Collections.unmodifiableCollection(deferred.values());
  }

  @Override
  public boolean isEmpty() {
    return elements.length == 0 && context.isEmpty() && deferred.isEmpty();
  }

  private int indexOf(ByteString element) {
    return Arrays.binarySearch(elements, element, BYTES);
  }

  // ---------------------------------------------------------------- delta-mutators

  /** The delta of adding {@code element} at {@code replica}. */
  public OrSet addDelta(NodeId replica, ByteString element) {
    return addAllDelta(replica, List.of(element));
  }

  /**
   * The delta of adding every one of {@code toAdd} at {@code replica}: each element gets a fresh
   * dot, and the delta's context also holds the element's current dots, which the add retires.
   */
  public OrSet addAllDelta(NodeId replica, Collection<ByteString> toAdd) {
    ByteString[] added = sortedUnique(toAdd);
    Dot[][] addedDots = new Dot[added.length][];
    List<Dot> seen = new ArrayList<>();
    long next = context.nextDot(replica).counter();
    for (int i = 0; i < added.length; i++) {
      Dot dot = new Dot(replica, checkedCounter(next, i));
      addedDots[i] = new Dot[] {dot};
      seen.add(dot);
      seen.addAll(dotsOf(added[i]));
    }
    return new OrSet(CausalContext.ofDots(seen), added, addedDots, Collections.emptySortedMap());
  }

  /** The delta of removing {@code toRemove} as this replica has seen them. */
  public OrSet removeAllDelta(Collection<ByteString> toRemove) {
    List<Dot> seen = new ArrayList<>();
    for (ByteString element : toRemove) {
      seen.addAll(dotsOf(element));
    }
    if (seen.isEmpty()) {
      return EMPTY;
    }
    return new OrSet(CausalContext.ofDots(seen), NO_ELEMENTS, NO_DOTS, Collections.emptySortedMap());
  }

  /**
   * The delta of removing {@code toRemove} as a reader saw them: only adds in {@code observed}
   * are removed. Adds in {@code observed} that have not reached this replica yet are removed when
   * they do, through a deferred remove carried in the delta.
   */
  public OrSet removeAllDelta(Collection<ByteString> toRemove, CausalContext observed) {
    ByteString[] removed = sortedUnique(toRemove);
    List<Dot> seen = new ArrayList<>();
    for (ByteString element : removed) {
      for (Dot dot : dotsOf(element)) {
        if (observed.contains(dot)) {
          seen.add(dot);
        }
      }
    }
    SortedMap<ByteString, Deferred> defer = Collections.emptySortedMap();
    if (removed.length > 0 && !context.covers(observed)) {
      defer = new TreeMap<>(BYTES);
      defer.put(
          canonicalKey(observed),
          new Deferred(observed, Collections.unmodifiableSortedSet(sortedSet(removed))));
    }
    if (seen.isEmpty() && defer.isEmpty()) {
      return EMPTY;
    }
    return new OrSet(CausalContext.ofDots(seen), NO_ELEMENTS, NO_DOTS, defer);
  }

  // ---------------------------------------------------------------- full-state mutators
  //
  // Each equals merge(itsDelta) but is computed directly on the state. The law suite checks the
  // two against each other, which is what makes the delta-mutators trustworthy.

  /** This set with {@code toAdd} added at {@code replica}. */
  public OrSet addAll(NodeId replica, Collection<ByteString> toAdd) {
    ByteString[] added = sortedUnique(toAdd);
    if (added.length == 0) {
      return this;
    }
    TreeMap<ByteString, Dot[]> entries = entries();
    List<Dot> fresh = new ArrayList<>(added.length);
    long next = context.nextDot(replica).counter();
    for (int i = 0; i < added.length; i++) {
      Dot dot = new Dot(replica, checkedCounter(next, i));
      entries.put(added[i], new Dot[] {dot});
      fresh.add(dot);
    }
    return build(context.with(fresh), entries, deferred);
  }

  /** This set without {@code toRemove}. */
  public OrSet removeAll(Collection<ByteString> toRemove) {
    TreeMap<ByteString, Dot[]> entries = entries();
    boolean changed = false;
    for (ByteString element : toRemove) {
      changed |= entries.remove(element) != null;
    }
    return changed ? build(context, entries, deferred) : this;
  }

  /** This set without the adds of {@code toRemove} that {@code observed} saw. */
  public OrSet removeAll(Collection<ByteString> toRemove, CausalContext observed) {
    ByteString[] removed = sortedUnique(toRemove);
    if (removed.length == 0) {
      return this;
    }
    TreeMap<ByteString, Dot[]> entries = entries();
    for (ByteString element : removed) {
      removeSeen(entries, element, observed);
    }
    SortedMap<ByteString, Deferred> defer = deferred;
    if (!context.covers(observed)) {
      defer = copyOf(deferred);
      addDeferred(defer, new Deferred(observed, Collections.unmodifiableSortedSet(sortedSet(removed))));
    }
    return build(context, entries, defer);
  }

  /**
   * The delta of removing every add {@code seen} names, whichever element it made present, here
   * or still to arrive (a delete of the set as a reader saw it): the context alone. Merged, it
   * drops each of those dots, since it has seen them and holds none; an add it has not seen
   * survives.
   */
  static OrSet removedAll(CausalContext seen) {
    return seen.isEmpty() ? EMPTY : new OrSet(seen, NO_ELEMENTS, NO_DOTS, Collections.emptySortedMap());
  }

  /** Whether any element dot or deferred remove of this set names {@code replica}. */
  boolean holdsDotsOf(NodeId replica) {
    for (Dot[] elementDots : dots) {
      for (Dot dot : elementDots) {
        if (dot.replica().equals(replica)) {
          return true;
        }
      }
    }
    for (Deferred d : deferred.values()) {
      if (d.context().mentions(replica)) {
        return true;
      }
    }
    return false;
  }

  /** This set with {@code replica} dropped from its context: valid only when no element or deferred remove names it. */
  OrSet forgetReplica(NodeId replica) {
    CausalContext forgotten = context.withoutReplica(replica);
    if (forgotten == context) {
      return this;
    }
    return new OrSet(forgotten, elements, dots, deferred);
  }

  /** Whether removing {@code toRemove} here would take away a dot of {@code replica}. */
  boolean removesDotsOf(Collection<ByteString> toRemove, NodeId replica) {
    for (ByteString element : toRemove) {
      for (Dot dot : dotsOf(element)) {
        if (dot.replica().equals(replica)) {
          return true;
        }
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- merge

  /** A context with at most this many dots counts as small: a delta's, not a state's. */
  private static final int SMALL_CONTEXT_DOTS = 64;

  @Override
  public OrSet merge(OrSet other) {
    if (other == this || other.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return other;
    }
    if (other.elements.length * 8L < elements.length) {
      OrSet merged = mergeSmall(other);
      if (merged != null) {
        return merged;
      }
    }
    return mergeByScan(other);
  }

  /**
   * The merge of a small {@code other} — a delta, typically — that visits only its elements, not
   * all of ours: an add to a large set then costs a few binary searches and array copies instead
   * of a walk over every element. Valid when {@code other}'s context drops no dot of an element
   * only we hold: every dot it has seen is one we never saw (we cannot hold it), or a dot of an
   * element {@code other} holds as well (a dot belongs to one element, so no other element of ours
   * can hold it). Null when that is not so, when {@code other}'s context is too large to list, or
   * when it carries deferred removes; {@link #mergeByScan} then decides. {@code OrSetMergeTest} checks the two agree.
   */
  OrSet mergeSmall(OrSet other) {
    List<Dot> seenByOther = other.context.dotsUpTo(SMALL_CONTEXT_DOTS);
    if (seenByOther == null || !other.deferred.isEmpty()) {
      return null;
    }
    int[] at = new int[other.elements.length];
    java.util.Set<Dot> shared = new java.util.HashSet<>();
    for (int j = 0; j < at.length; j++) {
      at[j] = indexOf(other.elements[j]);
      if (at[j] >= 0) {
        shared.addAll(Arrays.asList(dots[at[j]]));
      }
    }
    for (Dot dot : seenByOther) {
      if (context.contains(dot) && !shared.contains(dot)) {
        return null; // it may be a dot of an element only we hold, which the merge would drop
      }
    }
    CausalContext joined = context.merge(other.context);
    ByteString[] outElements = new ByteString[elements.length + at.length];
    Dot[][] outDots = new Dot[outElements.length][];
    int n = 0;
    int i = 0;
    for (int j = 0; j < at.length; j++) {
      int position = at[j] >= 0 ? at[j] : -at[j] - 1;
      // Ours up to it are untouched: other's context drops none of their dots.
      System.arraycopy(elements, i, outElements, n, position - i);
      System.arraycopy(dots, i, outDots, n, position - i);
      n += position - i;
      Dot[] kept;
      if (at[j] >= 0) {
        kept = mergeDots(dots[position], context, other.dots[j], other.context);
        i = position + 1;
      } else {
        kept = unseenBy(other.dots[j], context);
        i = position;
      }
      if (kept.length > 0) {
        outElements[n] = other.elements[j];
        outDots[n++] = kept;
      }
    }
    System.arraycopy(elements, i, outElements, n, elements.length - i);
    System.arraycopy(dots, i, outDots, n, elements.length - i);
    n += elements.length - i;
    if (deferred.isEmpty()) {
      // Nothing to settle: the arrays are the state (settle would copy them element by element
      // through a list view, a tenth of an add's CPU on a set of 100,000 elements).
      if (n == 0 && joined.isEmpty()) {
        return EMPTY;
      }
      return new OrSet(joined, n == outElements.length ? outElements : Arrays.copyOf(outElements, n),
          n == outDots.length ? outDots : Arrays.copyOf(outDots, n), Collections.emptySortedMap());
    }
    return settle(joined, Arrays.asList(outElements).subList(0, n), Arrays.asList(outDots).subList(0, n), deferred);
  }

  /** The merge, by a walk over both sides' elements in order. */
  OrSet mergeByScan(OrSet other) {
    CausalContext joined = context.merge(other.context);
    List<ByteString> outElements = new ArrayList<>(Math.max(elements.length, other.elements.length));
    List<Dot[]> outDots = new ArrayList<>(outElements.size());
    int i = 0;
    int j = 0;
    while (i < elements.length || j < other.elements.length) {
      int order =
          i == elements.length ? 1
              : j == other.elements.length ? -1
              : BYTES.compare(elements[i], other.elements[j]);
      ByteString element;
      Dot[] kept;
      if (order < 0) {
        element = elements[i];
        kept = unseenBy(dots[i++], other.context);
      } else if (order > 0) {
        element = other.elements[j];
        kept = unseenBy(other.dots[j++], context);
      } else {
        element = elements[i];
        kept = mergeDots(dots[i++], context, other.dots[j++], other.context);
      }
      if (kept.length > 0) {
        outElements.add(element);
        outDots.add(kept);
      }
    }
    SortedMap<ByteString, Deferred> allDeferred = deferred;
    if (!other.deferred.isEmpty()) {
      allDeferred = copyOf(deferred);
      for (Deferred d : other.deferred.values()) {
        addDeferred(allDeferred, d);
      }
    }
    return settle(joined, outElements, outDots, allDeferred);
  }

  /** The dots in {@code a} that {@code seenBy} has not seen: what survives a one-sided element. */
  private static Dot[] unseenBy(Dot[] a, CausalContext seenBy) {
    int keep = 0;
    for (Dot dot : a) {
      if (!seenBy.contains(dot)) {
        keep++;
      }
    }
    if (keep == a.length) {
      return a;
    }
    Dot[] kept = new Dot[keep];
    int k = 0;
    for (Dot dot : a) {
      if (!seenBy.contains(dot)) {
        kept[k++] = dot;
      }
    }
    return kept;
  }

  /**
   * The dots of an element both sides hold: those in both, plus those in one side that the other
   * side's context has not seen (Almeida et al. 2018, the dot-kernel join).
   */
  static Dot[] joinDots(Dot[] a, CausalContext ca, Dot[] b, CausalContext cb) {
    return mergeDots(a, ca, b, cb);
  }

  private static Dot[] mergeDots(Dot[] a, CausalContext ca, Dot[] b, CausalContext cb) {
    if (Arrays.equals(a, b)) {
      return a;
    }
    List<Dot> out = new ArrayList<>(a.length + b.length);
    int i = 0;
    int j = 0;
    while (i < a.length || j < b.length) {
      int order = i == a.length ? 1 : j == b.length ? -1 : a[i].compareTo(b[j]);
      if (order == 0) {
        out.add(a[i++]);
        j++;
      } else if (order < 0) {
        if (!cb.contains(a[i])) {
          out.add(a[i]);
        }
        i++;
      } else {
        if (!ca.contains(b[j])) {
          out.add(b[j]);
        }
        j++;
      }
    }
    return out.toArray(new Dot[0]);
  }

  // ---------------------------------------------------------------- deferred removes

  private static void addDeferred(SortedMap<ByteString, Deferred> into, Deferred d) {
    ByteString key = canonicalKey(d.context());
    Deferred existing = into.get(key);
    if (existing == null) {
      into.put(key, d);
    } else {
      TreeSet<ByteString> union = new TreeSet<>(BYTES);
      union.addAll(existing.elements());
      union.addAll(d.elements());
      into.put(key, new Deferred(d.context(), Collections.unmodifiableSortedSet(union)));
    }
  }

  /**
   * Builds a state from parts, applying and dropping every deferred remove that {@code context}
   * now covers: all the adds it saw have arrived, so removing them is final.
   */
  private static OrSet settle(
      CausalContext context,
      List<ByteString> elements,
      List<Dot[]> dots,
      SortedMap<ByteString, Deferred> deferred) {
    if (!deferred.isEmpty()) {
      TreeMap<ByteString, Dot[]> entries = new TreeMap<>(BYTES);
      for (int i = 0; i < elements.size(); i++) {
        entries.put(elements.get(i), dots.get(i));
      }
      return build(context, entries, deferred);
    }
    if (elements.isEmpty() && context.isEmpty()) {
      return EMPTY;
    }
    return new OrSet(
        context, elements.toArray(NO_ELEMENTS), dots.toArray(NO_DOTS), Collections.emptySortedMap());
  }

  /**
   * A set of these elements — sorted by unsigned bytes, distinct — with their dots, over {@code
   * context}, without deferred removes (for {@link SetRepair}, which cuts and joins sets in order).
   */
  static OrSet ofSorted(CausalContext context, List<ByteString> elements, List<Dot[]> dots) {
    return settle(context, elements, dots, Collections.emptySortedMap());
  }

  /** A set of no elements with this context and these deferred removes (a split set's shell, {@link SplitSets}). */
  static OrSet shell(CausalContext context, SortedMap<ByteString, Deferred> deferred) {
    return settle(context, List.of(), List.of(), deferred);
  }

  /** {@link #ofSorted} with deferred removes: those the context covers are applied and dropped. */
  static OrSet ofSorted(CausalContext context, List<ByteString> elements, List<Dot[]> dots,
      SortedMap<ByteString, Deferred> deferred) {
    return settle(context, elements, dots, deferred);
  }

  /** The deferred removes keyed by their context's canonical bytes (not copied: callers do not change them). */
  SortedMap<ByteString, Deferred> deferredByContext() {
    return deferred;
  }

  /** The i-th element in order (for {@link SetRepair}, which walks a set without searching it). */
  ByteString elementAt(int i) {
    return elements[i];
  }

  /** The dots of the i-th element, not copied: callers in this package do not change them. */
  Dot[] dotsAt(int i) {
    return dots[i];
  }

  private static OrSet build(
      CausalContext context,
      TreeMap<ByteString, Dot[]> entries,
      SortedMap<ByteString, Deferred> deferred) {
    SortedMap<ByteString, Deferred> pending = deferred;
    if (!deferred.isEmpty()) {
      TreeMap<ByteString, Deferred> waiting = new TreeMap<>(BYTES);
      for (Map.Entry<ByteString, Deferred> entry : deferred.entrySet()) {
        Deferred d = entry.getValue();
        if (context.covers(d.context())) {
          for (ByteString element : d.elements()) {
            removeSeen(entries, element, d.context());
          }
        } else {
          waiting.put(entry.getKey(), d);
        }
      }
      pending = waiting.isEmpty()
          ? Collections.emptySortedMap()
          : Collections.unmodifiableSortedMap(waiting);
    }
    if (entries.isEmpty() && context.isEmpty() && pending.isEmpty()) {
      return EMPTY;
    }
    return new OrSet(
        context,
        entries.keySet().toArray(NO_ELEMENTS),
        entries.values().toArray(NO_DOTS),
        pending);
  }

  /** Drops the dots of {@code element} that {@code observed} saw, and the element if none is left. */
  private static void removeSeen(
      TreeMap<ByteString, Dot[]> entries, ByteString element, CausalContext observed) {
    Dot[] present = entries.get(element);
    if (present == null) {
      return;
    }
    List<Dot> left = new ArrayList<>(present.length);
    for (Dot dot : present) {
      if (!observed.contains(dot)) {
        left.add(dot);
      }
    }
    if (left.isEmpty()) {
      entries.remove(element);
    } else if (left.size() < present.length) {
      entries.put(element, left.toArray(new Dot[0]));
    }
  }

  // ---------------------------------------------------------------- helpers

  private TreeMap<ByteString, Dot[]> entries() {
    TreeMap<ByteString, Dot[]> entries = new TreeMap<>(BYTES);
    for (int i = 0; i < elements.length; i++) {
      entries.put(elements[i], dots[i]);
    }
    return entries;
  }

  private static ByteString[] sortedUnique(Collection<ByteString> elements) {
    return sortedSet(elements.toArray(NO_ELEMENTS)).toArray(NO_ELEMENTS);
  }

  private static TreeSet<ByteString> sortedSet(ByteString[] elements) {
    TreeSet<ByteString> set = new TreeSet<>(BYTES);
    Collections.addAll(set, elements);
    return set;
  }

  private static long checkedCounter(long first, int offset) {
    long counter = first + offset;
    if (counter < first) {
      throw new CounterOverflowException("dot counters exhausted");
    }
    return counter;
  }

  private static TreeMap<ByteString, Deferred> copyOf(SortedMap<ByteString, Deferred> m) {
    TreeMap<ByteString, Deferred> copy = new TreeMap<>(BYTES);
    copy.putAll(m);
    return copy;
  }

  private static ByteString canonicalKey(CausalContext context) {
    return context.toProto().toByteString();
  }

  // ---------------------------------------------------------------- encoding

  OrSetState toProto() {
    List<NodeId> table = context.replicas();
    OrSetState.Builder builder = OrSetState.newBuilder();
    if (!context.isEmpty()) {
      builder.setContext(context.toProto(table));
    }
    for (int i = 0; i < elements.length; i++) {
      OrSetElement.Builder element = OrSetElement.newBuilder().setValue(elements[i]);
      for (Dot dot : dots[i]) {
        element.addDotReplica(CausalContext.indexOf(table, dot.replica()));
        element.addDotCounter(dot.counter());
      }
      builder.addElements(element);
    }
    for (Deferred d : deferred.values()) {
      builder.addDeferred(
          DeferredRemove.newBuilder()
              .setContext(d.context().toProto())
              .addAllElements(d.elements()));
    }
    return builder.build();
  }

  /**
   * The canonical envelope bytes ({@code CrdtValue{format_version, or_set}}), written straight to
   * a {@link CodedOutputStream}: byte for byte what {@code CrdtCodec.toProto(this).toByteArray()}
   * gives (the law suite checks it), without a protobuf builder per element. Encoding is on the
   * path of every set write, and the builders cost two thirds of a write's CPU (JFR).
   */
  byte[] encodeEnvelope() {
    byte[] state = encodeState();
    byte[] out = new byte[2 + 1 + varintSize(state.length) + state.length];
    CodedOutputStream w = CodedOutputStream.newInstance(out);
    try {
      w.writeUInt32(1, CrdtCodec.FORMAT_VERSION_TYPED);
      w.writeTag(3, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(state.length);
      w.writeRawBytes(state);
      w.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("encoding size miscomputed", e);
    }
    return out;
  }

  /**
   * The canonical bytes of this set's {@code OrSetState} message alone, as {@link #encodeEnvelope}
   * writes them: what a life of a key holds ({@code LifeCodec}).
   */
  byte[] encodeState() {
    List<NodeId> tableList = context.replicas();
    NodeId[] table = tableList.toArray(new NodeId[0]);
    int contextSize = context.isEmpty() ? 0 : contextSize(table);
    int[] elementSizes = new int[elements.length];
    // Per element, the byte counts of its packed replica indexes and counters: computed once for
    // the sizes, used again when writing.
    int[] payloads = new int[2 * elements.length];
    int stateSize = contextSize == 0 && context.isEmpty() ? 0 : 1 + varintSize(contextSize) + contextSize;
    for (int i = 0; i < elements.length; i++) {
      elementSizes[i] = elementSize(i, table, payloads);
      stateSize += 1 + varintSize(elementSizes[i]) + elementSizes[i];
    }
    List<DeferredRemove> deferredMessages = new ArrayList<>(deferred.size());
    for (Deferred d : deferred.values()) {
      DeferredRemove message = DeferredRemove.newBuilder()
          .setContext(d.context().toProto()).addAllElements(d.elements()).build();
      deferredMessages.add(message);
      stateSize += CodedOutputStream.computeMessageSize(3, message);
    }
    byte[] out = new byte[stateSize];
    CodedOutputStream w = CodedOutputStream.newInstance(out);
    try {
      if (!context.isEmpty()) {
        w.writeTag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        w.writeUInt32NoTag(contextSize);
        writeContext(w, table);
      }
      for (int i = 0; i < elements.length; i++) {
        w.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        w.writeUInt32NoTag(elementSizes[i]);
        writeElement(w, i, table, payloads);
      }
      for (DeferredRemove message : deferredMessages) {
        w.writeMessage(3, message);
      }
      w.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("encoding size miscomputed", e);
    }
    return out;
  }

  private static int varintSize(long value) {
    return CodedOutputStream.computeUInt64SizeNoTag(value);
  }

  private int contextSize(NodeId[] table) {
    int size = table.length * (1 + 1 + NodeId.BYTES);
    int vvPayload = 0;
    for (NodeId replica : table) {
      vvPayload += varintSize(context.versionOf(replica));
    }
    size += packedSize(vvPayload, table.length);
    List<Dot> cloud = context.cloud();
    int replicaPayload = 0;
    int counterPayload = 0;
    for (Dot dot : cloud) {
      replicaPayload += varintSize(indexIn(table, dot.replica()));
      counterPayload += varintSize(dot.counter());
    }
    size += packedSize(replicaPayload, cloud.size()) + packedSize(counterPayload, cloud.size());
    return size;
  }

  private void writeContext(CodedOutputStream w, NodeId[] table) throws java.io.IOException {
    for (NodeId replica : table) {
      w.writeBytes(1, replica.toBytes());
    }
    int vvPayload = 0;
    for (NodeId replica : table) {
      vvPayload += varintSize(context.versionOf(replica));
    }
    if (table.length > 0) {
      w.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(vvPayload);
      for (NodeId replica : table) {
        w.writeUInt64NoTag(context.versionOf(replica));
      }
    }
    List<Dot> cloud = context.cloud();
    if (!cloud.isEmpty()) {
      int replicaPayload = 0;
      int counterPayload = 0;
      for (Dot dot : cloud) {
        replicaPayload += varintSize(indexIn(table, dot.replica()));
        counterPayload += varintSize(dot.counter());
      }
      w.writeTag(3, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(replicaPayload);
      for (Dot dot : cloud) {
        w.writeUInt32NoTag(indexIn(table, dot.replica()));
      }
      w.writeTag(4, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(counterPayload);
      for (Dot dot : cloud) {
        w.writeUInt64NoTag(dot.counter());
      }
    }
  }

  private int elementSize(int i, NodeId[] table, int[] payloads) {
    int size = elements[i].isEmpty() ? 0 : CodedOutputStream.computeBytesSize(1, elements[i]);
    int replicaPayload = 0;
    int counterPayload = 0;
    for (Dot dot : dots[i]) {
      replicaPayload += varintSize(indexIn(table, dot.replica()));
      counterPayload += varintSize(dot.counter());
    }
    payloads[2 * i] = replicaPayload;
    payloads[2 * i + 1] = counterPayload;
    return size + packedSize(replicaPayload, dots[i].length) + packedSize(counterPayload, dots[i].length);
  }

  private void writeElement(CodedOutputStream w, int i, NodeId[] table, int[] payloads) throws java.io.IOException {
    if (!elements[i].isEmpty()) {
      w.writeBytes(1, elements[i]);
    }
    w.writeTag(2, WireFormat.WIRETYPE_LENGTH_DELIMITED);
    w.writeUInt32NoTag(payloads[2 * i]);
    for (Dot dot : dots[i]) {
      w.writeUInt32NoTag(indexIn(table, dot.replica()));
    }
    w.writeTag(3, WireFormat.WIRETYPE_LENGTH_DELIMITED);
    w.writeUInt32NoTag(payloads[2 * i + 1]);
    for (Dot dot : dots[i]) {
      w.writeUInt64NoTag(dot.counter());
    }
  }

  /** Bytes of a packed repeated field of {@code count} values whose varints take {@code payload}. */
  private static int packedSize(int payload, int count) {
    return count == 0 ? 0 : 1 + varintSize(payload) + payload;
  }

  private static int indexIn(NodeId[] table, NodeId replica) {
    int at = Arrays.binarySearch(table, replica);
    if (at < 0) {
      throw new IllegalStateException("replica " + replica + " missing from the replica table");
    }
    return at;
  }

  static OrSet fromProto(OrSetState state) throws CrdtDecodeException {
    CausalContext.Decoded decoded = CausalContext.fromProto(state.getContext());
    CausalContext context = decoded.context();
    NodeId[] table = decoded.table().toArray(new NodeId[0]);
    int n = state.getElementsCount();
    List<ByteString> elements = new ArrayList<>(n);
    List<Dot[]> dots = new ArrayList<>(n);
    ByteString previous = null;
    // A dot records one add of one element: no two elements may hold it. Merge relies on it.
    java.util.Set<Dot> held = new java.util.HashSet<>(Math.max(16, n * 2));
    for (OrSetElement element : state.getElementsList()) {
      ByteString value = element.getValue();
      if (previous != null && BYTES.compare(previous, value) >= 0) {
        throw new CrdtDecodeException("set elements are not sorted and unique");
      }
      previous = value;
      elements.add(value);
      Dot[] elementDots = elementDots(element, table, context);
      for (Dot dot : elementDots) {
        if (!held.add(dot)) {
          throw new CrdtDecodeException("dot " + dot + " is held by two elements");
        }
      }
      dots.add(elementDots);
    }
    TreeMap<ByteString, Deferred> deferred = new TreeMap<>(BYTES);
    for (DeferredRemove remove : state.getDeferredList()) {
      addDeferred(deferred, deferredFromProto(remove));
    }
    return settle(context, elements, dots, deferred);
  }

  private static Dot[] elementDots(OrSetElement element, NodeId[] table, CausalContext context)
      throws CrdtDecodeException {
    int n = element.getDotReplicaCount();
    if (n == 0 || element.getDotCounterCount() != n) {
      throw new CrdtDecodeException("a set element needs one or more dots in parallel arrays");
    }
    Dot[] dots = new Dot[n];
    for (int k = 0; k < n; k++) {
      dots[k] = CausalContext.dotAt(table, element.getDotReplica(k), element.getDotCounter(k));
      if (k > 0 && dots[k - 1].compareTo(dots[k]) >= 0) {
        throw new CrdtDecodeException("an element's dots are not sorted and unique");
      }
      if (!context.contains(dots[k])) {
        throw new CrdtDecodeException("dot " + dots[k] + " is missing from the set's context");
      }
    }
    return dots;
  }

  private static Deferred deferredFromProto(DeferredRemove remove) throws CrdtDecodeException {
    CausalContextState contextState = remove.getContext();
    CausalContext observed = CausalContext.fromProto(contextState).context();
    if (remove.getElementsCount() == 0) {
      throw new CrdtDecodeException("a deferred remove without elements");
    }
    TreeSet<ByteString> elements = new TreeSet<>(BYTES);
    ByteString previous = null;
    for (ByteString element : remove.getElementsList()) {
      if (previous != null && BYTES.compare(previous, element) >= 0) {
        throw new CrdtDecodeException("deferred remove elements are not sorted and unique");
      }
      previous = element;
      elements.add(element);
    }
    return new Deferred(observed, Collections.unmodifiableSortedSet(elements));
  }

  // ---------------------------------------------------------------- identity

  @Override
  public boolean equals(Object o) {
    return o instanceof OrSet other
        && context.equals(other.context)
        && Arrays.equals(elements, other.elements)
        && Arrays.deepEquals(dots, other.dots)
        && deferred.equals(other.deferred);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * context.hashCode() + Arrays.hashCode(elements)) + deferred.hashCode();
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("OrSet{");
    for (int i = 0; i < elements.length; i++) {
      s.append(i == 0 ? "" : ", ").append(elements[i].toStringUtf8()).append(Arrays.toString(dots[i]));
    }
    s.append(" | ").append(context);
    if (!deferred.isEmpty()) {
      s.append(" | deferred=").append(deferred.values());
    }
    return s.append('}').toString();
  }
}
