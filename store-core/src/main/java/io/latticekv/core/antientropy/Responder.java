package io.latticekv.core.antientropy;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.Crdt;
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
import io.latticekv.core.transport.PeerMessage.StoredState;
import io.latticekv.core.transport.Transport;
import io.latticekv.core.util.RateLimitedLog;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The responder's half of anti-entropy ({@link AntiEntropy}): it answers hashes, segment listings,
 * fetches and catch-up streams from the replica as it is, and merges what peers push. It keeps no
 * state of an exchange; every request is checked against the local tree and this node's caps
 * before any work, and one no correct peer sends is dropped with a log line per interval.
 */
final class Responder {

  private static final Logger log = LoggerFactory.getLogger(AntiEntropy.class);

  /** What both halves count, on the protocol thread. */
  static final class Counters {
    long keysRepaired;
    long statesSent;
    /** Parts of large sets sent (answers and pushes back): repairs by buckets, not whole sets. */
    long setPartsSent;
    long requestsRefused;
  }

  private final NodeId self;
  private final AntiEntropyConfig config;
  private final Clock clock;
  private final Transport transport;
  private final Function<NodeId, Member> members;
  private final Replica replica;
  private final StorageRunner storage;
  private final RateLimitedLog hostile;
  private final Budget outbound;
  private final Map<NodeId, Long> streamingFromHere;
  private final Set<NodeId> foundEmptier;
  private final Counters counters;

  /**
   * @param streamingFromHere peers catching up from this node (a stream request from one it found
   *     emptier enters it), shared with the initiator's half
   */
  Responder(NodeId self, AntiEntropyConfig config, Clock clock, Transport transport, Function<NodeId, Member> members,
      Replica replica, StorageRunner storage, Budget outbound, Map<NodeId, Long> streamingFromHere,
      Set<NodeId> foundEmptier, Counters counters) {
    this.self = self;
    this.config = config;
    this.clock = clock;
    this.transport = transport;
    this.members = members;
    this.replica = replica;
    this.storage = storage;
    this.hostile = new RateLimitedLog(log, clock, 10_000);
    this.outbound = outbound;
    this.streamingFromHere = streamingFromHere;
    this.foundEmptier = foundEmptier;
    this.counters = counters;
  }

  private void reply(NodeId to, PeerMessage message) {
    Member m = members.apply(to);
    if (m != null && m.status() != io.latticekv.core.membership.MemberStatus.LEFT) {
      transport.send(m.address(), message);
    }
  }

  /** Drops a request no correct peer sends, with a log line per interval. */
  private void refuse(PeerMessage m, String why) {
    counters.requestsRefused++;
    hostile.warn(m.kind().name(), "refused an anti-entropy request from {}: {}", m.from(), why);
  }

