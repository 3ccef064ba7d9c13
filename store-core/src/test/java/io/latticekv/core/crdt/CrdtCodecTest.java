package io.latticekv.core.crdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.OrSetElement;
import io.latticekv.proto.OrSetState;
import java.util.List;
import org.junit.jupiter.api.Test;

class CrdtCodecTest {

  private static final NodeId A = new NodeId(0, 1);

  private static String decodeError(byte[] bytes) {
    return assertThrows(CrdtDecodeException.class, () -> CrdtCodec.decode(bytes)).getMessage();
  }

  @Test
  void anUnknownFormatVersionIsRefusedByName() {
    byte[] bytes = CrdtValue.newBuilder().setFormatVersion(7).build().toByteArray();
    assertTrue(decodeError(bytes).contains("unsupported CRDT format version 7"));
  }

  @Test
  void anEnvelopeWithoutStateIsRefused() {
    byte[] bytes = CrdtValue.newBuilder().setFormatVersion(1).build().toByteArray();
    assertTrue(decodeError(bytes).contains("holds no state"));
  }

  @Test
  void aForgedHugeLengthPrefixFailsFastWithoutAllocating() {
    // Field 3 (or_set), wire type 2, length 2^31 - 1 followed by nothing.
    byte[] bytes = {0x08, 0x01, 0x1a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
    assertTrue(decodeError(bytes).startsWith("malformed CRDT state"));
  }

  @Test
  void aDotOutsideTheSetsContextIsRefused() {
    OrSet set = OrSet.empty().addAll(A, List.of(ByteString.copyFromUtf8("x")));
    CrdtValue envelope = CrdtCodec.toProto(set);
    OrSetState forged = envelope.getOrSet().toBuilder()
        .setElements(0, OrSetElement.newBuilder().setValue(ByteString.copyFromUtf8("x"))
            .addDotReplica(0).addDotCounter(99))
        .build();
    byte[] bytes = envelope.toBuilder().setOrSet(forged).build().toByteArray();
    assertTrue(decodeError(bytes).contains("missing from the set's context"));
  }

  @Test
  void unsortedElementsAreRefused() {
    OrSet set = OrSet.empty().addAll(A, List.of(ByteString.copyFromUtf8("a"), ByteString.copyFromUtf8("b")));
    CrdtValue envelope = CrdtCodec.toProto(set);
    OrSetState swapped = envelope.getOrSet().toBuilder()
        .setElements(0, envelope.getOrSet().getElements(1))
        .setElements(1, envelope.getOrSet().getElements(0))
        .build();
    byte[] bytes = envelope.toBuilder().setOrSet(swapped).build().toByteArray();
    assertTrue(decodeError(bytes).contains("not sorted"));
  }

  @Test
  void equalStatesBuiltInDifferentOrdersEncodeIdentically() {
    NodeId b = new NodeId(5, 5);
    PnCounter one = PnCounter.empty().add(A, 3).add(b, 4);
    PnCounter two = PnCounter.empty().add(b, 4).add(A, 3);
    assertEquals(ByteString.copyFrom(one.encode()), ByteString.copyFrom(two.encode()));
    assertEquals(one.digest(), two.digest());
  }

  @Test
  void registersRoundTrip() throws CrdtDecodeException {
    LwwRegister register =
        LwwRegister.of(ByteString.copyFromUtf8("v"), HlcTimestamp.of(1_700_000_000_000L, 3), A);
    assertEquals(register, CrdtCodec.decode(register.encode()));
    assertEquals(LwwRegister.empty(), CrdtCodec.decode(LwwRegister.empty().encode()));
  }

  @Test
  void joiningStatesOfDifferentTypesIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Crdt.join(PnCounter.empty(), OrSet.empty()));
  }
}
