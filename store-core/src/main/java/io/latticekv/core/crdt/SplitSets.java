package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.core.merkle.Hashing;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The CRDT side of a set stored one row per element (docs/architecture.md, "Sets"): such a set is
 * kept as its <em>shell</em> — the key state with the set's elements taken out, its context,
 * epochs and marks kept — beside rows of element → dots, and a write joins a delta into the two
 * without reading the set whole. The functions here are the OR-Set's own, cut so that each needs
 * only the elements a delta names.
 *
 * <p>Which sets are split: those of one life, an OR-Set without deferred removes (a deferred remove
 * may name any element, so it needs the set whole), with at least the store's threshold of
 * elements. The store decides from the state alone, so equal states are stored alike.
 */
public final class SplitSets {

  private SplitSets() {}

  /**
   * The one set life of {@code state} when it can be split (one life, an OR-Set), else null. Its
   * deferred removes stay in the shell: each names its elements, so applying one when the context
   * comes to cover it touches those elements' rows alone.
   */
  public static Life splittableLife(Lives state) {
    if (state.lives().size() != 1) {
      return null;
    }
    Life life = state.lives().get(0);
    return life.type() == CrdtType.OR_SET ? life : null;
  }

  /** The elements of a set life, in byte order. */
  public static List<ByteString> elements(Life life) {
    return ((OrSet) life.data()).elements();
  }

  /** The dots of the i-th element of a set life. */
  public static Dot[] dotsAt(Life life, int i) {
    return ((OrSet) life.data()).dotsAt(i);
  }

  /** The set's context. */
  public static CausalContext context(Life life) {
    return ((OrSet) life.data()).context();
  }

  /** {@code state} (a splittable set) without its elements: its life, context, tomb epoch and marks. */
  public static Lives shellOf(Lives state) {
    Life life = splittableLife(state);
    if (life == null) {
      throw new IllegalArgumentException("not a splittable set: " + state);
    }
    return Lives.of(withData(life, OrSet.shell(context(life), ((OrSet) life.data()).deferredByContext())));
  }

  /** The set's deferred removes. */
  public static java.util.Collection<OrSet.Deferred> deferred(Life life) {
    return ((OrSet) life.data()).deferredRemoves();
  }

  /**
   * The state of a split set: its shell with {@code elements} (in byte order, distinct, each with
   * its sorted dots, all within the shell's context) put back.
   */
  public static Lives withElements(Lives shell, List<ByteString> elements, List<Dot[]> dots) {
    Life life = shell.lives().get(0);
    return Lives.of(withData(life, OrSet.ofSorted(context(life), elements, dots,
        ((OrSet) life.data()).deferredByContext())));
  }

  /**
   * The same, over the shell's context joined with every dot of {@code dots}: for rows read after
   * the shell, which may hold adds newer than its context.
   */
  public static Lives withElementsAndTheirDots(Lives shell, List<ByteString> elements, List<Dot[]> dots) {
    Life life = shell.lives().get(0);
    CausalContext context = context(life);
    List<Dot> unseen = new ArrayList<>();
    for (Dot[] d : dots) {
      for (Dot dot : d) {
        if (!context.contains(dot)) {
          unseen.add(dot);
        }
      }
    }
    return Lives.of(withData(life, OrSet.ofSorted(context.with(unseen), elements, dots,
        ((OrSet) life.data()).deferredByContext())));
  }

  private static Life withData(Life life, Crdt<?> data) {
    return Life.of(life.id(), life.created(), life.type(), data, life.counterFloor(), life.registerFloor(),
        life.tombEpoch(), life.retired());
  }

  /**
   * Whether {@code delta} can be joined into the split set of life {@code ours} element by element:
   * it holds only that life, as an OR-Set without deferred removes.
   */
  public static boolean joinsElementwise(Lives delta, Life ours) {
    for (Life life : delta.lives()) {
      if (!life.id().equals(ours.id()) || life.type() != CrdtType.OR_SET) {
        return false;
      }
    }
    return true;
  }

