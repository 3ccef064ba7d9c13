package io.latticekv.core.antientropy;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.AeFetch;
import io.latticekv.core.transport.PeerMessage.AeHashes;
import io.latticekv.core.transport.PeerMessage.AeHashesReply;
import io.latticekv.core.transport.PeerMessage.AeSegments;
import io.latticekv.core.transport.PeerMessage.AeSegmentsReply;
import io.latticekv.core.transport.PeerMessage.AeStates;
import io.latticekv.core.transport.PeerMessage.KeyDigest;
import io.latticekv.core.transport.PeerMessage.KeyState;
import io.latticekv.core.transport.Transport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;

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
 * and store. Not thread-safe: one driver thread calls it.
 */
public final class AntiEntropy {

  /** The local replica as anti-entropy sees it. */
  public interface Replica {
    MerkleTree tree();

    /** Keys and digests of one segment, sorted by key. */
    List<KeyDigest> segmentEntries(int segment);

    Optional<Crdt<?>> get(ByteString key);

    /** Joins {@code state} into the key; true when that changed the local state. */
    boolean merge(ByteString key, Crdt<?> state);
  }

  public enum Phase { ROOT, BRANCH, SEGMENTS, REPAIR, DONE }

  /** How the last exchange with a peer ended. */
  public record Outcome(NodeId peer, String address, long endedAtMillis, boolean matched, int segmentsDifferent,
      int keysRepaired, int keysPushed, String detail) {}

  private final NodeId self;
  private final AntiEntropyConfig config;
  private final Clock clock;
  private final Random random;
  private final Transport transport;
  private final Supplier<List<Member>> peers;
  private final Replica replica;

  private long nextExchangeAt;
  private long exchangeIds;
  private Exchange current;
  private final Map<NodeId, Outcome> lastByPeer = new TreeMap<>();

  private long exchangesRun;
  private long exchangesMatched;
  private long segmentsDifferent;
  private long keysRepaired;
  private long statesSent;

  public AntiEntropy(NodeId self, AntiEntropyConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, Replica replica) {
    this.self = self;
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.peers = peers;
    this.replica = replica;
    this.nextExchangeAt = clock.millis() + config.intervalMs();
  }

  /** One exchange this node started. */
  private final class Exchange {
    final long id;
    final Member peer;
    final long startedAt;
    Phase phase = Phase.ROOT;
    int level;
    int segmentsFound;
    int[] segmentsAsked = new int[0];
    int pushed;

    Exchange(long id, Member peer, long startedAt) {
      this.id = id;
      this.peer = peer;
      this.startedAt = startedAt;
    }
  }

  // ---------------------------------------------------------------- timers

  public void tick() {
    long now = clock.millis();
    if (current != null && now - current.startedAt >= config.exchangeTimeoutMs()) {
      finish(false, 0, "timed out in phase " + current.phase.name().toLowerCase());
    }
    if (current == null && now >= nextExchangeAt) {
      nextExchangeAt = now + config.intervalMs();
      List<Member> live = peers.get();
      if (!live.isEmpty()) {
        start(live.get(random.nextInt(live.size())), now);
      }
    }
  }

  /** Starts an exchange with {@code peer} now (tests call it directly). */
  public void start(Member peer, long now) {
    current = new Exchange(++exchangeIds, peer, now);
    exchangesRun++;
    MerkleTree tree = replica.tree();
    current.level = tree.depth();
    send(new AeHashes(self, current.id, current.level, new int[] {0}));
  }

  public boolean exchanging() {
    return current != null;
  }

  // ---------------------------------------------------------------- messages

