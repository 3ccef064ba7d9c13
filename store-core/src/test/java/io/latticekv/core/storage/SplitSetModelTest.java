package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;

/**
 * The model-based test of sets stored one row per element (docs/architecture.md, "Sets"): a store
 * that splits every set of three or more elements, a store that never splits (every set one
 * value, the whole-state path) and the in-memory model ({@link Lives}, merged and collected) take
 * the same random histories — client adds and removes, removes with a read's context (deferred
 * removes), deletes, deltas and whole states from two other replicas delivered late, twice and out
 * of order, epochs and retirements, crash and reopen — and must hold the same state after every
 * step. The split store's Merkle tree must survive a reopen (its leaves are rebuilt from the
 * records alone), and equal its tree when its state is loaded into a fresh split store.
 *
 * <p>{@code -Dlaws.seed=N} replays a run; {@code -Ddebug.split=true} prints the state after each step.
 */
@DisplayName("a set stored one row per element behaves as the whole set")
class SplitSetModelTest {

  private static final int EXAMPLES = Integer.getInteger("laws.examples", 40);
  private static final long SEED = Long.getLong("laws.seed", System.nanoTime());
  private static final ByteString KEY = ByteString.copyFromUtf8("set");
  private static final int ELEMENTS = 10;

  @TempDir Path dir;

  /** A step: {kind, a, b, c}; a and b are element masks, c picks a peer, a delta or a context. */
  private static final Gen<List<int[]>> HISTORIES = lists().of(
      integers().between(0, 99).zip(masks(), masks(), integers().between(0, 1 << 20), (k, a, b, c) -> new int[] {k, a, b, c}))
      .ofSizeBetween(1, 80);

  /** Sets of elements: as often a few (an update naming one or two, the common case) as many. */
  private static Gen<Integer> masks() {
    Gen<Integer> any = integers().between(0, (1 << ELEMENTS) - 1);
    return any.zip(any, integers().between(0, 1), (x, y, few) -> few == 1 ? x & y & (x >>> 3) : x);
  }

  private static String names(List<ByteString> elements) {
    return elements.stream().map(ByteString::toStringUtf8).toList().toString();
  }

  private static List<ByteString> elements(int mask) {
    List<ByteString> out = new ArrayList<>();
    for (int i = 0; i < ELEMENTS; i++) {
      if ((mask & (1 << i)) != 0) {
        out.add(ByteString.copyFromUtf8("e" + i));
      }
    }
    return out;
  }

  /** Another replica, in memory: its state and the writer it updates it with. */
  private static final class Peer {
    Lives state = Lives.empty();
    final CrdtUpdate.Writer writer;

    Peer(NodeId id, AtomicLong clock) {
      AtomicLong seq = new AtomicLong();
      writer = new CrdtUpdate.Writer(id, () -> new HlcTimestamp(clock.incrementAndGet() << 16), 0, seq::incrementAndGet);
    }
  }

  private final class Run {
    final Path splitDir;
    final Path wholeDir;
    Store split;
    Store whole;
    Lives model = Lives.empty();
    long epoch = 0;
    final List<NodeId> oldIds = new ArrayList<>();
    final List<Lives> deltas = new ArrayList<>();
    final List<Peer> peers = new ArrayList<>();
    final StringBuilder trail = new StringBuilder();