  void answerHashes(AeHashes m) {
    MerkleTree tree = replica.tree();
    if (m.level() < 0 || m.level() > tree.depth()) {
      refuse(m, "level " + Integer.toUnsignedString(m.level()) + " outside 0.." + tree.depth());
      return;
    }
    int width = tree.width(m.level());
    if (m.indexes().length > width) {
      refuse(m, m.indexes().length + " indexes at a level of " + width + " nodes");
      return;
    }
    for (int index : m.indexes()) {
      if (index < 0 || index >= width) {
        refuse(m, "index " + Integer.toUnsignedString(index) + " outside level " + m.level() + " of " + width + " nodes");
        return;
      }
    }
    long[] level = tree.level(m.level());
    long[] hashes = new long[m.indexes().length];
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = level[m.indexes()[i]];
    }
    reply(m.from(), new AeHashesReply(self, m.exchange(), m.level(), m.indexes(), hashes));
  }

  void answerSegments(AeSegments m) {
    int segments = replica.tree().segments();
    if (m.segments().length > config.segmentsPerExchangeMax()) {
      refuse(m, m.segments().length + " segments; an exchange lists at most " + config.segmentsPerExchangeMax());
      return;
    }
    int[] asked = m.segments().clone();
    Arrays.sort(asked);
    for (int i = 0; i < asked.length; i++) {
      if (asked[i] < 0 || asked[i] >= segments || (i > 0 && asked[i] == asked[i - 1])) {
        refuse(m, "segment " + Integer.toUnsignedString(asked[i]) + " out of range or asked twice");
        return;
      }
    }
    storage.run(() -> listSegments(asked), (listing, failure) -> {
      if (failure != null) {
        log.debug("anti-entropy: cannot list segments for {}: {}", m.from(), failure.getMessage());
        return;
      }
      reply(m.from(), new AeSegmentsReply(self, m.exchange(), listing.segments(), listing.entries()));
    });
  }

  private record Listing(int[] segments, List<KeyDigest> entries) {}

  /**
   * The entries of {@code asked}, whole segments only, stopping before the one that would take the
   * listing past the message byte limit (the first is always listed). Runs on a storage thread.
   */
  private Listing listSegments(int[] asked) {
    List<KeyDigest> entries = new ArrayList<>();
    int listed = 0;
    long bytes = 0;
    for (int segment : asked) {
      List<KeyDigest> in = replica.segmentEntries(segment);
      long size = 0;
      for (KeyDigest kd : in) {
        size += kd.key().size() + Long.BYTES;
      }
      if (listed > 0 && bytes + size > config.bytesPerMessageMax()) {
        break;
      }
      bytes += size;
      entries.addAll(in);
      listed++;
    }
    return new Listing(Arrays.copyOf(asked, listed), entries);
  }

  void answerFetch(AeFetch m) {
    if (m.keys().size() > config.keysPerExchangeMax() || m.summaries().size() > SetExchange.SUMMARIES_MAX) {
      refuse(m, m.keys().size() + " keys and " + m.summaries().size() + " set summaries; an exchange repairs at most "
          + config.keysPerExchangeMax() + " keys, " + SetExchange.SUMMARIES_MAX + " of them large sets by buckets");
      return;
    }
    storage.run(() -> {
      SetExchange.Answer sets = SetExchange.answer(replica, m.summaries());
      List<ByteString> keys = new ArrayList<>(m.keys());
      keys.addAll(sets.whole());
      States states = statesOf(keys);
      return new Outgoing(new AeStates(self, m.exchange(), states.states(), sets.parts(), false, states.partial(),
          sets.whole()), states.bytes() + sets.bytes());
    }, (answer, failure) -> {
      if (failure != null) {
        log.debug("anti-entropy: cannot read states for {}: {}", m.from(), failure.getMessage());
        return;
      }
      counters.statesSent += answer.message().states().size() + answer.message().parts().size();
      counters.setPartsSent += answer.message().parts().size();
      outbound.spend(answer.bytes()); // answers count against the budget too (they are not refused for it)
      reply(m.from(), answer.message());
    });
  }

  void mergePushed(AeStates m) {
    if (m.states().size() > config.keysPerExchangeMax() || m.parts().size() > SetExchange.SUMMARIES_MAX) {
      refuse(m, m.states().size() + " states and " + m.parts().size() + " set parts; an exchange repairs at most "
          + config.keysPerExchangeMax() + ", " + SetExchange.SUMMARIES_MAX + " of them large sets by buckets");
      return;
    }
    storage.run(() -> count(replica.mergeAll(m.states())) + count(replica.mergeParts(m.parts())), (changed, failure) -> {
      if (failure == null) {
        counters.keysRepaired += changed;
      } else {
        log.debug("anti-entropy: cannot merge states from {}: {}", m.from(), failure.getMessage());
      }
    });
  }

  /** A message built on a storage thread, with the bytes of state it carries, sent from the protocol's. */
  record Outgoing(AeStates message, long bytes) {}


  /** States read for an answer; {@code partial} when the byte limit left some out. */
  record States(List<KeyState> states, boolean partial, long bytes) {}

  /** The states of {@code keys} this node holds, up to the message byte limit. Runs on a storage thread. */
  States statesOf(List<ByteString> keys) {
    List<KeyState> states = new ArrayList<>();
    long bytes = 0;
    for (ByteString key : keys) {
      Optional<Crdt<?>> state = replica.get(key);
      if (state.isEmpty()) {
        continue;
      }
      int size = state.get().encode().length + key.size();
      if (bytes + size > config.bytesPerMessageMax() && !states.isEmpty()) {
        return new States(states, true, bytes); // the rest in a later exchange
      }
      bytes += size;
      states.add(new KeyState(key, state.get()));
    }
    return new States(states, false, bytes);
  }

  static int count(boolean[] changed) {
    int n = 0;
    for (boolean c : changed) {
      if (c) {
        n++;
      }
    }
    return n;
  }


  /** Answers a catch-up stream: whole segments from the resume point, within this node's sending budget. */
  void answerStream(AeStream m) {
    int segments = replica.tree().segments();
    if (m.segments().length == 0 || m.segments().length > AntiEntropy.STREAM_SEGMENTS_PER_REQUEST) {
      refuse(m, m.segments().length + " segments; a stream request names 1 to " + AntiEntropy.STREAM_SEGMENTS_PER_REQUEST);
      return;
    }
    for (int i = 0; i < m.segments().length; i++) {
      int seg = m.segments()[i];
      if (seg < 0 || seg >= segments || (i > 0 && seg <= m.segments()[i - 1])) {
        refuse(m, "segment " + Integer.toUnsignedString(seg) + " out of range or out of order");
        return;
      }
    }
    long now = clock.millis();
    if (foundEmptier.contains(m.from()) && members.apply(m.from()) != null) {
      streamingFromHere.put(m.from(), now);
    }
    long wait = outbound.msUntil(AntiEntropy.STREAM_CHUNK_MIN, now);
    if (wait > 0) {
      reply(m.from(), new AeStates(self, m.exchange(), List.of(), false, true, 0, m.resumeAfter(),
          (int) Math.max(1, Math.min(wait, AntiEntropy.RETRY_MAX_MS)), 0, List.of()));
      return;
    }
    int maxBytes = (int) Math.min(config.bytesPerMessageMax(), outbound.available(now));
    // A list of a peer message holds at most as many entries as the tree has segments (the codec's
    // limit, the same on both sides): so many states at most, however small.
    int maxStates = segments;
    // Stored states pass through undecoded; a peer that did not ask for them gets decoded ones,
    // decoded here on the storage thread (the callback runs on the protocol thread).
    storage.run(() -> {
      Replica.StreamChunk read = replica.streamStates(m.segments(), m.resumeAfter(), maxBytes, maxStates);
      return Map.entry(read, m.stored() ? List.<KeyState>of() : decode(read.states()));
    }, (answer, failure) -> {
      if (failure != null) {
        log.debug("anti-entropy: cannot stream segments for {}: {}", m.from(), failure.getMessage());
        return;
      }
      Replica.StreamChunk chunk = answer.getKey();
      List<KeyState> decoded = answer.getValue();
      outbound.spend(chunk.bytes());
      counters.statesSent += chunk.states().size();
      reply(m.from(), new AeStates(self, m.exchange(), decoded, false, !chunk.done(),
          chunk.done() ? 0 : chunk.resumeIndex(), chunk.done() ? ByteString.EMPTY : chunk.resumeAfter(), 0,
          chunk.bytes(), m.stored() ? chunk.states() : List.of()));
    });
  }


  static List<KeyState> decode(List<StoredState> stored) {
    List<KeyState> states = new ArrayList<>(stored.size());
    for (StoredState st : stored) {
      try {
        states.add(st.decode());
      } catch (io.latticekv.core.crdt.CrdtDecodeException e) {
        log.error("catch-up: stored value of key {} is damaged: {}", io.latticekv.core.storage.Store.printable(st.key()),
            e.getMessage());
      }
    }
    return states;
  }
}
