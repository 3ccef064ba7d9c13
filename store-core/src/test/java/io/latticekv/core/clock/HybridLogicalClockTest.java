package io.latticekv.core.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HybridLogicalClockTest {

  private final AtomicLong wall = new AtomicLong(1_700_000_000_000L);
  private final HybridLogicalClock clock =
      new HybridLogicalClock(wall::get, new HlcTimestamp(0));

  @Test
  void timestampsFollowPhysicalTimeAndCountWithinAMillisecond() {
    HlcTimestamp first = clock.now();
    HlcTimestamp second = clock.now();
    assertEquals(wall.get(), first.physicalMillis());
    assertEquals(0, first.logical());
    assertEquals(1, second.logical());
    wall.addAndGet(1);
    assertEquals(0, clock.now().logical());
  }

  @Test
  void aPhysicalClockThatStepsBackDoesNotMoveTimestampsBack() {
    HlcTimestamp before = clock.now();
    wall.addAndGet(-5_000);
    HlcTimestamp after = clock.now();
    assertTrue(after.compareTo(before) > 0);
    assertEquals(before.physicalMillis(), after.physicalMillis());
  }

  @Test
  void aRestartedClockStartsAboveItsPersistedHighWaterMark() {
    HlcTimestamp issued = clock.now();
    wall.addAndGet(-60_000); // the machine's clock went back while the node was down
    HybridLogicalClock restarted = new HybridLogicalClock(wall::get, clock.highWaterMark());
    assertTrue(restarted.now().compareTo(issued) > 0);
  }

  @Test
  void aFullLogicalCounterCarriesIntoTheMillisecond() {
    HlcTimestamp last = null;
    for (int i = 0; i < (1 << HlcTimestamp.LOGICAL_BITS) + 10; i++) {
      HlcTimestamp next = clock.now();
      if (last != null) {
        assertTrue(next.compareTo(last) > 0);
      }
      last = next;
    }
    assertEquals(wall.get() + 1, last.physicalMillis());
  }
}
