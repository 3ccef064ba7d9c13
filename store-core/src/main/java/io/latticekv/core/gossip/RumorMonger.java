package io.latticekv.core.gossip;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.Member;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.core.transport.PeerMessage.Rumor;
import io.latticekv.core.transport.PeerMessage.RumorAck;
import io.latticekv.core.transport.PeerMessage.RumorBatch;
import io.latticekv.core.transport.Transport;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Rumor mongering (Demers et al., "Epidemic Algorithms for Replicated Database Maintenance",
 * 1987, section 3), push variant with feedback and a counter, as an I/O-free state machine.
 *
 * <p>The delta of every update applied at this node, by a client or by a rumor that was news
 * here, becomes a hot rumor. Each round ({@link #tick()} once per gossip interval) the node
 * pushes a batch of its hot rumors, least pushed first, to {@code fanout} random reachable peers.
 * The receiver merges each delta and answers, per rumor, whether it was news; a rumor that was
 * news there becomes hot there too. Each "not news" answer counts against the rumor; at {@code
 * feedbackLimit * fanout} of them (k rounds' worth of useless contacts) it cools. Independently of feedback it cools after a bounded number of rounds
 * (see {@link RumorConfig}), so it stops even when answers are lost. Deltas for one key waiting
 * in the queue are joined into one (they are CRDT states, so the join carries both).
 *
 * <p>What rumors miss — the residue, lost messages, nodes that were down — is anti-entropy's job.
 *
 * <p>Not thread-safe: one driver thread calls it.
 */
public final class RumorMonger {

  /** Where received deltas go: merges one into the local replica; true when it changed it. */
  public interface Sink {
    boolean apply(ByteString key, Crdt<?> delta);
  }

  /** A queued rumor and its version: the version changes whenever a newer delta is joined in. */
  private record Hot(Rumor rumor, long version, int bytes) {}

  private record Sent(ByteString key, long version) {}

  /** Batches awaiting feedback: enough for a few rounds of fanout; older ones are forgotten. */
  private static final int SENT_BATCHES_MAX = 1024;

  private final NodeId self;
  private final RumorConfig config;
  private final Random random;
  private final Transport transport;
  private final Supplier<List<Member>> peers;
  private final Sink sink;
  private final TransmitLimitedQueue<ByteString, Hot> queue;
  private final Map<ByteString, Integer> notNews = new HashMap<>();
  private final LinkedHashMap<Long, List<Sent>> sentBatches = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, List<Sent>> eldest) {
      return size() > SENT_BATCHES_MAX;
    }
  };
  private long nextVersion;
  private long nextBatch;
  private long nextRoundAt;
  private final Clock clock;

  private long rumorsSent;
  private long rumorsReceived;
  private long rumorsNew;

  public RumorMonger(NodeId self, RumorConfig config, Clock clock, Random random, Transport transport,
      Supplier<List<Member>> peers, IntSupplier clusterSize, Sink sink) {
    this.self = self;
    this.config = config;
    this.clock = clock;
    this.random = random;
    this.transport = transport;
    this.peers = peers;
    this.sink = sink;
    this.queue = new TransmitLimitedQueue<>(config.retransmitMult(), clusterSize, config.queueCapacity(), this::join);
    this.nextRoundAt = clock.millis();
  }

  private Hot join(Hot older, Hot newer) {
    Crdt<?> joined = Crdt.join(older.rumor().delta(), newer.rumor().delta());
    return new Hot(new Rumor(newer.rumor().key(), joined), newer.version(), joined.encode().length);
  }

  /** A delta this node applied: it becomes a hot rumor. */
  public void hot(ByteString key, Crdt<?> delta) {
    if (delta.isEmpty()) {
      return;
    }
    queue.add(key, new Hot(new Rumor(key, delta), nextVersion++, delta.encode().length + key.size()));
    notNews.remove(key);
  }

  /** Runs a round when one is due. */
  public void tick() {
    long now = clock.millis();
    if (now < nextRoundAt) {
      return;
    }
    nextRoundAt = now + config.gossipIntervalMs();
    if (notNews.size() > queue.size() + 1024) {
      notNews.keySet().removeIf(key -> queue.get(key) == null); // cooled by the round limit
    }
    if (queue.size() == 0) {
      return;
    }
    List<Member> targets = new ArrayList<>(peers.get());
    if (targets.isEmpty()) {
      return;
    }
    Collections.shuffle(targets, random);
    targets = targets.subList(0, Math.min(config.fanout(), targets.size()));
    List<Hot> batch = queue.take(Integer.MAX_VALUE, config.batchBytesMax(), Hot::bytes, 1);
    List<Rumor> rumors = new ArrayList<>(batch.size());
    List<Sent> sent = new ArrayList<>(batch.size());
    for (Hot h : batch) {
      rumors.add(h.rumor());
      sent.add(new Sent(h.rumor().key(), h.version()));
    }
    for (Member target : targets) {
      long id = ++nextBatch;
      sentBatches.put(id, sent);
      transport.send(target.address(), new RumorBatch(self, id, rumors));
      rumorsSent += rumors.size();
    }
  }

  /** Handles a rumor batch or its feedback. */
  public void receive(PeerMessage message) {
    if (message instanceof RumorBatch batch) {
      List<Boolean> wasNew = new ArrayList<>(batch.rumors().size());
      for (Rumor rumor : batch.rumors()) {
        rumorsReceived++;
        boolean news = sink.apply(rumor.key(), rumor.delta());
        wasNew.add(news);
        if (news) {
          rumorsNew++;
          hot(rumor.key(), rumor.delta());
        }
      }
      Member from = peerAddress(batch.from());
      if (from != null) {
        transport.send(from.address(), new RumorAck(self, batch.batchId(), wasNew));
      }
    } else if (message instanceof RumorAck ack) {
      List<Sent> sent = sentBatches.get(ack.batchId());
      if (sent == null || sent.size() != ack.wasNew().size()) {
        return;
      }
      for (int i = 0; i < sent.size(); i++) {
        if (!ack.wasNew().get(i)) {
          feedback(sent.get(i));
        }
      }
    }
  }

  /** One peer already knew this rumor: count it; at the limit, the rumor cools. */
  private void feedback(Sent sent) {
    Hot queued = queue.get(sent.key());
    if (queued == null || queued.version() != sent.version()) {
      return; // cooled already, or a newer delta is queued for the key
    }
    int count = notNews.merge(sent.key(), 1, Integer::sum);
    // k counts rounds' worth of useless pushes: with fanout f a round makes f contacts, so the
    // rumor cools after k * f "not news" answers. With f = 1 this is Demers' counter exactly.
    if (count >= config.feedbackLimit() * config.fanout()) {
      queue.cool(sent.key());
      notNews.remove(sent.key());
    }
  }

  private Member peerAddress(NodeId id) {
    for (Member m : peers.get()) {
      if (m.id().equals(id)) {
        return m;
      }
    }
    return null;
  }

  public int queueLength() {
    return queue.size();
  }

  public long dropped() {
    return queue.dropped();
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
}
