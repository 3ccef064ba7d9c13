package io.latticekv.core.gossip;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.Rumor;
import io.latticekv.core.transport.PeerMessage.RumorAck;
import io.latticekv.core.transport.PeerMessage.RumorBatch;
import io.latticekv.core.transport.PeerMessage.RumorPull;
import io.latticekv.core.transport.Transport;
import io.latticekv.core.util.RateLimitedLog;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Rumor mongering (Demers et al., "Epidemic Algorithms for Replicated Database Maintenance",
 * 1987, section 3), push variant with feedback and a counter, as an I/O-free state machine.
 *
 * <p>The delta of every update applied at this node, by a client or by a rumor that was news
 * here, becomes a hot rumor. It is pushed at once, at the driver's next pass, to {@code fanout}
 * random reachable peers; then each round (once per gossip interval) the node pushes a batch of
 * its hot rumors, least pushed first, to {@code fanout} random reachable peers.
 * The receiver merges each delta and answers, per rumor, whether it was news; a rumor that was
 * news there becomes hot there too. Each "not news" answer counts against the rumor; at {@code
 * feedbackLimit * fanout} of them (k rounds' worth of useless contacts) it cools. Independently of feedback it cools after a bounded number of rounds
 * (see {@link RumorConfig}), so it stops even when answers are lost. Deltas for one key waiting
 * in the queue are joined into one (they are CRDT states, so the join carries both).
 *
 * <p>A node also remembers which peers hold each hot rumor as it stands (they acknowledged it, or
 * sent it) and does not push it to them again: each push it skips counts as the "not news" answer
 * the push would have brought back, so a rumor reaches exactly whom Demers' scheme would reach,
 * without the useless messages; once every reachable peer holds it, it cools.
 *
 * <p>What rumors miss — the residue, lost messages, nodes that were down — is anti-entropy's job.
 *
 * <p>Not thread-safe: one driver thread calls it.
 */
public final class RumorMonger {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RumorMonger.class);

  /**
   * Where received deltas go: merges a received batch's deltas into the local replica in order;
   * element i says whether the i-th changed it. A replica that can store a batch at once does.
   */
  @FunctionalInterface
  public interface Sink {
    boolean[] applyAll(List<Rumor> rumors);

    /** A sink that merges one delta at a time; {@code apply} tells whether it changed the replica. */
    static Sink oneByOne(java.util.function.BiPredicate<ByteString, Crdt<?>> apply) {
      return rumors -> {
        boolean[] changed = new boolean[rumors.size()];
        for (int i = 0; i < changed.length; i++) {
          changed[i] = apply.test(rumors.get(i).key(), rumors.get(i).delta());
        }
        return changed;
      };
    }
  }

  /**
   * Largest joined delta a key's rumor grows to, in encoded bytes (by {@link HotRumor#sizeHint}). Past
   * it a newer delta is not joined in: the rumor starts again from it, and the older part, which
   * went out in earlier pushes, is left to anti-entropy if a peer missed it (counted as dropped).
   * Pekko Distributed Data's max-delta-size does the same. Without it a set written all the time
   * grew one rumor to the whole set, joined once per write on the protocol thread: quadratic
   * work that delayed its answers to probes until peers declared the node dead.
   */
  static final int JOINED_BYTES_MAX = 16 * 1024;

  private record Sent(ByteString key, long version) {}

  /** Batches awaiting feedback: enough for a few rounds of fanout; older ones are forgotten. */
  private static final int SENT_BATCHES_MAX = 1024;

  /**
   * Most rumors in one batch, sent or received: a batch's merges are one storage task, and this
   * bounds the work one message can cause (a batch of the byte limit holds about 2,500 small
   * rumors; 8,192 tiny ones are still a few milliseconds of merging).
   */
  public static final int RUMORS_PER_BATCH_MAX = 8_192;

  /**
   * Bookkeeping for keys that are no longer queued is swept once it holds this many more entries
   * than the queue: a sweep walks the table, so it runs once per this many cooled rumors, not every
   * round.
   */
  private static final int STALE_ENTRIES_SWEEP = 1_024;

  private final NodeId self;
  private final RumorConfig config;
  private final Random random;
  private final Transport transport;
  private final Supplier<List<Member>> peers;
  private final Function<NodeId, Member> members;
  private final Sink sink;
  private final StorageRunner storage;
  private final TransmitLimitedQueue<ByteString, HotRumor> queue;
  private final Map<ByteString, Integer> notNews = new HashMap<>();
  private final RumorHolders holders;
  private final LinkedHashMap<Long, List<Sent>> sentBatches = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, List<Sent>> eldest) {
      return size() > SENT_BATCHES_MAX;
    }
  };
  /** An idle push-pull node pulls every this many rounds (200 ms at the default 50 ms rounds). */
  static final int IDLE_PULL_EVERY = 4;

  private long round;
  /** Keys pushed at once this round: each key goes at once at most once a round. */
  private final Set<ByteString> pushedAtOnce = new HashSet<>();
  /** Bytes of rumors still to push at once this round (one batch's worth a round). */
  private long atOnceBytesLeft;
  private long lastPushAtOnceAt = Long.MIN_VALUE;
  private long nextVersion;
  private long originSeq;
  private final Map<NodeId, Long> seen = new HashMap<>();
  private long nextBatch;
  private long nextRoundAt;
  private final Clock clock;

  private long rumorsSent;
  private long rumorsCut;
  private long pushesAtOnce;
  private Runnable wake = () -> {};
  private long rumorsReceived;
  private long rumorsNew;
  private long mergesFailed;
  private final RateLimitedLog failures;

  /** A monger whose merges run at once on the caller's thread, and which takes every origin: for tests. */
  public RumorMonger(NodeId self, RumorConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, IntSupplier clusterSize, Sink sink) {
    this(self, config, clock, random, transport, peers, clusterSize,
        id -> Member.find(peers.get(), id).orElse(new Member(id, "?", 0, MemberStatus.DEAD, 0, 0)), sink,
        StorageRunner.inline());
  }

  /**
   * @param members the member of a node id in any state, or null: rumor versions from other
   *     origins are dropped, so that invented origins cannot grow the digest that rides on every
   *     round; acks and pull answers go to the sender's address, whatever state it is in here
   * @param storage where the merges of received batches run
   */
  public RumorMonger(NodeId self, RumorConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, IntSupplier clusterSize, Function<NodeId, Member> members, Sink sink,
      StorageRunner storage) {
    this.self = self;
    this.holders = new RumorHolders(self);
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.peers = peers;
    this.members = members;
    this.sink = sink;
    this.storage = storage;
    this.failures = new RateLimitedLog(log, clock, 10_000);
    this.queue = new TransmitLimitedQueue<>(config.retransmitMult(), clusterSize, config.queueCapacity(), this::join);
    this.nextRoundAt = clock.millis();
    this.atOnceBytesLeft = config.batchBytesMax();
  }

  private HotRumor join(HotRumor older, HotRumor newer) {
    long hint = older.sizeHint() + newer.sizeHint();
    if (hint > JOINED_BYTES_MAX) {
      rumorsCut++;
      return newer;
    }
    Crdt<?> joined = Crdt.join(older.rumor().delta(), newer.rumor().delta());
    Map<NodeId, Long> versions = new HashMap<>(older.rumor().versions());
    newer.rumor().versions().forEach((origin, seq) -> versions.merge(origin, seq, Math::max));
    long epoch = Math.min(older.rumor().epoch(), newer.rumor().epoch()); // the oldest part's
    return HotRumor.joined(new Rumor(newer.rumor().key(), joined, versions, epoch), newer.version(), hint);
  }

  /**
   * Called on this monger's thread whenever a rumor becomes hot, so that the driver can run {@link
   * #pushUnsent} once the work already queued on that thread is done: one push for all the rumors
   * of that pass, without waiting for the next tick. Without it, the next tick pushes.
   */
  public void onUnsent(Runnable wake) {
    this.wake = java.util.Objects.requireNonNull(wake);
  }

  /** A delta this node applied for a client: it becomes a hot rumor originating here. */
  public void hot(ByteString key, Crdt<?> delta) {
    hot(key, delta, Rumor.EPOCH_UNKNOWN);
  }

  /** A delta this node applied at cluster epoch {@code epoch}: it becomes a hot rumor originating here. */
  public void hot(ByteString key, Crdt<?> delta, long epoch) {
    long seq = ++originSeq;
    seen.merge(self, seq, Math::max);
    hot(new Rumor(key, delta, Map.of(self, seq), epoch), null, List.of(), List.of());
  }

  /**
   * Queues {@code rumor}, which {@code from} (null: this node) is known to hold, and which the push
   * that brought it also sent to {@code alsoSentTo}; not at all when that makes every peer of
   * {@code reachable} a holder.
   */
  private void hot(Rumor rumor, NodeId from, List<NodeId> alsoSentTo, List<Member> reachable) {
    if (rumor.delta().isEmpty()) {
      return;
    }
    ByteString key = rumor.key();
    boolean joined = queue.get(key) != null;
    notNews.remove(key);
    Set<NodeId> now = holders.renewed(key, from, alsoSentTo, joined);
    if (!reachable.isEmpty() && RumorHolders.holdsAll(now, reachable)) {
      // The push that brought it went to every reachable peer (in a 3-node cluster, every push
      // from the origin): nobody is left to tell. Queued, it would only cost this node a round
      // walk, a pull's filter and "not news" bookkeeping per round until the round limit.
      if (joined) {
        queue.cool(key);
      }
      return;
    }
    queue.add(key, HotRumor.of(rumor, nextVersion++));
    wake.run();
    holders.put(key, now);
  }

  /**
   * What this node has seen: per origin, the highest rumor sequence (Scuttlebutt's digest). Only
   * members' sequences: the digest rides on every round, so its size must stay bounded by the
   * member limit, whatever origins a peer names.
   */
  private Map<NodeId, Long> digest() {
    seen.keySet().removeIf(origin -> !origin.equals(self) && !isMember(origin));
    return Map.copyOf(seen);
  }

  /** Whether a rumor carries a version the digest's owner has not seen. */
  private static boolean beyond(HotRumor hot, Map<NodeId, Long> digest) {
    for (Map.Entry<NodeId, Long> v : hot.rumor().versions().entrySet()) {
      if (v.getValue() > digest.getOrDefault(v.getKey(), 0L)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Runs a round when one is due; between rounds, pushes the rumors no peer was sent yet. The
   * driver calls this every pass of its loop (a few milliseconds), so a new rumor leaves within a
   * pass instead of waiting up to a round, and all that arrived in one pass leave in one batch.
   */
  public void tick() {
    long now = clock.millis();
    if (now < nextRoundAt) {
      pushUnsent();
      return;
    }
    nextRoundAt = now + config.gossipIntervalMs();
    if (notNews.size() > queue.size() + STALE_ENTRIES_SWEEP) {
      notNews.keySet().removeIf(key -> queue.get(key) == null); // cooled by the round limit
    }
    if (holders.size() > queue.size() + STALE_ENTRIES_SWEEP) {
      holders.sweep(key -> queue.get(key) != null);
    }
    round++;
    pushedAtOnce.clear();
    atOnceBytesLeft = config.batchBytesMax();
    if (queue.size() == 0) {
      // Push starts from a hot rumor, so an idle node sends nothing. An idle push-pull node
      // still asks for what it lacks, but only every IDLE_PULL_EVERY rounds: pulling is what
      // removes push's residue, and pulling every round from every idle node would cost
      // fanout messages per node per round with nothing to say.
      if (config.mode() == RumorConfig.Mode.PUSH
          || (config.mode() == RumorConfig.Mode.PUSH_PULL && round % IDLE_PULL_EVERY != 0)) {
        return;
      }
    }
    List<Member> targets = new ArrayList<>(peers.get());
    if (targets.isEmpty()) {
      // Nobody to tell: the rounds still count, so rumors cool after the round limit instead of
      // piling up to the queue's cap (anti-entropy brings them to peers that appear later).
      queue.take(Integer.MAX_VALUE, Long.MAX_VALUE, h -> 0, 1);
      return;
    }
    Collections.shuffle(targets, random);
    targets = targets.subList(0, Math.min(config.fanout(), targets.size()));
    if (config.mode() == RumorConfig.Mode.PULL) {
      Map<NodeId, Long> digest = digest();
      for (Member target : targets) {
        transport.send(target.address(), new RumorPull(self, digest));
      }
      // A pulled rumor is never pushed, so its rounds are counted here: it stays hot for the
      // round limit, or until feedback cools it.
      queue.take(Integer.MAX_VALUE, Long.MAX_VALUE, h -> 0, 1);
      return;
    }
    List<HotRumor> batch = queue.take(RUMORS_PER_BATCH_MAX, config.batchBytesMax(), HotRumor::bytes, 1);
    Map<NodeId, Long> digest = config.mode() == RumorConfig.Mode.PUSH_PULL ? digest() : null;
    if (batch.isEmpty() && digest == null) {
      return;
    }
    for (Member target : targets) {
      sendBatch(target, batch, digest, othersThan(target, targets));
    }
  }

  /** The ids of {@code push}'s targets other than {@code target}: what its batch says the push also went to. */
  private static List<NodeId> othersThan(Member target, List<Member> push) {
    List<NodeId> others = new ArrayList<>(push.size() - 1);
    for (Member m : push) {
      if (!m.id().equals(target.id())) {
        others.add(m.id());
      }
    }
    return others;
  }

  /**
   * Pushes the rumors that became hot since the last push (new here, or news from a peer) to
   * {@code fanout} random peers at once, as their first round would: each counts one send, and
   * the rounds go on with the rest of their sends. Without a digest: a pull rides on the rounds.
   * A pull-only node pushes nothing. Runs at every {@link #tick} between rounds, and when the
   * driver runs it after a rumor became hot ({@link #onUnsent}).
   *
   * <p>Bounded, so that it adds at most about one round's traffic to the rounds': at most one push
   * per millisecond; per round, each key once (a key written all the time is joined into one
   * rumor whose sends start again at every write, and would otherwise go out at every pass) and
   * at most one batch's bytes (a burst, such as the writes a discard re-spreads, goes at the
   * rounds' pace).
   */
  public void pushUnsent() {
    long now = clock.millis();
    if (config.mode() == RumorConfig.Mode.PULL || !queue.hasUnsent() || now == lastPushAtOnceAt
        || atOnceBytesLeft <= 0) {
      return; // the next tick or round takes them
    }
    List<Member> targets = new ArrayList<>(peers.get());
    if (targets.isEmpty()) {
      return; // the next round counts it as sent to nobody
    }
    Collections.shuffle(targets, random);
    List<HotRumor> batch = queue.takeUnsent(RUMORS_PER_BATCH_MAX, atOnceBytesLeft, HotRumor::bytes, 1,
        h -> !pushedAtOnce.contains(h.rumor().key()));
    if (batch.isEmpty()) {
      return;
    }
    lastPushAtOnceAt = now;
    for (HotRumor h : batch) {
      pushedAtOnce.add(h.rumor().key());
      atOnceBytesLeft -= h.bytes();
    }
    // Peers known to hold the rumors go last (the peer a relayed rumor came from holds it): the
    // push reaches fanout peers that lack it, so a relay covers the nodes the first push missed.
    // The order is stable, so peers alike stay in random order.
    List<HotRumor> sample = batch.subList(0, Math.min(HOLDERS_SAMPLE, batch.size()));
    targets.sort(java.util.Comparator.comparingInt(m -> knownToHold(m.id(), sample)));
    pushesAtOnce++;
    List<Member> push = targets.subList(0, Math.min(config.fanout(), targets.size()));
    for (Member target : push) {
      sendBatch(target, batch, null, othersThan(target, push));
    }
  }

  /** Rumors of a batch whose holders order the targets of a push at once: bounds that work per pass. */
  private static final int HOLDERS_SAMPLE = 64;

  /** How many of {@code rumors} {@code peer} is known to hold. */
  private int knownToHold(NodeId peer, List<HotRumor> rumors) {
    int n = 0;
    for (HotRumor h : rumors) {
      if (holders.holds(h.rumor().key(), peer)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Sends {@code target} the rumors of {@code batch} it is not known to hold, with {@code digest}
   * (push-pull) and the other peers the push goes to; nothing when that leaves neither rumors nor a digest.
   */
  private void sendBatch(Member target, List<HotRumor> batch, Map<NodeId, Long> digest, List<NodeId> alsoSentTo) {
    List<Rumor> rumors = new ArrayList<>(batch.size());
    List<Sent> sent = new ArrayList<>(batch.size());
    List<Sent> held = new ArrayList<>();
    for (HotRumor h : batch) {
      Sent s = new Sent(h.rumor().key(), h.version());
      if (holders.holds(s.key(), target.id())) {
        held.add(s);
      } else {
        rumors.add(h.rumor());
        sent.add(s);
      }
    }
    held.forEach(this::feedback); // what the push would have brought back, without sending it
    if (rumors.isEmpty() && digest == null) {
      return;
    }
    long id = ++nextBatch;
    sentBatches.put(id, sent);
    transport.send(target.address(), new RumorBatch(self, id, rumors, digest, alsoSentTo));
    rumorsSent += rumors.size();
  }

  /** Answers a pull: the hot rumors the asker lacks according to its digest. */
  private void answerPull(NodeId asker, Map<NodeId, Long> digest) {
    Member to = peerAddress(asker);
    if (to == null) {
      return;
    }
    int sends = config.mode() == RumorConfig.Mode.PULL ? 0 : 1; // pull counts rounds in tick()
    List<HotRumor> missing = queue.take(RUMORS_PER_BATCH_MAX, config.batchBytesMax(), HotRumor::bytes, sends,
        h -> beyond(h, digest));
    if (!missing.isEmpty()) {
      sendBatch(to, missing, null, List.of());
    }
  }

  /** Handles a rumor batch, a pull, or feedback; other messages are ignored. */
  public void receive(PeerMessage message) {
    switch (message.kind()) {
      case RUMOR_BATCH -> onBatch((RumorBatch) message);
      case RUMOR_PULL -> answerPull(message.from(), ((RumorPull) message).digest());
      case RUMOR_ACK -> onAck((RumorAck) message);
      default -> {
        // another protocol's
      }
    }
  }

  /** Merges a batch off this thread; acknowledges and re-spreads what was news once that is done. */
  private void onBatch(RumorBatch batch) {
    if (batch.digest() != null) {
      answerPull(batch.from(), batch.digest());
    }
    if (batch.rumors().isEmpty()) {
      return;
    }
    List<Rumor> rumors = new ArrayList<>(batch.rumors().size());
    for (Rumor r : batch.rumors()) {
      rumors.add(new Rumor(r.key(), r.delta(), membersOnly(r.versions()), r.epoch()));
    }
    storage.run(() -> sink.applyAll(rumors), (changed, failure) -> merged(batch, rumors, changed, failure));
  }

  private void merged(RumorBatch batch, List<Rumor> rumors, boolean[] changed, Throwable failure) {
    if (failure != null) {
      // No ack: for the sender the push was lost, as on a lossy network; the rumor stays hot there
      // and anti-entropy repairs what it misses.
      mergesFailed++;
      failures.warn("merge", "could not merge a batch of {} rumors from {}: {}", rumors.size(), batch.from(),
          String.valueOf(failure.getMessage()));
      return;
    }
    List<Boolean> wasNew = new ArrayList<>(rumors.size());
    List<Member> reachable = peers.get();
    for (int i = 0; i < changed.length; i++) {
      Rumor rumor = rumors.get(i);
      rumorsReceived++;
      wasNew.add(changed[i]);
      rumor.versions().forEach((origin, seq) -> seen.merge(origin, seq, Math::max));
      if (changed[i]) {
        rumorsNew++;
        hot(rumor, batch.from(), batch.alsoSentTo(), reachable);
      }
    }
    Member from = peerAddress(batch.from());
    if (from != null) {
      transport.send(from.address(), new RumorAck(self, batch.batchId(), wasNew));
    }
  }

  /** The versions of members only (see {@link #digest()}). */
  private Map<NodeId, Long> membersOnly(Map<NodeId, Long> versions) {
    Map<NodeId, Long> kept = null;
    for (NodeId origin : versions.keySet()) {
      if (!origin.equals(self) && !isMember(origin)) {
        kept = new HashMap<>(versions);
        break;
      }
    }
    if (kept == null) {
      return versions;
    }
    kept.keySet().removeIf(origin -> !origin.equals(self) && !isMember(origin));
    return kept;
  }

  private void onAck(RumorAck ack) {
    List<Sent> sent = sentBatches.get(ack.batchId());
    if (sent == null || sent.size() != ack.wasNew().size()) {
      return;
    }
    List<Member> reachable = peers.get();
    for (int i = 0; i < sent.size(); i++) {
      held(sent.get(i), ack.from(), reachable);
      if (!ack.wasNew().get(i)) {
        feedback(sent.get(i));
      }
    }
  }

  /**
   * {@code peer} now holds the rumor as sent; once every reachable peer holds the queued version,
   * there is nobody left to tell and it cools.
   */
  private void held(Sent sent, NodeId peer, List<Member> reachable) {
    HotRumor queued = queue.get(sent.key());
    if (queued == null || queued.version() != sent.version()) {
      return; // cooled already, or a newer delta is queued for the key, which the peer lacks
    }
    if (holders.acknowledged(sent.key(), peer, reachable)) {
      cool(sent.key());
    }
  }

  /** One peer already knew this rumor: count it; at the limit, the rumor cools. */
  private void feedback(Sent sent) {
    HotRumor queued = queue.get(sent.key());
    if (queued == null || queued.version() != sent.version()) {
      return; // cooled already, or a newer delta is queued for the key
    }
    int count = notNews.merge(sent.key(), 1, Integer::sum);
    // k counts rounds' worth of useless pushes: with fanout f a round makes f contacts, so the
    // rumor cools after k * f "not news" answers. With f = 1 this is Demers' counter exactly.
    if (count >= config.feedbackLimit() * config.fanout()) {
      cool(sent.key());
    }
  }

  /** Stops spreading the rumor of {@code key}, and forgets what was counted for it. */
  private void cool(ByteString key) {
    queue.cool(key);
    notNews.remove(key);
    holders.forget(key);
  }

  private boolean isMember(NodeId id) {
    return members.apply(id) != null;
  }

  /** The sender of a message, to answer it; null when it is not a member or has left. */
  private Member peerAddress(NodeId id) {
    Member m = members.apply(id);
    return m == null || m.status() == MemberStatus.LEFT || m.address().equals("?") ? null : m;
  }

  /** Whether a rumor of {@code key} is queued to spread. */
  boolean isQueued(ByteString key) {
    return queue.get(key) != null;
  }

  public int queueLength() {
    return queue.size();
  }

  /**
   * Rumors dropped: from a full queue, or the older part of a key's rumor past {@link
   * #JOINED_BYTES_MAX}. Anti-entropy repairs what they carried.
   */
  public long dropped() {
    return queue.dropped() + rumorsCut;
  }

  public long rumorsSent() {
    return rumorsSent;
  }

  public long rumorsReceived() {
    return rumorsReceived;
  }

  /** Received rumors that were news here. */
  public long rumorsNew() {
    return rumorsNew;
  }

  /** Pushes of new rumors between rounds ({@link #tick}). */
  public long pushesAtOnce() {
    return pushesAtOnce;
  }

  /** Received batches whose merge failed (storage busy or failing); they were not acknowledged. */
  public long mergesFailed() {
    return mergesFailed;
  }
}
