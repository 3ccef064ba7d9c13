package io.latticekv.server.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.proto.PeerFrame;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Set summaries and parts on the wire: what a node sends decodes as sent; what breaks the rules is refused. */
class SetPartCodecTest {

  private static final PeerCodec.Limits LIMITS = new PeerCodec.Limits(1024, 4096, 1 << 14);
  private static final NodeId FROM = new NodeId(1, 2);

  private static long[] hashes(int n) {
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = i * 31L + 7;
    }
    return out;
  }

  private static PeerMessage roundTrip(PeerMessage m) throws PeerCodec.BadFrame {
    return PeerCodec.decode(PeerCodec.encode(m), LIMITS);
  }

  @Test
  void summariesAndPartsRoundTrip() throws Exception {
    var fetch = (PeerMessage.AeFetch) roundTrip(new PeerMessage.AeFetch(FROM, 9, List.of(ByteString.copyFromUtf8("k")),
        List.of(new PeerMessage.SetSummary(ByteString.copyFromUtf8("s"), 42, hashes(64)))));
    assertEquals(1, fetch.summaries().size());
    assertEquals(42, fetch.summaries().get(0).shape());
    assertArrayEquals(hashes(64), fetch.summaries().get(0).hashes());

    Lives part = Lives.of(OrSet.empty().addAll(FROM, List.of(ByteString.copyFromUtf8("x"))));
    var states = (PeerMessage.AeStates) roundTrip(new PeerMessage.AeStates(FROM, 9, List.of(),
        List.of(new PeerMessage.SetPart(ByteString.copyFromUtf8("s"), part, 64, new int[] {3, 40}, hashes(64))), false,
        false, List.of(ByteString.copyFromUtf8("w"))));
    PeerMessage.SetPart got = states.parts().get(0);
    assertEquals(part, got.state());
    assertArrayEquals(new int[] {3, 40}, got.buckets());
    assertArrayEquals(hashes(64), got.hashes());
    assertEquals(List.of(ByteString.copyFromUtf8("w")), states.wholeWanted());
  }

  @Test
  void badBucketsAreRefused() {
    Lives part = Lives.of(OrSet.empty());
    for (PeerMessage bad : List.<PeerMessage>of(
        new PeerMessage.AeFetch(FROM, 1, List.of(), List.of(new PeerMessage.SetSummary(ByteString.copyFromUtf8("s"), 1,
            hashes(100)))), // not a power of two
        new PeerMessage.AeFetch(FROM, 1, List.of(), List.of(new PeerMessage.SetSummary(ByteString.copyFromUtf8("s"), 1,
            hashes(8192)))), // too many
        part(part, 64, new int[] {5, 5}, new long[0]), // not ascending
        part(part, 64, new int[] {64}, new long[0]), // out of range
        part(part, 64, new int[] {1}, hashes(32)))) { // hashes of another count
      PeerFrame frame = PeerCodec.encode(bad);
      assertThrows(PeerCodec.BadFrame.class, () -> PeerCodec.decode(frame, LIMITS), bad.toString());
    }
  }

  private static PeerMessage part(Lives state, int count, int[] buckets, long[] hashes) {
    return new PeerMessage.AeStates(FROM, 1, List.of(), List.of(new PeerMessage.SetPart(ByteString.copyFromUtf8("s"),
        state, count, buckets, hashes)), true, false, List.of());
  }
}
