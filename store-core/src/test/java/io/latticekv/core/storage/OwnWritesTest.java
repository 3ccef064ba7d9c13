package io.latticekv.core.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.PnCounter;
import org.junit.jupiter.api.Test;

/** The log of this life's writes: joined per key, bounded by keys, dropped for good past the bound. */
class OwnWritesTest {

  private static final NodeId WRITER = new NodeId(0, 1);

  private static Lives increment(long total) {
    return Lives.of(PnCounter.empty().addDelta(WRITER, total));
  }

  @Test
  void writesToOneKeyJoinAndCountOnce() {
    OwnWrites log = new OwnWrites(2);
    log.open();
    ByteString k = ByteString.copyFromUtf8("k");
    for (long total = 1; total <= 10; total++) {
      log.add(k, increment(total));
    }
    assertEquals(1, log.entries().size());
    assertEquals(10, log.of(k).counterValue(), "the join of the deltas: this replica's latest total");
    assertFalse(log.overflowed());
  }

  @Test
  void pastItsBoundTheLogIsDroppedAndStaysClosed() {
    OwnWrites log = new OwnWrites(2);
    log.add(ByteString.copyFromUtf8("before-open"), increment(1));
    assertTrue(log.entries().isEmpty(), "nothing is kept until the log is opened");
    log.open();
    log.add(ByteString.copyFromUtf8("a"), increment(1));
    log.add(ByteString.copyFromUtf8("b"), increment(1));
    log.add(ByteString.copyFromUtf8("c"), increment(1)); // a third key: over the bound
    assertTrue(log.overflowed());
    assertTrue(log.entries().isEmpty(), "an overflowed log keeps nothing: a discard would lose writes");
    log.open();
    log.add(ByteString.copyFromUtf8("d"), increment(1));
    assertTrue(log.entries().isEmpty(), "an overflowed log is not opened again");
  }
}