  /** Handles anti-entropy traffic; returns false for messages that are not its own. */
  public boolean receive(PeerMessage message) {
    if (message instanceof AeHashes m) {
      answerHashes(m);
    } else if (message instanceof AeSegments m) {
      answerSegments(m);
    } else if (message instanceof AeFetch m) {
      answerFetch(m);
    } else if (message instanceof AeStates m && m.push()) {
      for (KeyState ks : m.states()) {
        if (replica.merge(ks.key(), ks.state())) {
          keysRepaired++;
        }
      }
    } else if (message instanceof AeHashesReply m) {
      onHashes(m);
    } else if (message instanceof AeSegmentsReply m) {
      onSegments(m);
    } else if (message instanceof AeStates m) {
      onFetched(m);
    } else {
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- responder

  private void reply(NodeId to, PeerMessage message) {
    Member.find(peers.get(), to).ifPresent(m -> transport.send(m.address(), message));
  }

  private void answerHashes(AeHashes m) {
    long[] level = replica.tree().level(m.level());
    long[] hashes = new long[m.indexes().length];
    for (int i = 0; i < hashes.length; i++) {
      int index = m.indexes()[i];
      hashes[i] = index >= 0 && index < level.length ? level[index] : 0;
    }
    reply(m.from(), new AeHashesReply(self, m.exchange(), m.level(), m.indexes(), hashes));
  }

  private void answerSegments(AeSegments m) {
    List<KeyDigest> entries = new ArrayList<>();
    int segments = replica.tree().segments();
    for (int segment : m.segments()) {
      if (segment >= 0 && segment < segments) {
        entries.addAll(replica.segmentEntries(segment));
      }
    }
    reply(m.from(), new AeSegmentsReply(self, m.exchange(), entries));
  }

  private void answerFetch(AeFetch m) {
    reply(m.from(), new AeStates(self, m.exchange(), statesOf(m.keys()), false));
  }

  /** The states of {@code keys} this node holds, up to the message byte limit. */
  private List<KeyState> statesOf(List<ByteString> keys) {
    List<KeyState> states = new ArrayList<>();
    long bytes = 0;
    for (ByteString key : keys) {
      Optional<Crdt<?>> state = replica.get(key);
      if (state.isEmpty()) {
        continue;
      }
      int size = state.get().encode().length + key.size();
      if (bytes + size > config.bytesPerMessageMax() && !states.isEmpty()) {
        break; // the rest in a later exchange
      }
      bytes += size;
      states.add(new KeyState(key, state.get()));
    }
    statesSent += states.size();
    return states;
  }

  // ---------------------------------------------------------------- initiator

  private boolean mine(long exchange) {
    return current != null && current.id == exchange;
  }

  private void onHashes(AeHashesReply m) {
    if (!mine(m.exchange()) || m.level() != current.level) {
      return;
    }
    long[] ours = replica.tree().level(m.level());
    List<Integer> differing = new ArrayList<>();
    for (int i = 0; i < m.indexes().length; i++) {
      int index = m.indexes()[i];
      long mine = index < ours.length ? ours[index] : 0;
      if (mine != m.hashes()[i]) {
        differing.add(index);
      }
    }
    if (differing.isEmpty()) {
      // A root match: the replicas agree. Deeper, a match means the difference seen above was a
      // timing race that has since resolved.
      finish(current.phase == Phase.ROOT, 0, current.phase == Phase.ROOT ? "roots match" : "differences resolved");
      return;
    }
    if (m.level() == 0) {
      List<Integer> segments = differing.subList(0, Math.min(differing.size(), config.segmentsPerExchangeMax()));
      current.segmentsFound = differing.size();
      segmentsDifferent += differing.size();
      current.phase = Phase.SEGMENTS;
      send(new AeSegments(self, current.id, segments.stream().mapToInt(Integer::intValue).toArray()));
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
    send(new AeHashes(self, current.id, current.level, children.stream().mapToInt(Integer::intValue).toArray()));
  }

  private void onSegments(AeSegmentsReply m) {
    if (!mine(m.exchange()) || current.phase != Phase.SEGMENTS) {
      return;
    }
    Map<ByteString, Long> theirs = new HashMap<>();
    for (KeyDigest kd : m.entries()) {
      theirs.put(kd.key(), kd.digest());
    }
    Map<ByteString, Long> ours = new HashMap<>();
    // Our side of every segment we asked about (the reply may hold none of some of them).
    for (int segment : current.segmentsAsked) {
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
    current.phase = Phase.REPAIR;
    if (!push.isEmpty()) {
      List<KeyState> states = statesOf(push);
      current.pushed = states.size();
      send(new AeStates(self, current.id, states, true));
    }
    if (fetch.isEmpty()) {
      finish(false, 0, "pushed " + current.pushed + " keys");
    } else {
      send(new AeFetch(self, current.id, fetch));
    }
  }

  private void onFetched(AeStates m) {
    if (!mine(m.exchange()) || current.phase != Phase.REPAIR) {
      return;
    }
    int repaired = 0;
    for (KeyState ks : m.states()) {
      if (replica.merge(ks.key(), ks.state())) {
        repaired++;
      }
    }
    keysRepaired += repaired;
    finish(false, repaired, "repaired " + repaired + " keys here, pushed " + current.pushed);
  }

  private void send(PeerMessage message) {
    if (message instanceof AeSegments s) {
      current.segmentsAsked = s.segments();
    }
    transport.send(current.peer.address(), message);
  }

  private void finish(boolean matched, int repaired, String detail) {
    Exchange done = current;
    current = null;
    if (matched) {
      exchangesMatched++;
    }
    lastByPeer.put(done.peer.id(), new Outcome(done.peer.id(), done.peer.address(), clock.millis(), matched,
        done.segmentsFound, repaired, done.pushed, detail));
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
    return keysRepaired;
  }

  public long statesSent() {
    return statesSent;
  }
}
