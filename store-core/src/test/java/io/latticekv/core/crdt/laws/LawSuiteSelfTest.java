package io.latticekv.core.crdt.laws;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.Dot;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.proto.CausalContextState;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The law suite proves it can fail: each test plants one classic CRDT bug behind a model and
 * expects the named law to catch it. A suite that passed these would be checking nothing.
 */
@DisplayName("The CRDT law suite catches planted bugs")
class LawSuiteSelfTest {

  private static final int EXAMPLES = 300;

  private static <S extends Crdt<S>, O> void assertCaught(
      CrdtModel<S, O> broken, String law) {
    CrdtLaws<S, O> laws = new CrdtLaws<>(broken, EXAMPLES, CrdtLawSuite.SEED);
    CrdtLaws.Law check =
        laws.all().stream().filter(l -> l.name().equals(law)).findFirst().orElseThrow();
    AssertionError failure = assertThrows(AssertionError.class, check.check()::run,
        () -> "the law '" + law + "' did not notice: " + broken.name());
    assertTrue(failure.getMessage().contains("seed"), "a failure must print its seed");
  }

  @Test
  @DisplayName("a PN-counter whose merge adds totals instead of taking the maximum")
  void counterMergeThatAdds() {
    assertCaught(new PnCounterModel() {
      @Override
      public String name() {
        return "PN-counter with an adding merge";
      }

      @Override
      public PnCounter merge(PnCounter a, PnCounter b) {
        Map<NodeId, Long> p = new TreeMap<>(a.increments());
        Map<NodeId, Long> n = new TreeMap<>(a.decrements());
        b.increments().forEach((r, t) -> p.merge(r, t, Long::sum));
        b.decrements().forEach((r, t) -> n.merge(r, t, Long::sum));
        return PnCounter.of(p, n);
      }
    }, "merge is idempotent");
  }

  @Test
  @DisplayName("an OR-Set whose causal context is a bare version vector (no gaps)")
  void setContextWithoutGaps() {
    assertCaught(new OrSetModel() {
      @Override
      public String name() {
        return "OR-Set with a bare version vector";
      }

      @Override
      public OrSet merge(OrSet a, OrSet b) {
        return withoutGaps(a.merge(b));
      }
    }, "replicas converge to the reference value");
  }

  @Test
  @DisplayName("an OR-Set merge that drops dots only one side holds")
  void setMergeThatDropsDots() {
    assertCaught(new OrSetModel() {
      @Override
      public String name() {
        return "OR-Set keeping only common dots";
      }

      @Override
      public OrSet merge(OrSet a, OrSet b) {
        return keepOnlyCommonDots(a.merge(b), a, b);
      }
    }, "replicas converge to the reference value");
  }

  @Test
  @DisplayName("an LWW-register where the last state to arrive wins")
  void registerLastArrivalWins() {
    assertCaught(new LwwRegisterModel() {
      @Override
      public String name() {
        return "LWW-register, last arrival wins";
      }

      @Override
      public LwwRegister merge(LwwRegister a, LwwRegister b) {
        return b.isEmpty() ? a : b;
      }
    }, "merge is commutative");
  }

  /** The bug the OR-Set's dotted context exists to prevent: a gap is claimed as seen. */
  static OrSet withoutGaps(OrSet set) {
    CrdtValue envelope = CrdtCodec.toProto(set);
    CausalContextState context = envelope.getOrSet().getContext();
    CausalContextState.Builder lossy = context.toBuilder().clearCloudReplica().clearCloudCounter();
    for (int i = 0; i < context.getCloudReplicaCount(); i++) {
      int replica = context.getCloudReplica(i);
      lossy.setVv(replica, Math.max(lossy.getVv(replica), context.getCloudCounter(i)));
    }
    return reencode(envelope.toBuilder()
        .setOrSet(envelope.getOrSet().toBuilder().setContext(lossy)).build());
  }

  /** Drops, for elements both sides hold, the dots only one side had. */
  static OrSet keepOnlyCommonDots(OrSet merged, OrSet a, OrSet b) {
    CrdtValue envelope = CrdtCodec.toProto(merged);
    OrSetState.Builder state = envelope.getOrSet().toBuilder().clearElements();
    for (OrSetElement element : envelope.getOrSet().getElementsList()) {
      ByteString value = element.getValue();
      if (!a.contains(value) || !b.contains(value)) {
        state.addElements(element);
        continue;
      }
      Set<Dot> common = new HashSet<>(a.dotsOf(value));
      common.retainAll(b.dotsOf(value));
      OrSetElement.Builder kept = OrSetElement.newBuilder().setValue(value);
      for (int k = 0; k < element.getDotReplicaCount(); k++) {
        Dot dot = merged.dotsOf(value).get(k);
        if (common.contains(dot)) {
          kept.addDotReplica(element.getDotReplica(k)).addDotCounter(element.getDotCounter(k));
        }
      }
      if (kept.getDotReplicaCount() > 0) {
        state.addElements(kept);
      }
    }
    return reencode(envelope.toBuilder().setOrSet(state).build());
  }

  private static OrSet reencode(CrdtValue envelope) {
    try {
      return (OrSet) CrdtCodec.decode(envelope.toByteArray());
    } catch (CrdtDecodeException e) {
      throw new IllegalStateException("planted bug built an invalid state", e);
    }
  }

}
