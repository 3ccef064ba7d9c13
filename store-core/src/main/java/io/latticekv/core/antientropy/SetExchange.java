package io.latticekv.core.antientropy;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.SetRepair;
import io.latticekv.core.transport.PeerMessage.SetPart;
import io.latticekv.core.transport.PeerMessage.SetSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The precise path's repair of large sets, bucket by bucket ({@link SetRepair}, docs/gossip.md):
 * a key both replicas hold and whose digests differ, and that the initiator holds as a large plain
 * set, is fetched as a summary (its bucket hashes) instead of whole; the responder answers a part
 * over the buckets where its set differs, with its own hashes; the initiator joins it and pushes
 * back a part over the buckets where its set differs from those. Where the two do not hold the
 * same plain set, the key goes whole both ways, as any other. Every method runs on a storage thread.
 */
final class SetExchange {

  /** Large sets summarized in one exchange at most: each summary and answer carries up to 32 KiB of hashes. */
  static final int SUMMARIES_MAX = 16;

  private SetExchange() {}

  /** The summary of {@code set}, a large plain set held at {@code key}. */
  static SetSummary summary(ByteString key, SetRepair.Source set) {
    int count = SetRepair.bucketsFor(set.size());
    return new SetSummary(key, set.shape(), set.hashes(count));
  }

  /**
   * What a responder answers to summaries: parts, and the keys it could not compare, which go
   * whole both ways (it sends its states of them, read as any fetched key's, and wants the peer's).
   */
  record Answer(List<SetPart> parts, List<ByteString> whole, long bytes) {}

  static Answer answer(Replica replica, List<SetSummary> summaries) {
    List<SetPart> parts = new ArrayList<>();
    List<ByteString> whole = new ArrayList<>();
    long bytes = 0;
    for (SetSummary summary : summaries) {
      Optional<SetRepair.Source> set = replica.plainSet(summary.key());
      if (set.isPresent() && set.get().shape() == summary.shape()) {
        SetPart part = cut(summary.key(), set.get(), summary.hashes(), true);
        if (part == null) {
          whole.add(summary.key());
          continue;
        }
        parts.add(part);
        bytes += bytes(part);
      } else {
        // Not the same plain set here (another life, a tombstone, a deferred remove, or none):
        // the key goes whole both ways, as any other.
        whole.add(summary.key());
      }
    }
    return new Answer(parts, whole, bytes);
  }

  /**
   * What the initiator pushes back after joining an answer's parts: parts against the responder's
   * hashes, and the keys it no longer holds as a plain set, to push whole.
   */
  record PushBack(List<SetPart> parts, List<ByteString> whole, long bytes) {}

  static PushBack pushBack(Replica replica, List<SetPart> answered) {
    List<SetPart> parts = new ArrayList<>();
    List<ByteString> whole = new ArrayList<>();
    long bytes = 0;
    for (SetPart theirs : answered) {
      Optional<SetRepair.Source> set = replica.plainSet(theirs.key());
      if (set.isEmpty() || theirs.hashes().length != theirs.count()) {
        if (replica.get(theirs.key()).isPresent()) {
          whole.add(theirs.key()); // no longer a plain set here: whole
        }
        continue;
      }
      // Even over no bucket a part carries this side's context: the dots of what it removed.
      SetPart part = cut(theirs.key(), set.get(), theirs.hashes(), false);
      if (part == null) {
        whole.add(theirs.key());
        continue;
      }
      parts.add(part);
      bytes += bytes(part);
    }
    return new PushBack(parts, whole, bytes);
  }

  /**
   * The part of {@code state}, a plain set, over the buckets where it differs from {@code theirs}
   * (the other side's hashes, one per bucket); with this side's hashes when the other is to cut its
   * own part against them.
   */
  private static SetPart cut(ByteString key, SetRepair.Source set, long[] theirs, boolean withOurHashes) {
    SetRepair.Cut cut = set.cut(theirs); // hashes and part of one state
    if (cut == null) {
      return null; // no plain set here any more
    }
    return new SetPart(key, cut.part(), theirs.length, cut.buckets(), withOurHashes ? cut.ours() : new long[0]);
  }

  /** What a part counts against the sending budget: its state, its hashes and its key. */
  private static long bytes(SetPart part) {
    return part.state().encode().length + 8L * part.hashes().length + part.key().size();
  }
}
