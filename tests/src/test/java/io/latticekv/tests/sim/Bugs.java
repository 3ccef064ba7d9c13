package io.latticekv.tests.sim;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;

/** Faults planted into the simulated nodes' real code paths, to show the simulator catches them. */
final class Bugs {

  /** States from peers (rumors, repairs) are merged without updating the Merkle tree. */
  boolean peerMergesSkipMerkleTree;

  /** OR-Set merges drop an element's dot that only one side holds, when its counter is even. */
  boolean setMergeDropsDots;

  /** A restarted node writes under its previous replica id instead of a fresh one. */
  boolean reuseReplicaIdAfterRestart;

  /** A read at r=quorum asks one replica fewer than the level needs. */
  boolean quorumReadSkipsAReplica;

  static final Bugs NONE = new Bugs();

  /** The planted merge bug: one-sided dots with even counters vanish in the merge. */
  static OrSet dropSomeOneSidedDots(OrSet merged, OrSet a, OrSet b) {
    CrdtValue envelope = CrdtCodec.toProto(merged);
    OrSetState.Builder state = envelope.getOrSet().toBuilder().clearElements();
    for (OrSetElement element : envelope.getOrSet().getElementsList()) {
      ByteString value = element.getValue();
      boolean oneSided = a.contains(value) != b.contains(value);
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
    try {
      return (OrSet) CrdtCodec.decode(envelope.toBuilder().setOrSet(state).build().toByteArray());
    } catch (CrdtDecodeException e) {
      throw new IllegalStateException(e);
    }
  }
}
