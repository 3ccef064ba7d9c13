package io.latticekv.core.antientropy;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.AeFetch;
import io.latticekv.core.transport.PeerMessage.AeHashes;
import io.latticekv.core.transport.PeerMessage.AeHashesReply;
import io.latticekv.core.transport.PeerMessage.AeSegments;
import io.latticekv.core.transport.PeerMessage.AeSegmentsReply;
import io.latticekv.core.transport.PeerMessage.AeStates;
import io.latticekv.core.transport.PeerMessage.AeStream;
import io.latticekv.core.transport.PeerMessage.KeyState;
import io.latticekv.core.transport.PeerMessage.SetSummary;
import io.latticekv.core.transport.PeerMessage.StoredState;
import io.latticekv.core.transport.Transport;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merkle-tree anti-entropy (as in Dynamo, Riak's tictac AAE and Cassandra's repair) as an
 * I/O-free state machine. Every interval this node starts an exchange with a random live peer and
 * walks it through named phases:
 *
 * <ol>
 *   <li>{@link Phase#ROOT}: ask the peer's root hash; equal roots end the exchange (the replicas
 *       match).
 *   <li>{@link Phase#BRANCH}: level by level, ask the peer's hashes of the children of the nodes
 *       that differed, and keep only the children that differ again.
 *   <li>{@link Phase#SEGMENTS}: at the leaves, ask the keys and state digests of the differing
 *       segments (at most {@code segmentsPerExchangeMax}) and compare them with ours.
 *   <li>{@link Phase#REPAIR}: fetch the states of keys the peer has and we lack or hold
 *       differently, push ours for keys it lacks or holds differently (at most {@code
 *       keysPerExchangeMax} keys), and merge what comes back.
 * </ol>
 *
 * <p>The cost of finding a difference grows with the difference, not the data: equal replicas
 * exchange one hash. Repairs are merges, so repairing in both directions is safe, and a key
 * written during the exchange that only looks different through the timing is merged to no
 * change and not counted. The responder keeps no state: it answers each request from its tree
 * and store ({@link Responder}). A large set both hold differently goes by its differing buckets
 * ({@link SetExchange}).
 *
 * <p>Work that touches the replica — segment scans, reads, merges — goes to the {@link
 * StorageRunner}, never onto this object's thread, and every request is checked against the local
 * tree and this node's own caps before any of it starts: a level beyond the root, an index or
 * segment out of range, more segments, keys or states than an exchange may carry. Such a request
 * is dropped, counted and logged, since no correct peer sends it. Replies are bounded in bytes.
 * A member that comes back to life is exchanged with first ({@link #prioritize}), so that replicas
 * agree soon after a partition heals. Not thread-safe: one driver thread calls it.
 */
public final class AntiEntropy {

  private static final Logger log = LoggerFactory.getLogger(AntiEntropy.class);

  public enum Phase { ROOT, BRANCH, SEGMENTS, REPAIR, STREAM, DONE }

  /**
   * Hears when this node's exchanges start and end (the cluster epoch's barrier, docs/lifecycle.md,
   * counts the complete ones). An exchange is complete when this node ended it holding every state
   * the peer held when it began: the roots matched, or every differing key was fetched and merged.
   */
  public interface Listener {
    Listener NONE = new Listener() {};

    default void started(NodeId peer) {}

    /** {@code matched}: the roots were equal, so the peer also holds everything this node holds. */
    default void finished(NodeId peer, boolean complete, boolean matched) {}
  }

  /** How the last exchange with a peer ended. */
  public record Outcome(NodeId peer, String address, long endedAtMillis, boolean matched, int segmentsDifferent,
      int keysRepaired, int keysPushed, String detail, long keysReceived, long bytesReceived, long tookMs) {}

  /**
   * Where the exchange under way is: the differing segments it found and has left, the keys and
   * bytes of states it took in, since when. {@code streaming}: most of the tree differed, so it
   * fetches whole segments instead of comparing keys (a node that joined empty, or was away long).
   */
  public record Progress(NodeId peer, String address, boolean streaming, int segmentsTotal, int segmentsLeft,
      long keysReceived, long bytesReceived, long startedAtMillis) {}

  /**
   * Segments one stream request names at most: the request stays small (4 bytes a segment) and
   * the answer is bounded by bytes anyway.
   */
  static final int STREAM_SEGMENTS_PER_REQUEST = 4_096;
  /**
   * Fewest differing segments (or half the tree, if smaller) for which the side that holds
   * nothing in most of them streams them, and the other leaves it to: below, the precise path
   * costs a few listing rounds at most (64 segments a round by default).
   */
  static final int STREAM_SEGMENTS_MIN = 256;
  /** Stream answers being merged at most while the next is asked for: one in the network, one on disk. */
  private static final int STREAM_MERGES_MAX = 2;
  /** A stream answer smaller than this waits for the budget instead: tiny answers cost more than they carry. */
  static final int STREAM_CHUNK_MIN = 64 << 10;
  /** Longest a responder tells an initiator to wait for its budget. */
  static final int RETRY_MAX_MS = 1_000;

  private final NodeId self;
  private final AntiEntropyConfig config;
  private final Clock clock;
  private final Random random;
  private final Transport transport;
  private final Supplier<List<Member>> peers;
  private final Function<NodeId, Member> members;
  private final Replica replica;
  private final StorageRunner storage;
  private final Responder responder;
  private Listener listener = Listener.NONE;
  /** What this node sends in answers to catch-up streams, and takes in from its own. */
  private final Budget outbound;
  private final Budget inbound;
  /**
   * Peers this node found emptier than itself in most differing segments and that asked it for a
   * stream since, with when they last did: they are catching up from it. At most one entry per
   * member; an entry leaves an exchange timeout after the peer's last request.
   */
  private final Map<NodeId, Long> streamingFromHere = new HashMap<>();
  /** Peers the last exchange with found emptier (see above): only those are left to stream. */
  private final java.util.Set<NodeId> foundEmptier = new java.util.HashSet<>();

  private long nextExchangeAt;
  private long exchangeIds;
  private Exchange current;
  private final Map<NodeId, Outcome> lastByPeer = new TreeMap<>();
  /** Peers to exchange with next, before the random choice: members that just came back. */
  private final ArrayDeque<NodeId> prioritized = new ArrayDeque<>();

  private long exchangesRun;
  private long exchangesMatched;
  private long segmentsDifferent;
  private final Responder.Counters counters = new Responder.Counters();

  /** Answers only the peers it exchanges with: for tests of one exchange. */
  public AntiEntropy(NodeId self, AntiEntropyConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, Replica replica, StorageRunner storage) {
    this(self, config, clock, random, transport, peers, id -> Member.find(peers.get(), id).orElse(null), replica,
        storage);
  }

  /**
   * @param peers whom to start exchanges with
   * @param members who a request came from, in any state: a request is answered even from a member
   *     this node still holds dead (after a partition heals, one side learns first), else its
   *     exchange would wait out the timeout
   */
  public AntiEntropy(NodeId self, AntiEntropyConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, Function<NodeId, Member> members, Replica replica, StorageRunner storage) {
    this.self = self;
    this.members = members;
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.peers = peers;
    this.replica = replica;
    this.storage = storage;
    this.nextExchangeAt = clock.millis() + config.intervalMs();
    this.outbound = new Budget(config.rateBytesPerSecond(), clock.millis());
    this.inbound = new Budget(config.rateBytesPerSecond(), clock.millis());
    this.responder = new Responder(self, config, clock, transport, members, replica, storage, outbound,
        streamingFromHere, foundEmptier, counters);
  }

  public void setListener(Listener listener) {
    this.listener = listener;
  }

  /** One exchange this node started. */
  private final class Exchange {
    final long id;
    final Member peer;
    final long startedAt;
    Phase phase = Phase.ROOT;
    int level;
    int[] asked = new int[0];
    int segmentsFound;
    int pushed;
    /** More differs than this exchange could carry (its caps cut it short): another follows at once. */
    boolean truncated;
    /** The differing segments the descent found, in order; those before {@code next} are done. */
    int[] queue = new int[0];
    int next;
    boolean streaming;
    /** Streaming: where the next request resumes in {@code queue[next]}; the request in flight. */
    ByteString resumeAfter = ByteString.EMPTY;
    int[] inFlight;
    boolean requestOutstanding;
    int mergesPending;
    long retryAt;
    long keysIn;
    long bytesIn;
    int repaired;
    long lastActivity;

    Exchange(long id, Member peer, long startedAt) {
      this.id = id;
      this.peer = peer;
      this.startedAt = startedAt;
      this.lastActivity = startedAt;
    }

    boolean withinBudget(long now) {
      return bytesIn < config.exchangeBytesMax() && now - startedAt < config.exchangeMsMax();
    }
  }

  // ---------------------------------------------------------------- timers

  public void tick() {
    long now = clock.millis();
    List<Member> live = peers.get();
    if (current != null && (now - current.lastActivity >= config.exchangeTimeoutMs()
        || now - current.startedAt >= config.exchangeMsMax() + config.exchangeTimeoutMs())) {
      finish(false, false, current.repaired, "timed out in phase " + current.phase.name().toLowerCase());
    } else if (current != null && Member.find(live, current.peer.id()).isEmpty()) {
      // Waiting out the timeout for a peer that is gone would hold up the exchange with a member
      // that comes back (after a partition heals, the first thing to do).
      finish(false, false, current.repaired, "the peer became unreachable in phase " + current.phase.name().toLowerCase());
    }
    if (current != null) {
      if (current.phase == Phase.STREAM && current.retryAt > 0 && now >= current.retryAt) {
        current.retryAt = 0;
        requestStream();
      }
      return;
    }
    List<Member> candidates = withoutPeersCatchingUpHere(live, now);
    Member next = nextPrioritized(candidates);
    if (next != null) {
      start(next, now);
    } else if (now >= nextExchangeAt && !candidates.isEmpty()) {
      start(candidates.get(random.nextInt(candidates.size())), now);
    }
    if (current != null) {
      nextExchangeAt = now + config.intervalMs();
    }
  }

  /**
   * {@code live} without the peers this node found emptier than itself and that streamed from it
   * within an exchange timeout: they are catching up from it, and an exchange started from here
   * would only find them behind and end (after the whole descent, 16,384 level-0 hashes a time at
   * the default tree size). A peer that streams without having been found emptier (both sides
   * took writes the other lacks) is not skipped: this node's exchanges bring its writes here.
   */
  private List<Member> withoutPeersCatchingUpHere(List<Member> live, long now) {
    if (streamingFromHere.isEmpty()) {
      return live;
    }
    streamingFromHere.values().removeIf(at -> now - at >= config.exchangeTimeoutMs());
    List<Member> out = new ArrayList<>(live.size());
    for (Member m : live) {
      if (!streamingFromHere.containsKey(m.id())) {
        out.add(m);
      }
    }
    return out;
  }

  /** Exchanges with {@code peer} as soon as no other exchange runs: it came back after being cut off. */
  public void prioritize(NodeId peer) {
    if (!prioritized.contains(peer) && prioritized.size() < PRIORITIZED_MAX) {
      prioritized.add(peer);
    }
  }

  /** Revived members waiting for an exchange at most; more wait for the random choice. */
  private static final int PRIORITIZED_MAX = 64;

  private Member nextPrioritized(List<Member> live) {
    while (!prioritized.isEmpty()) {
      Optional<Member> m = Member.find(live, prioritized.poll());
      if (m.isPresent()) {
        return m.get();
      }
    }
    return null;
  }

  /** Starts an exchange with {@code peer} now (tests call it directly). */
  public void start(Member peer, long now) {
    current = new Exchange(++exchangeIds, peer, now);
    exchangesRun++;
    listener.started(peer.id());
    current.level = replica.tree().depth();
    current.asked = new int[] {0};
    send(new AeHashes(self, current.id, current.level, current.asked));
  }

  public boolean exchanging() {
    return current != null;
  }

  // ---------------------------------------------------------------- messages

  /** Handles anti-entropy traffic; other messages are ignored. */
  public void receive(PeerMessage message) {
    switch (message.kind()) {
      case AE_HASHES -> responder.answerHashes((AeHashes) message);
      case AE_SEGMENTS -> responder.answerSegments((AeSegments) message);
      case AE_FETCH -> responder.answerFetch((AeFetch) message);
      case AE_STREAM -> responder.answerStream((AeStream) message);
      case AE_HASHES_REPLY -> onHashes((AeHashesReply) message);
      case AE_SEGMENTS_REPLY -> onSegments((AeSegmentsReply) message);
      case AE_STATES -> {
        AeStates m = (AeStates) message;
        if (m.push()) {
          responder.mergePushed(m);
        } else if (current != null && current.phase == Phase.STREAM) {
          onStreamed(m);
        } else {
          onFetched(m);
        }
      }
      default -> {
        // another protocol's
      }
    }
  }

  // ---------------------------------------------------------------- initiator

  /** What joining an answer did: keys it changed, and what to push back (null: nothing). */
  private record Joined(int changed, Responder.Outgoing pushBack) {}

  private boolean mine(long exchange, NodeId from) {
    return current != null && current.id == exchange && current.peer.id().equals(from);
  }

  private void onHashes(AeHashesReply m) {
    if (!mine(m.exchange(), m.from()) || m.level() != current.level || !Arrays.equals(m.indexes(), current.asked)
        || m.hashes().length != current.asked.length) {
      return;
    }
    long[] ours = replica.tree().level(m.level());
    List<Integer> differing = new ArrayList<>();
    int emptyHere = 0;
    int emptyThere = 0;
    for (int i = 0; i < m.indexes().length; i++) {
      int index = m.indexes()[i];
      if (ours[index] != m.hashes()[i]) {
        differing.add(index);
        emptyHere += ours[index] == 0 ? 1 : 0;
        emptyThere += m.hashes()[i] == 0 ? 1 : 0;
      }
    }
    if (differing.isEmpty()) {
      // A root match: the replicas agree. Deeper, a match means the difference seen above was a
      // timing race that has since resolved.
      finish(current.phase == Phase.ROOT, true, 0,
          current.phase == Phase.ROOT ? "roots match" : "differences resolved");
      return;
    }
    if (m.level() == 0) {
      current.segmentsFound = differing.size();
      segmentsDifferent += differing.size();
      current.queue = differing.stream().mapToInt(Integer::intValue).toArray();
      // Most of the tree differs (a node that joined empty, or was away long), or most of the
      // many differing segments are empty here (the rest of a catch-up cut by its caps): fetch
      // whole segments, as a sequential read, instead of comparing key lists first.
      int segments = replica.tree().segments();
      boolean many = differing.size() >= Math.min(STREAM_SEGMENTS_MIN, segments / 2);
      current.streaming = 2L * differing.size() > segments || (many && 2L * emptyHere > differing.size());
      if (many && 2L * emptyThere > differing.size() && emptyThere > emptyHere) {
        // The peer holds nothing in most of them: it is the one catching up, and streams them
        // from this node in its own exchanges. Streaming back, or pushing, would send it its own
        // keys again and have this node merge what it already holds; what it holds that this
        // node lacks comes once it is no longer the emptier side.
        foundEmptier.add(current.peer.id());
        finish(false, false, 0, "the peer holds nothing in " + emptyThere + " of the " + differing.size()
            + " differing segments (this node in " + emptyHere + "): it catches up from this node");
        return;
      }
      foundEmptier.remove(current.peer.id());
      streamingFromHere.remove(current.peer.id());
      if (current.streaming) {
        current.phase = Phase.STREAM;
        requestStream();
      } else {
        listNextSegments();
      }
      return;
    }
    current.phase = Phase.BRANCH;
    current.level = m.level() - 1;
    int width = replica.tree().width(current.level);
    List<Integer> children = new ArrayList<>();
    for (int parent : differing) {
      for (int c = parent * MerkleTree.FANOUT; c < Math.min(width, (parent + 1) * MerkleTree.FANOUT); c++) {
        children.add(c);
      }
    }
    current.asked = children.stream().mapToInt(Integer::intValue).toArray();
    send(new AeHashes(self, current.id, current.level, current.asked));
  }

  /** What to repair, found by comparing the peer's listing with ours: the keys to fetch, the states to push. */
  private record Diff(List<ByteString> fetch, List<KeyState> push, boolean full, long pushBytes,
      List<SetSummary> summaries) {}

  /** The next segments of the queue, listed whole: the precise path, for differences that are few. */
  private void listNextSegments() {
    Exchange x = current;
    int n = Math.min(config.segmentsPerExchangeMax(), x.queue.length - x.next);
    x.phase = Phase.SEGMENTS;
    x.asked = Arrays.copyOfRange(x.queue, x.next, x.next + n);
    send(new AeSegments(self, x.id, x.asked));
  }

  /** After a repair: the next segments while the exchange has budget left, or the end. */
  private void continueOrFinish(Exchange x, String detail) {
    if (x.next < x.queue.length && !x.truncated && x.withinBudget(clock.millis())) {
      listNextSegments();
      return;
    }
    x.truncated |= x.next < x.queue.length;
    finish(false, !x.truncated, x.repaired, detail);
  }

  private void onSegments(AeSegmentsReply m) {
    if (!mine(m.exchange(), m.from()) || current.phase != Phase.SEGMENTS || !subsetOf(m.segments(), current.asked)) {
      return;
    }
    Exchange exchange = current;
    exchange.lastActivity = clock.millis();
    exchange.phase = Phase.REPAIR;
    exchange.next += m.segments().length; // the listing is a prefix of what was asked
    storage.run(() -> diff(m), (diff, failure) -> {
      if (current != exchange) {
        return; // timed out meanwhile
      }
      if (failure != null) {
        finish(false, false, 0, "local listing failed: " + failure.getMessage());
        return;
      }
      exchange.truncated |= diff.full();
      // Pushes keep to the sending budget: without it they wait, since the peer's own exchanges pull them.
      if (!diff.push().isEmpty() && outbound.available(clock.millis()) >= diff.pushBytes()) {
        outbound.spend(diff.pushBytes());
        exchange.pushed = diff.push().size();
        counters.statesSent += diff.push().size();
        send(new AeStates(self, exchange.id, diff.push(), true));
      } else if (!diff.push().isEmpty()) {
        exchange.truncated = true; // what it did not push, a later exchange does
      }
      if (diff.fetch().isEmpty() && diff.summaries().isEmpty()) {
        continueOrFinish(exchange, "pushed " + exchange.pushed + " keys");
      } else {
        send(new AeFetch(self, exchange.id, diff.fetch(), diff.summaries()));
      }
    });
  }

  private static boolean subsetOf(int[] segments, int[] asked) {
    int[] sorted = asked.clone();
    Arrays.sort(sorted);
    for (int s : segments) {
      if (Arrays.binarySearch(sorted, s) < 0) {
        return false;
      }
    }
    return true;
  }

  /** Compares the listed segments with ours. Runs on a storage thread. */
  private Diff diff(AeSegmentsReply m) {
    Map<ByteString, Long> theirs = new HashMap<>();
    for (KeyDigest kd : m.entries()) {
      theirs.put(kd.key(), kd.digest());
    }
    Map<ByteString, Long> ours = new HashMap<>();
    // Our side of every segment the peer listed whole (it may hold none of some of them).
    for (int segment : m.segments()) {
      for (KeyDigest kd : replica.segmentEntries(segment)) {
        ours.put(kd.key(), kd.digest());
      }
    }
    List<ByteString> fetch = new ArrayList<>();
    List<ByteString> push = new ArrayList<>();
    int budget = config.keysPerExchangeMax();
    for (Map.Entry<ByteString, Long> e : theirs.entrySet()) {
      Long mine = ours.get(e.getKey());
      if ((mine == null || !mine.equals(e.getValue())) && budget-- > 0) {
        fetch.add(e.getKey());
        if (mine != null) {
          push.add(e.getKey()); // both differ: each side gets the other's state, merge is a join
        }
      }
    }
    for (Map.Entry<ByteString, Long> e : ours.entrySet()) {
      if (!theirs.containsKey(e.getKey()) && budget-- > 0) {
        push.add(e.getKey());
      }
    }
    // Large sets both hold go by buckets, not whole (SetExchange).
    List<SetSummary> summaries = new ArrayList<>();
    boolean more = false;
    for (java.util.Iterator<ByteString> it = fetch.iterator(); it.hasNext(); ) {
      ByteString key = it.next();
      if (!ours.containsKey(key)) {
        continue;
      }
      Optional<io.latticekv.core.crdt.SetRepair.Source> set = replica.plainSet(key);
      if (set.isEmpty() || set.get().size() < io.latticekv.core.crdt.SetRepair.ELEMENTS_MIN) {
        continue;
      }
      it.remove();
      push.remove(key);
      if (summaries.size() < SetExchange.SUMMARIES_MAX) {
        summaries.add(SetExchange.summary(key, set.get()));
      } else {
        more = true; // the next exchange compares it (its hashes are not computed for nothing)
      }
    }
    Responder.States pushed = push.isEmpty() ? new Responder.States(List.of(), false, 0) : responder.statesOf(push);
    return new Diff(fetch, pushed.states(), budget < 0 || more, pushed.bytes(), summaries);
  }

  private void onFetched(AeStates m) {
    if (!mine(m.exchange(), m.from()) || current.phase != Phase.REPAIR) {
      return;
    }
    if (m.states().size() > config.keysPerExchangeMax()) {
      finish(false, false, 0, "the peer sent " + m.states().size() + " states, more than asked");
      return;
    }
    if (m.parts().size() > SetExchange.SUMMARIES_MAX || m.wholeWanted().size() > SetExchange.SUMMARIES_MAX) {
      finish(false, false, 0, "the peer sent " + m.parts().size() + " set parts and asked " + m.wholeWanted().size()
          + " keys back, more than it was asked about");
      return;
    }
    Exchange exchange = current;
    exchange.lastActivity = clock.millis();
    storage.run(() -> {
      int changed = Responder.count(replica.mergeAll(m.states())) + Responder.count(replica.mergeParts(m.parts()));
      SetExchange.PushBack back = SetExchange.pushBack(replica, m.parts());
      List<ByteString> keys = new ArrayList<>(m.wholeWanted());
      keys.addAll(back.whole());
      Responder.States whole = responder.statesOf(keys);
      return new Joined(changed, whole.states().isEmpty() && back.parts().isEmpty() ? null : new Responder.Outgoing(
          new AeStates(self, exchange.id, whole.states(), back.parts(), true, false, List.of()),
          whole.bytes() + back.bytes()));
    }, (joined, failure) -> {
      if (current != exchange) {
        return;
      }
      if (failure != null) {
        finish(false, false, exchange.repaired, "merging the fetched states failed: " + failure.getMessage());
        return;
      }
      if (joined.pushBack() != null) {
        Responder.Outgoing back = joined.pushBack();
        outbound.spend(back.bytes());
        counters.statesSent += back.message().states().size() + back.message().parts().size();
        counters.setPartsSent += back.message().parts().size();
        exchange.pushed += back.message().states().size() + back.message().parts().size();
        send(back.message());
      }
      int repaired = joined.changed();
      counters.keysRepaired += repaired;
      exchange.repaired += repaired;
      exchange.keysIn += m.states().size();
      exchange.truncated |= m.partial();
      continueOrFinish(exchange, "repaired " + exchange.repaired + " keys here, pushed " + exchange.pushed
          + (m.partial() ? " (an answer was cut)" : ""));
    });
  }

  private void send(PeerMessage message) {
    transport.send(current.peer.address(), message);
  }

  // ---------------------------------------------------------------- catch-up streams

  /** Asks for the next whole segments, within the exchange's and this node's budgets, or ends. */
  private void requestStream() {
    Exchange x = current;
    long now = clock.millis();
    if (x == null || x.phase != Phase.STREAM) {
      return; // ended meanwhile (a merge that completed at once may have finished it)
    }
    if (x.requestOutstanding || x.mergesPending >= STREAM_MERGES_MAX) {
      return;
    }
    if (x.next >= x.queue.length || !x.withinBudget(now)) {
      if (x.mergesPending == 0) {
        x.truncated |= x.next < x.queue.length;
        finish(false, !x.truncated, x.repaired, "streamed " + x.keysIn + " keys (" + x.bytesIn + " bytes) of "
            + x.queue.length + " segments, " + x.repaired + " changed here");
      }
      return;
    }
    long wait = inbound.msUntil(STREAM_CHUNK_MIN, now);
    if (wait > 0) {
      x.retryAt = now + wait; // this node's own intake budget is spent: the tick asks again
      return;
    }
    int n = Math.min(STREAM_SEGMENTS_PER_REQUEST, x.queue.length - x.next);
    x.inFlight = Arrays.copyOfRange(x.queue, x.next, x.next + n);
    x.requestOutstanding = true;
    send(new AeStream(self, x.id, x.inFlight, x.resumeAfter, true));
  }

  private void onStreamed(AeStates m) {
    Exchange x = current;
    if (!mine(m.exchange(), m.from()) || !x.requestOutstanding) {
      return;
    }
    long now = clock.millis();
    x.requestOutstanding = false;
    x.lastActivity = now;
    if (m.retryAfterMs() > 0 && m.empty()) {
      x.retryAt = now + Math.min(m.retryAfterMs(), RETRY_MAX_MS); // the peer's budget is spent
      return;
    }
    if (m.partial() && (m.resumeIndex() < 0 || m.resumeIndex() >= x.inFlight.length)) {
      finish(false, false, x.repaired, "the peer resumed a stream at segment " + m.resumeIndex() + " of "
          + x.inFlight.length);
      return;
    }
    if (m.partial()) {
      x.next += m.resumeIndex();
      x.resumeAfter = m.resumeAfter();
    } else {
      x.next += x.inFlight.length;
      x.resumeAfter = ByteString.EMPTY;
    }
    x.mergesPending++;
    List<KeyState> states = m.states();
    List<StoredState> stored = m.stored();
    int received = states.size() + stored.size();
    // Stored states are counted here, as the responder would; decoded ones (from a peer that does
    // not send stored states) as the responder says: only this node's budget and progress rely on it.
    long bytes = stored.isEmpty() ? m.streamBytes() : storedBytes(stored);
    inbound.spend(bytes);
    storage.run(() -> (stored.isEmpty() ? 0 : Responder.count(replica.mergeStored(stored)))
        + (states.isEmpty() ? 0 : Responder.count(replica.mergeAll(states))), (changed, failure) -> {
      x.mergesPending--;
      if (current != x) {
        return;
      }
      if (failure != null) {
        finish(false, false, x.repaired, "merging streamed states failed: " + failure.getMessage());
        return;
      }
      x.lastActivity = clock.millis();
      x.repaired += changed;
      counters.keysRepaired += changed;
      x.keysIn += received;
      x.bytesIn += bytes;
      requestStream();
    });
    requestStream(); // the next batch travels while this one is merged
  }

  private static long storedBytes(List<StoredState> stored) {
    long bytes = 0;
    for (StoredState st : stored) {
      bytes += st.key().size() + st.value().size();
    }
    return bytes;
  }

  /** The exchange under way, when it found differing segments; null otherwise. */
  public Progress progress() {
    Exchange x = current;
    if (x == null || x.queue.length == 0) {
      return null;
    }
    return new Progress(x.peer.id(), x.peer.address(), x.streaming, x.queue.length, x.queue.length - x.next, x.keysIn,
        x.bytesIn, x.startedAt);
  }

  /** Bytes of states this node sent in answers, stream answers and pushes, since start: what its budget governs. */
  public long stateBytesSent() {
    return outbound.spent();
  }


  private void finish(boolean matched, boolean complete, int repaired, String detail) {
    Exchange done = current;
    current = null;
    listener.finished(done.peer.id(), complete, matched);
    if (matched) {
      exchangesMatched++;
    }
    if (done.truncated) {
      // Known differences were left for later: go on with the same peer now, not at the next
      // interval, so a node far behind catches up at the speed of exchanges.
      prioritized.remove(done.peer.id());
      prioritized.addFirst(done.peer.id());
    }
    lastByPeer.put(done.peer.id(), new Outcome(done.peer.id(), done.peer.address(), clock.millis(), matched,
        done.segmentsFound, repaired, done.pushed, detail, done.keysIn, done.bytesIn, clock.millis() - done.startedAt));
  }

  // ---------------------------------------------------------------- stats

  /** The last exchange this node started with each peer. */
  public List<Outcome> lastExchanges() {
    return new ArrayList<>(lastByPeer.values());
  }

  public long exchangesRun() {
    return exchangesRun;
  }

  public long exchangesMatched() {
    return exchangesMatched;
  }

  public long segmentsDifferent() {
    return segmentsDifferent;
  }

  /** Keys whose state changed here because of anti-entropy, as initiator or responder. */
  public long keysRepaired() {
    return counters.keysRepaired;
  }

  public long statesSent() {
    return counters.statesSent;
  }

  /** Parts of large sets sent: keys repaired by buckets instead of whole. */
  public long setPartsSent() {
    return counters.setPartsSent;
  }

  /** Requests from peers dropped because no correct peer sends them (out of range, over a cap). */
  public long requestsRefused() {
    return counters.requestsRefused;
  }
}
