package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.LifeId;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.KeyLives;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;

/** Faults planted into the simulated nodes' real code paths, to show the simulator catches them. */
final class Bugs {

  /** States from peers (rumors, repairs) are merged without updating the Merkle tree. */
  boolean peerMergesSkipMerkleTree;

  /** OR-Set merges drop an element's dot that only one side holds, when its counter is even. */
  boolean setMergeDropsDots;

  /** Tombstones are collected two epochs early: before every member is known to have seen them. */
  boolean collectTooEarly;

  /** A fold of a retired replica id marks it but does not move its value to the live id. */
  boolean pruningLosesIncrements;

  /** A delete removes what every replica holds, not only what the deleting node has seen. */
  boolean deleteSeesEverything;

  /** A restarted node writes under its previous replica id instead of a fresh one. */
  boolean reuseReplicaIdAfterRestart;

  /** A read at r=quorum asks one replica fewer than the level needs. */
  boolean quorumReadSkipsAReplica;

  static final Bugs NONE = new Bugs();

  /** The planted merge bug in every set life of a key: one-sided dots with even counters vanish. */
  static Lives dropSomeOneSidedDots(Lives merged, Lives a, Lives b) {
    CrdtValue envelope = CrdtCodec.toProto(merged);
    KeyLives.Builder lives = envelope.getLives().toBuilder();
    for (int i = 0; i < lives.getLivesCount(); i++) {
      io.latticekv.proto.Life life = lives.getLives(i);
      if (!life.hasSet()) {
        continue;
      }
      LifeId id = new LifeId(id(life.getReplica()), life.getSeq());
      OrSet x = setOf(a, id);
      OrSet y = setOf(b, id);
      OrSetState.Builder state = life.getSet().toBuilder().clearElements();
      for (OrSetElement element : life.getSet().getElementsList()) {
        ByteString value = element.getValue();
        boolean oneSided = x.contains(value) != y.contains(value);
        OrSetElement.Builder kept = OrSetElement.newBuilder().setValue(value);
        for (int k = 0; k < element.getDotReplicaCount(); k++) {
          if (!(oneSided && element.getDotCounter(k) % 2 == 0)) {
            kept.addDotReplica(element.getDotReplica(k)).addDotCounter(element.getDotCounter(k));
          }
        }
        if (kept.getDotReplicaCount() > 0) {
          state.addElements(kept);
        }
      }
      lives.setLives(i, life.toBuilder().setSet(state));
    }
    return decode(envelope.toBuilder().setLives(lives).build());
  }

  /** The planted pruning bug: a fold marks the retired id, so its entry stops counting, but moves nothing. */
  static Lives withoutMovedValue(Lives retireDelta) {
    CrdtValue envelope = CrdtCodec.toProto(retireDelta);
    KeyLives.Builder lives = envelope.getLives().toBuilder();
    for (int i = 0; i < lives.getLivesCount(); i++) {
      if (lives.getLives(i).hasCounter()) {
        lives.setLives(i, lives.getLives(i).toBuilder().setCounter(io.latticekv.proto.PnCounterState.getDefaultInstance()));
      }
    }
    return decode(envelope.toBuilder().setLives(lives).build());
  }

  private static OrSet setOf(Lives state, LifeId id) {
    return state.life(id).map(l -> l.data() instanceof OrSet s ? s : OrSet.empty()).orElse(OrSet.empty());
  }

  private static NodeId id(ByteString bytes) {
    try {
      return NodeId.fromBytes(bytes);
    } catch (CrdtDecodeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Lives decode(CrdtValue value) {
    try {
      return Lives.of(CrdtCodec.decode(value.toByteArray()));
    } catch (CrdtDecodeException e) {
      throw new IllegalStateException(e);
    }
  }
}
