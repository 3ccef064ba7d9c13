package io.latticekv.core.crdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CausalContextTest {

  private static final NodeId R = new NodeId(0, 1);
  private static final NodeId S = new NodeId(0, 2);

  @Test
  void aDotBeyondAGapDoesNotClaimTheGap() {
    CausalContext context = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(R, 3)));
    assertTrue(context.contains(new Dot(R, 3)));
    assertFalse(context.contains(new Dot(R, 2)), "dot 2 never arrived");
    assertEquals(1, context.versionOf(R));
    assertEquals(List.of(new Dot(R, 3)), context.cloud());
  }

  @Test
  void theContextCompactsWhenTheGapFills() {
    CausalContext gap = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(R, 3), new Dot(R, 4)));
    CausalContext filled = gap.with(List.of(new Dot(R, 2)));
    assertEquals(4, filled.versionOf(R));
    assertTrue(filled.cloud().isEmpty());
    assertEquals(filled, CausalContext.ofDots(List.of(new Dot(R, 4), new Dot(R, 3), new Dot(R, 2), new Dot(R, 1))));
  }

  @Test
  void nextDotIsBeyondEveryDotSeenGapsIncluded() {
    CausalContext context = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(R, 5)));
    assertEquals(new Dot(R, 6), context.nextDot(R));
    assertEquals(new Dot(S, 1), context.nextDot(S));
  }

  @Test
  void coversComparesDotByDot() {
    CausalContext small = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(S, 3)));
    CausalContext large = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(R, 2), new Dot(S, 3)));
    assertTrue(large.covers(small));
    assertFalse(small.covers(large));
    assertTrue(small.covers(CausalContext.empty()));
  }

  @Test
  void encodedContextsRoundTrip() throws CrdtDecodeException {
    CausalContext context = CausalContext.ofDots(List.of(new Dot(R, 1), new Dot(R, 3), new Dot(S, 2)));
    assertEquals(context, CrdtCodec.decodeContext(CrdtCodec.encodeContext(context)));
  }
}