    Run(int example) {
      try {
        splitDir = Files.createDirectories(dir.resolve(example + "-split"));
        wholeDir = Files.createDirectories(dir.resolve(example + "-whole"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      open();
      AtomicLong clock = new AtomicLong(System.currentTimeMillis());
      Random ids = new Random(example);
      peers.add(new Peer(NodeId.random(ids), clock));
      peers.add(new Peer(NodeId.random(ids), clock));
    }

    int lives;

    /**
     * Both stores open with the same ids and the same fixed clock, so that an update computed at
     * each gives the same delta: the whole store checks the split store's deltas, not only its joins.
     */
    void open() {
      lives++;
      split = Store.open(options(splitDir, 3, lives));
      whole = Store.open(options(wholeDir, Integer.MAX_VALUE, lives));
      split.setEpoch(Math.max(epoch, split.epoch()));
      whole.setEpoch(Math.max(epoch, whole.epoch()));
    }

    void close() {
      split.close();
      whole.close();
    }

    /** A client write at both stores: the split store's delta goes to the model and the peers' mail. */
    void client(CrdtUpdate update) {
      Applied applied;
      try {
        applied = split.apply(KEY, update);
      } catch (RuntimeException refused) {
        trail.append(" (refused: ").append(refused.getMessage()).append(')');
        return;
      }
      Applied reference = whole.apply(KEY, update);
      assertEquals(reference.delta(), applied.delta(), "the delta of an update" + trail);
      assertEquals(reference.changed(), applied.changed(), "whether an update changed the set" + trail);
      Lives after = split.get(KEY).orElse(Lives.empty());
      assertEquals(after.elementCount(), applied.elementCount(), "the size a write answers" + trail);
      if (update instanceof CrdtUpdate.SetUpdate set) {
        for (ByteString e : set.add()) {
          assertEquals(after.contains(e), applied.containsAfter(e), "what a write says it holds" + trail);
        }
      }
      model = model.merge(applied.delta()).collect(epoch);
      deltas.add(applied.delta());
    }

    /** Client writes in one batch at both stores, as the server's write combiner gives them; each delta to the model. */
    void clientBatch(List<CrdtUpdate> updates) {
      List<Store.Write> writes = new ArrayList<>();
      for (CrdtUpdate u : updates) {
        if (!(u instanceof CrdtUpdate.SetUpdate set) || !set.add().isEmpty() || !set.remove().isEmpty()) {
          writes.add(new Store.Write(KEY, u));
        }
      }
      if (writes.isEmpty()) {
        return;
      }
      List<Store.Outcome> ours = split.applyAll(writes);
      List<Store.Outcome> reference = whole.applyAll(writes);
      for (int i = 0; i < writes.size(); i++) {
        Store.Outcome o = ours.get(i);
        Store.Outcome r = reference.get(i);
        assertEquals(r.refused() == null, o.refused() == null, "whether write " + i + " of a batch was refused" + trail);
        if (o.refused() != null) {
          continue;
        }
        assertEquals(r.applied().delta(), o.applied().delta(), "the delta of write " + i + " of a batch" + trail);
        assertEquals(r.applied().changed(), o.applied().changed(), "whether write " + i + " of a batch changed the set" + trail);
        model = model.merge(o.applied().delta()).collect(epoch);
        deltas.add(o.applied().delta());
      }
    }

    /**
     * Anti-entropy's repair by buckets (SetRepair): the part of {@code sender} over the buckets
     * where it differs from the stores' set, cut against the stores' hashes, joined into both.
     */
    void repair(Lives sender) {
      Lives receiver = split.get(KEY).orElse(Lives.empty());
      if (io.latticekv.core.crdt.SetRepair.shape(receiver).isEmpty() || io.latticekv.core.crdt.SetRepair.shape(sender).isEmpty()
          || !io.latticekv.core.crdt.SetRepair.shape(receiver).equals(io.latticekv.core.crdt.SetRepair.shape(sender))) {
        return;
      }
      int count = 16;
      // What a repair reads of the stores' set: from the rows, as from the whole set.
      io.latticekv.core.crdt.SetRepair.Source rows = split.plainSet(KEY).orElseThrow();
      io.latticekv.core.crdt.SetRepair.Source stored = whole.plainSet(KEY).orElseThrow();
      assertEquals(stored.shape(), rows.shape());
      assertEquals(stored.size(), rows.size());
      assertEquals(java.util.Arrays.toString(stored.hashes(count)), java.util.Arrays.toString(rows.hashes(count)),
          "bucket hashes from the rows" + trail);
      int[] ours = io.latticekv.core.crdt.SetRepair.differing(rows.hashes(count),
          io.latticekv.core.crdt.SetRepair.hashes(sender, count));
      assertEquals(stored.part(count, ours), rows.part(count, ours), "a part cut from the rows" + trail);
      int[] buckets = io.latticekv.core.crdt.SetRepair.differing(io.latticekv.core.crdt.SetRepair.hashes(receiver, count),
          io.latticekv.core.crdt.SetRepair.hashes(sender, count));
      Lives part = io.latticekv.core.crdt.SetRepair.part(sender, count, buckets);
      trail.append(" (buckets ").append(java.util.Arrays.toString(buckets)).append(')');
      Applied applied = split.apply(KEY, new CrdtUpdate.JoinPart(part, count, buckets));
      Applied reference = whole.apply(KEY, new CrdtUpdate.JoinPart(part, count, buckets));
      assertEquals(reference.changed(), applied.changed(), "whether a repair changed the set" + trail);
      model = io.latticekv.core.crdt.SetRepair.join(model, part, count, buckets).orElse(model).collect(epoch);
    }

    /** Joins a state or delta into both stores and the model. */
    void join(Lives state) {
      Applied applied = split.apply(KEY, new CrdtUpdate.JoinState(state));
      Applied reference = whole.apply(KEY, new CrdtUpdate.JoinState(state));
      assertEquals(reference.changed(), applied.changed(), "whether a join changed the set" + trail);
      model = model.merge(state).collect(epoch);
    }

    void step(int[] s) {
      int kind = s[0];
      List<ByteString> add = elements(s[1]);
      List<ByteString> remove = elements(s[2]);
      Peer peer = peers.get(s[3] % peers.size());
      if (kind < 15) {
        trail.append("\n add ").append(names(add)).append(" remove ").append(names(remove));
        if (!add.isEmpty() || !remove.isEmpty()) {
          client(new CrdtUpdate.SetUpdate(add, remove, Optional.empty()));
        }
      } else if (kind < 25) {
        // Writes of one batch (the server's write combiner): later ones remove what earlier ones
        // added, so a write's context names dots the batch added, still out of the dot index.
        int all = (1 << ELEMENTS) - 1;
        List<ByteString> add2 = elements(s[3] & all);
        List<ByteString> remove2 = elements(s[1] & s[2]);
        List<ByteString> remove3 = elements((s[3] >>> ELEMENTS) & all);
        trail.append("\n one batch: add ").append(names(add)).append("; add ").append(names(add2)).append(" remove ")
            .append(names(remove2)).append("; add ").append(names(remove)).append(" remove ").append(names(remove3));
        clientBatch(List.of(new CrdtUpdate.SetUpdate(add, List.of(), Optional.empty()),
            new CrdtUpdate.SetUpdate(add2, remove2, Optional.empty()),
            new CrdtUpdate.SetUpdate(remove, remove3, Optional.empty())));
      } else if (kind < 33) {
        trail.append("\n remove ").append(names(remove)).append(" as peer ").append(s[3] % peers.size()).append(" saw it");
        if (!remove.isEmpty()) {
          client(new CrdtUpdate.SetUpdate(List.of(), remove, Optional.of(peer.state.context())));
        }
      } else if (kind < 55) {
        trail.append("\n peer ").append(s[3] % peers.size()).append(" add ").append(names(add)).append(" remove ").append(names(remove));
        if (!add.isEmpty() || !remove.isEmpty()) {
          Lives delta = new CrdtUpdate.SetUpdate(add, remove, Optional.empty()).delta(peer.state, peer.writer);
          peer.state = peer.state.merge(delta);
          deltas.add(delta);
        }
      } else if (kind < 75) {
        if (!deltas.isEmpty()) {
          int i = s[3] % deltas.size();
          trail.append("\n deliver delta ").append(i);
          if (Boolean.getBoolean("debug.split")) {
            trail.append("\n   delta ").append(deltas.get(i)).append("\n   before ").append(split.get(KEY));
          }
          join(deltas.get(i));
        }
      } else if (kind < 79) {
        trail.append("\n peer ").append(s[3] % peers.size()).append("'s whole state to the stores");
        join(peer.state);
      } else if (kind < 82) {
        trail.append("\n peer ").append(s[3] % peers.size()).append(" repairs the stores by buckets");
        repair(peer.state);
      } else if (kind < 88) {
        trail.append("\n the split store's state to peer ").append(s[3] % peers.size());
        peer.state = peer.state.merge(split.get(KEY).orElse(Lives.empty()));
      } else if (kind < 91) {
        trail.append("\n delete");
        client(new CrdtUpdate.Delete(Optional.empty()));
      } else if (kind < 93) {
        trail.append("\n reopen");
        long root = split.tree().root();
        oldIds.add(split.replicaId());
        close();
        open();
        assertEquals(root, split.tree().root(), "the tree rebuilt from the stored rows" + trail);
      } else {
        epoch += 2; // by two: marks of retired ids are pruned three epochs on, within a history's length
        trail.append("\n epoch ").append(epoch).append(", retire ").append(oldIds);
        split.setEpoch(epoch);
        whole.setEpoch(epoch);
        // The stores collect on writes and in the sweep, not when the epoch moves: nor does the model.
        if (!oldIds.isEmpty()) {
          client(new CrdtUpdate.Retire(oldIds));
        }
      }
      Lives ours = split.get(KEY).orElse(Lives.empty());
      if (Boolean.getBoolean("debug.split")) {
        System.out.println(trail.substring(trail.lastIndexOf("\n")) + " -> " + ours);
      }
      assertEquals(whole.get(KEY).orElse(Lives.empty()), ours, "split against whole" + trail);
      assertEquals(model, ours, "split against the model" + trail);
    }

    /** The split store's tree equals that of a fresh split store holding the same state: digests are of states. */
    void checkDigestOfState(Path fresh) {
      Lives ours = split.get(KEY).orElse(Lives.empty());
      if (ours.isEmpty()) {
        return;
      }
      try (Store other = Store.open(options(fresh, 3, -1))) {
        other.apply(KEY, new CrdtUpdate.JoinState(ours));
        assertEquals(ours, other.get(KEY).orElseThrow());
        assertEquals(split.tree().root(), other.tree().root(), "equal states digest alike" + trail);
      }
    }
  }

  /** The options of a test store: ids drawn from {@code seed}, a clock that stands still (the HLC counts on). */
  private static StoreOptions options(Path directory, int splitMin, long seed) {
    StoreOptions d = StoreOptions.defaults(directory, SyncPolicy.NONE);
    return new StoreOptions(directory, SyncPolicy.NONE, d.cacheBytes(), d.valueBytesMax(), d.lockStripes(), d.policy(),
        () -> 1_796_169_600_000L, // 2026-12-02
        new Random(seed), d.segmentBits(), null, splitMin);
  }

  @Test
  void theSplitStoreTheWholeStoreAndTheModelAgreeAfterEveryStep() {
    AtomicLong examples = new AtomicLong();
    qt().withFixedSeed(SEED).withExamples(EXAMPLES).withShrinkCycles(50)
        .forAll(HISTORIES.describedAs(h -> h.size() + " steps")).checkAssert(history -> {
      int example = (int) examples.incrementAndGet();
      Run run = new Run(example);
      try {
        for (int[] s : history) {
          run.step(s);
        }
        run.checkDigestOfState(dir.resolve(example + "-fresh"));
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\n(seed " + SEED + ")", e);
      } finally {
        run.close();
        deleteQuietly(dir.resolve(example + "-split"), dir.resolve(example + "-whole"), dir.resolve(example + "-fresh"));
      }
    });
  }

  /**
   * A scripted history the random ones reach rarely: a retired replica id's mark ripens while the
   * id still holds dots in the set (its entries must stay), then after its elements went (they
   * go from the context, as on the whole set).
   */
  @Test
  void aRetiredIdIsPrunedFromASplitSetExactlyWhenNoElementHoldsItsDots() {
    Run run = new Run(0);
    int firstFive = 0b11111;
    int[][] script = {
        {0, firstFive, 0, 0}, // adds under the first replica id
        {91, 0, 0, 0}, // reopen: a new id, the first one retired
        {99, 0, 0, 0}, {99, 0, 0, 0}, {99, 0, 0, 0}, // marked, then ripe
        {0, 1 << 5, 0, 0}, // a write prunes: the old id still holds dots, and stays
        {0, 0, firstFive, 0}, // its elements go
        {99, 0, 0, 0},
        {0, 1 << 6, 0, 0}, // now its entries go from the context
        {0, 1 << 7, 0, 0}};
    try {
      for (int[] s : script) {
        run.step(s);
      }
      // The lifecycle sweep over both stores, epoch after epoch: it reads a split set by its record.
      for (int round = 0; round < 4; round++) {
        run.epoch += 2;
        run.split.setEpoch(run.epoch);
        run.whole.setEpoch(run.epoch);
        run.split.sweep(null, 100, run.oldIds);
        run.whole.sweep(null, 100, run.oldIds);
        assertEquals(run.whole.get(KEY).orElse(Lives.empty()), run.split.get(KEY).orElse(Lives.empty()),
            "after a sweep at epoch " + run.epoch + run.trail);
      }
    } finally {
      run.close();
    }
  }
  /**
   * Found by the batch step of the random histories: a deferred remove whose context names a
   * retired replica id keeps that id in the set's context, as an element's dot does, after the
   * id's elements went. The split store had asked its rows alone, and dropped the id from the
   * record's context while the whole set kept it.
   */
  @Test
  void aDeferredRemoveNamingARetiredIdKeepsItInTheContext() {
    Run run = new Run(0);
    int firstFive = 0b11111;
    int[][] script = {
        {0, firstFive, 0, 0}, // adds under the first replica id
        {85, 0, 0, 0}, // peer 0 takes the split store's state
        {40, 1 << 8, 0, 0}, // peer 0 adds e8, not delivered
        {30, 0, 1, 0}, // remove e0 as peer 0 saw it: deferred, for peer 0's unseen dot, naming the first id
        {91, 0, 0, 0}, // reopen: a new id, the first one retired
        {99, 0, 0, 0}, {99, 0, 0, 0}, {99, 0, 0, 0}, // marked, then ripe
        {0, 0b111 << 5, 0, 0}, // three more, so that the set stays split
        {0, 0, firstFive, 0}, // the first id's elements go (a remove: the mark waits on it too); its deferred remove stays
        {99, 0, 0, 0}, {99, 0, 0, 0}, {99, 0, 0, 0},
        {0, 1 << 8, 0, 0}, // a write prunes: the first id stays in the context
        {0, 1 << 9, 0, 0}};
    try {
      for (int[] s : script) {
        run.step(s);
      }
    } finally {
      run.close();
    }
  }


  /**
   * A remove with a context from another replica that saw an add this one has not: the split set
   * keeps a deferred remove in its record, and applies it to the element's row when the add
   * arrives.
   */
  @Test
  void aDeferredRemoveWaitsInTheRecordAndTakesTheAddWhenItArrives() {
    Run run = new Run(-2);
    int[][] script = {
        {0, 0b111111, 0, 0}, // e0..e5 at the store: split
        {85, 0, 0, 0}, // peer 0 takes the store's state
        {40, 1 << 6, 0, 0}, // peer 0 adds e6 (delta 1)
        {30, 0, (1 << 6) | 1, 0}, // the store removes e6 and e0 as peer 0 saw them: e6 is deferred
        {60, 0, 0, 1}, // peer 0's add arrives: the deferred remove takes it
        {0, 1 << 7, 0, 0}};
    try {
      for (int[] s : script) {
        run.step(s);
      }
      Lives ours = run.split.get(KEY).orElseThrow();
      assertEquals(false, ours.contains(ByteString.copyFromUtf8("e6")), "the deferred remove took the late add" + run.trail);
      assertEquals(true, run.split.storedSplit(KEY));
    } finally {
      run.close();
    }
  }

  /**
   * Repairs by buckets between a split set of 300 elements and replicas of it that took other
   * writes: the hashes and parts read from the rows equal those of the whole set, and the joins
   * agree (the random histories reach plain sets of one life at both ends too rarely to rely on).
   */
  @Test
  void aRepairByBucketsReadsTheRowsAsTheWholeSetAndJoinsAlike() {
    Run run = new Run(-1);
    try {
      List<ByteString> many = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        many.add(ByteString.copyFromUtf8("m" + i));
      }
      run.client(new CrdtUpdate.SetUpdate(many, List.of(), Optional.empty()));
      Random random = new Random(SEED);
      for (int round = 0; round < 20; round++) {
        Peer peer = run.peers.get(round % 2);
        Lives sender = run.split.get(KEY).orElseThrow();
        List<ByteString> add = new ArrayList<>();
        List<ByteString> remove = new ArrayList<>();
        for (int i = 0; i < 1 + random.nextInt(5); i++) {
          add.add(ByteString.copyFromUtf8("p" + round + "-" + i));
          remove.add(many.get(random.nextInt(many.size())));
        }
        sender = sender.merge(new CrdtUpdate.SetUpdate(add, remove, Optional.empty()).delta(sender, peer.writer));
        // And the stores take a write of their own, which the sender lacks.
        run.client(new CrdtUpdate.SetUpdate(List.of(ByteString.copyFromUtf8("s" + round)),
            List.of(many.get(random.nextInt(many.size()))), Optional.empty()));
        run.trail.append("\n repair round ").append(round);
        run.repair(sender);
        Lives ours = run.split.get(KEY).orElseThrow();
        assertEquals(run.whole.get(KEY).orElseThrow(), ours, "split against whole" + run.trail);
        for (ByteString e : add) {
          assertEquals(true, ours.contains(e), "a repair brings the sender's add" + run.trail);
        }
      }
    } finally {
      run.close();
    }
  }

  private static void deleteQuietly(Path... paths) {
    for (Path p : paths) {
      if (!Files.exists(p)) {
        continue;
      }
      try (Stream<Path> walk = Files.walk(p)) {
        walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException ignored) {
        // a temp directory JUnit removes anyway
      }
    }
  }
}
