package io.latticekv.core.crdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PnCounterTest {

  private static final NodeId A = new NodeId(0, 1);
  private static final NodeId B = new NodeId(0, 2);

  @Test
  void valueIsIncrementsMinusDecrements() {
    PnCounter counter = PnCounter.empty().add(A, 10).add(B, 5).add(A, -3);
    assertEquals(12, counter.value());
    assertEquals(Map.of(A, 10L, B, 5L), counter.increments());
    assertEquals(Map.of(A, 3L), counter.decrements());
  }

  @Test
  void anIncrementPastTheMaximumIsRefusedNotWrapped() {
    PnCounter counter = PnCounter.empty().add(A, Long.MAX_VALUE);
    assertThrows(CounterOverflowException.class, () -> counter.add(A, 1));
    assertThrows(CounterOverflowException.class, () -> counter.add(B, 1));
    assertEquals(Long.MAX_VALUE, counter.value());
  }

  @Test
  void aDecrementPastTheMinimumIsRefused() {
    PnCounter counter = PnCounter.empty().add(A, -Long.MAX_VALUE);
    assertEquals(-Long.MAX_VALUE, counter.value());
    assertThrows(CounterOverflowException.class, () -> counter.add(B, -2));
    assertThrows(CounterOverflowException.class, () -> counter.add(A, Long.MIN_VALUE));
  }

  @Test
  void concurrentIncrementsThatOverflowTogetherCannotBeReadAsAWrongNumber() {
    PnCounter a = PnCounter.empty().add(A, Long.MAX_VALUE);
    PnCounter b = PnCounter.empty().add(B, Long.MAX_VALUE);
    PnCounter merged = a.merge(b);
    assertThrows(CounterOverflowException.class, merged::value);
    // A decrement that brings the value back into range is allowed, and the value reads again.
    PnCounter back = merged.add(A, -Long.MAX_VALUE);
    assertEquals(Long.MAX_VALUE, back.value());
  }

  @Test
  void partialSumsMayOverflowWhileTheValueFits() {
    PnCounter counter =
        PnCounter.of(Map.of(A, Long.MAX_VALUE, B, 10L), Map.of(A, 20L));
    assertEquals(Long.MAX_VALUE - 10, counter.value());
  }
}