  /**
   * The deferred removes of {@code shell} and {@code delta} that the joined context covers: the
   * join applies them (each removes the dots its context saw from the elements it names) and
   * drops them, as {@link OrSet#merge} settles them.
   */
  public static List<OrSet.Deferred> settledBy(Lives shell, Lives delta) {
    Life ours = shell.lives().get(0);
    CausalContext joined = context(ours);
    List<OrSet.Deferred> all = new ArrayList<>(deferred(ours));
    for (Life d : delta.lives()) {
      joined = joined.merge(((OrSet) d.data()).context());
      all.addAll(((OrSet) d.data()).deferredRemoves());
    }
    List<OrSet.Deferred> settled = new ArrayList<>();
    for (OrSet.Deferred d : all) {
      if (joined.covers(d.context())) {
        settled.add(d);
      }
    }
    return settled;
  }

  /** The set part of a delta that {@link #joinsElementwise}; the empty set when the delta holds none. */
  public static OrSet setOf(Lives delta) {
    return delta.lives().isEmpty() ? OrSet.empty() : (OrSet) delta.lives().get(0).data();
  }

  /** The element count of a set part. */
  public static int size(OrSet set) {
    return set.size();
  }

  /** The i-th element of a set part. */
  public static ByteString elementAt(OrSet set, int i) {
    return set.elementAt(i);
  }

  /** The dots of the i-th element of a set part. */
  public static Dot[] dotsAt(OrSet set, int i) {
    return set.dotsAt(i);
  }

  /**
   * The shell after joining {@code delta} (see {@link #joinsElementwise}) and collecting at {@code
   * epoch}, the set still holding elements: contexts join, epochs and marks as lives do, and the
   * marks of retired replicas are pruned as {@link Lives#collect} would, asking {@code holdsDots}
   * whether any element still holds a dot of one. A deferred remove that names a replica keeps it
   * in the context as an element's dot does ({@link OrSet#holdsDotsOf}); the shell holds those.
   */
  public static Lives joinShell(Lives shell, Lives delta, long epoch, Predicate<NodeId> holdsDots) {
    Life life = shell.lives().get(0);
    for (Life d : delta.lives()) {
      OrSet set = (OrSet) d.data();
      life = life.merge(withData(d, OrSet.shell(set.context(), set.deferredByContext())));
    }
    OrSet joined = (OrSet) life.data();
    return Lives.of(life.pruned(epoch, r -> holdsDots.test(r) || joined.holdsDotsOf(r)));
  }

  /**
   * An element's dots after a join: {@code ours} (under context {@code ourContext}) joined with
   * {@code theirs} (under {@code theirContext}) — the dots both hold, and those one holds that the
   * other has not seen. Either may be empty: the element is absent on that side.
   */
  public static Dot[] joinDots(Dot[] ours, CausalContext ourContext, Dot[] theirs, CausalContext theirContext) {
    return OrSet.joinDots(ours, ourContext, theirs, theirContext);
  }

  /** The dots of {@code dots} that {@code seenBy} has not seen: what a one-sided element keeps. */
  public static Dot[] unseenBy(Dot[] dots, CausalContext seenBy) {
    List<Dot> kept = new ArrayList<>(dots.length);
    for (Dot dot : dots) {
      if (!seenBy.contains(dot)) {
        kept.add(dot);
      }
    }
    return kept.size() == dots.length ? dots : kept.toArray(new Dot[0]);
  }

  /**
   * An element's share of a split set's digest, and of its repair bucket's hash ({@link
   * SetRepair#hashes}): the same function, so that the buckets of a split set sum its rows.
   */
  public static long elementHash(ByteString element, Dot[] dots) {
    return SetRepair.elementHash(Hashing.keyHash(element), dots);
  }

  /**
   * A split set's digest: its shell's (whose encoding is canonical) mixed with the sum of its
   * elements' hashes, which each element write moves. A function of the state alone.
   */
  public static long digest(long shellDigest, long elementSum) {
    return Hashing.mix(shellDigest ^ Hashing.mix(elementSum + 0x632be59bd9b4e019L));
  }
}
