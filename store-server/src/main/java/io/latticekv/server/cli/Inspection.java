package io.latticekv.server.cli;

import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.Life;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code lattice inspect KEY}: a key's raw state as JSON, for people and tests — its lives (see
 * docs/lifecycle.md), and for each the replica entries, floors, sizes and tombstone epochs.
 * {@code replica_entries} counts the distinct replica ids the state names: what pruning shrinks.
 */
final class Inspection {

  private Inspection() {}

  static Map<String, Object> describe(String key, io.latticekv.proto.InspectResponse response) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("key", key);
    out.put("epoch", response.getEpoch());
    if (!response.hasState()) {
      out.put("found", false);
      return out;
    }
    Lives state;
    try {
      state = Lives.of(CrdtCodec.fromProto(response.getState()));
    } catch (CrdtDecodeException e) {
      throw new IllegalStateException("the node sent a state that does not decode: " + e.getMessage(), e);
    }
    out.put("found", true);
    out.put("type", state.visibleType().map(t -> (Object) t.displayName()).orElse(null));
    out.put("encoded_bytes", response.getEncodedBytes());
    out.put("replica_entries", state.replicaIds().size());
    List<Object> lives = new ArrayList<>();
    for (Life life : state.lives()) {
      lives.add(life(life));
    }
    out.put("lives", lives);
    return out;
  }

  private static Map<String, Object> life(Life life) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", life.id().toString());
    out.put("type", life.type().displayName());
    out.put("created", life.created());
    out.put("live", !life.isDead());
    out.put("tomb_epoch", life.tombEpoch());
    out.put("replica_entries", life.replicaIds().size());
    switch (life.type()) {
      case PN_COUNTER -> {
        PnCounter data = (PnCounter) life.data();
        PnCounter floor = life.counterFloor();
        TreeSet<NodeId> replicas = new TreeSet<>(data.increments().keySet());
        replicas.addAll(data.decrements().keySet());
        replicas.addAll(floor.increments().keySet());
        replicas.addAll(floor.decrements().keySet());
        List<Object> entries = new ArrayList<>();
        for (NodeId r : replicas) {
          Map<String, Object> e = new LinkedHashMap<>();
          e.put("replica", r.toString());
          e.put("p", data.incrementOf(r));
          e.put("n", data.decrementOf(r));
          e.put("floor_p", floor.incrementOf(r));
          e.put("floor_n", floor.decrementOf(r));
          entries.add(e);
        }
        out.put("entries", entries);
      }
      case OR_SET -> {
        OrSet set = (OrSet) life.data();
        out.put("elements", set.size());
        out.put("context_replicas", set.context().vectorAsMap().size());
        Map<String, Object> vector = new LinkedHashMap<>();
        set.context().vectorAsMap().forEach((r, v) -> vector.put(r.toString(), v));
        out.put("context_vector", vector); // per replica id: the dots up to this counter were seen
        out.put("context_dots", set.context().size());
        out.put("context_cloud", set.context().cloud().size());
        out.put("deferred_removes", set.deferredRemoves().size());
      }
      default -> {
        LwwRegister register = (LwwRegister) life.data();
        if (!register.isEmpty()) {
          out.put("value_bytes", register.value().size());
          out.put("timestamp", register.timestamp().packed());
          out.put("writer", register.writer().toString());
        }
        out.put("floor", life.registerFloor());
      }
    }
    List<Object> retired = new ArrayList<>();
    life.retired().forEach((replica, m) -> {
      Map<String, Object> mark = new LinkedHashMap<>();
      mark.put("replica", replica.toString());
      mark.put("epoch", m.epoch());
      mark.put("folded_into", m.adopter().toString());
      if (life.type() == io.latticekv.core.crdt.CrdtType.PN_COUNTER) {
        mark.put("moved_increments", m.topP() - m.sawP());
        mark.put("moved_decrements", m.topN() - m.sawN());
      }
      retired.add(mark);
    });
    out.put("retired", retired);
    return out;
  }
}
