package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.CounterOverflowException;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.crdt.PnCounter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * States from outside — a client's whole-state merge, a rumor, a replica write, a repair; all of
 * them reach the store as a {@link CrdtUpdate.JoinState} — pass one policy before they are stored.
 * Each case below was accepted, stored and replicated before.
 */
class StatePolicyTest {

  @TempDir Path dir;

  private final AtomicLong wall = new AtomicLong(1_700_000_000_000L);
  private static final NodeId FORGER = new NodeId(0xf0, 0x0f);

  private Store open() {
    return Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE).withClock(wall::get)
        .withPolicy(new StatePolicy(64, 1 << 10, 10_000)));
  }

  private static ByteString key(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static LwwRegister register(long millis, String value) {
    return LwwRegister.of(ByteString.copyFromUtf8(value), HlcTimestamp.of(millis, 0), FORGER);
  }

  @Test
  void aRegisterFromTheFarFutureIsRefusedAndLaterWritesStillWin() {
    try (Store store = open()) {
      long tenYears = 10L * 365 * 24 * 3600 * 1000;
      assertThrows(ClockDriftException.class,
          () -> store.apply(key("r"), new CrdtUpdate.JoinState(register(wall.get() + tenYears, "forged"))));
      assertTrue(store.get(key("r")).isEmpty(), "nothing stored");
      store.apply(key("r"), new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("mine")));
      assertEquals("mine", store.get(key("r")).orElseThrow().register().value().toStringUtf8());
    }
  }

  /** 55 s ahead used to be taken into the node's clock, so every key got timestamps 55 s ahead. */
  @Test
  void aRegisterAheadWithinTheDriftIsKeptButNeverMovesTheClock() {
    try (Store store = open()) {
      long ahead = wall.get() + 9_000;
      store.apply(key("fast"), new CrdtUpdate.JoinState(register(ahead, "from a fast clock")));
      store.apply(key("fast"), new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("later")));
      LwwRegister fast = store.get(key("fast")).orElseThrow().register();
      assertEquals("later", fast.value().toStringUtf8(), "a later write beats the fast one");
      assertTrue(fast.timestamp().compareTo(HlcTimestamp.of(ahead, 0)) > 0);
      store.apply(key("other"), new CrdtUpdate.RegisterAssign(ByteString.copyFromUtf8("x")));
      LwwRegister other = store.get(key("other")).orElseThrow().register();
      assertTrue(other.timestamp().physicalMillis() <= wall.get(), "another key's timestamp moved ahead: "
          + other.timestamp());
    }
  }

  @Test
  void aCounterStateThatWouldOverflowIsRefusedBeforeItIsStored() {
    try (Store store = open()) {
      store.apply(key("c"), new CrdtUpdate.CounterAdd(5));
      PnCounter forged = PnCounter.of(Map.of(FORGER, Long.MAX_VALUE), Map.of());
      assertThrows(CounterOverflowException.class, () -> store.apply(key("c"), new CrdtUpdate.JoinState(forged)));
      assertEquals(5, store.get(key("c")).orElseThrow().counterValue(), "the key still reads");
      // Alone the same state fits, and is taken.
      store.apply(key("d"), new CrdtUpdate.JoinState(forged));
      assertEquals(Long.MAX_VALUE, store.get(key("d")).orElseThrow().counterValue());
    }
  }

  @Test
  void theSizeLimitsApplyToMergedStatesAsToUpdates() {
    try (Store store = open()) {
      String big = "x".repeat(2_000);
      assertThrows(ValueTooLargeException.class,
          () -> store.apply(key("r"), new CrdtUpdate.JoinState(register(wall.get(), big))));
      OrSet set = OrSet.empty().addAllDelta(FORGER, List.of(ByteString.copyFromUtf8("ok"), ByteString.copyFromUtf8(big)));
      assertThrows(ValueTooLargeException.class, () -> store.apply(key("s"), new CrdtUpdate.JoinState(set)));
      assertThrows(KeyTooLargeException.class,
          () -> store.apply(key("k".repeat(65)), new CrdtUpdate.JoinState(PnCounter.empty().addDelta(FORGER, 1))));
      assertTrue(store.get(key("r")).isEmpty() && store.get(key("s")).isEmpty());
    }
  }

  @Test
  void aRefusedStateFromAPeerIsCountedByReasonAndTheRestOfTheBatchApplies() {
    try (Store store = open()) {
      List<Store.Outcome> outcomes = store.applyAll(List.of(
          new Store.Write(key("a"), new CrdtUpdate.JoinState(register(wall.get() + 3_600_000, "ahead")), Store.Origin.PEER),
          new Store.Write(key("b"), new CrdtUpdate.JoinState(register(wall.get(), "fine")), Store.Origin.PEER)));
      assertTrue(outcomes.get(0).refused() instanceof ClockDriftException);
      assertFalse(outcomes.get(1).refused() != null);
      assertEquals(Map.of("clock_drift", 1L), store.peerStatesRefused());
    }
  }
}
