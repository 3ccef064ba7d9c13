package io.latticekv.core.crdt;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.latticekv.proto.RetiredMark;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/** The canonical protobuf form of a {@link Life} ({@code crdt.proto}), and its validating decoder. */
final class LifeCodec {

  private LifeCodec() {}

  /** The wire number of a life's type: 1 counter, 2 set, 3 register. */
  static int typeNumber(CrdtType type) {
    return switch (type) {
      case PN_COUNTER -> 1;
      case OR_SET -> 2;
      case LWW_REGISTER -> 3;
      case KEY -> throw new IllegalArgumentException("a life is never of type key");
    };
  }

  static CrdtType typeOf(int number) throws CrdtDecodeException {
    return switch (number) {
      case 1 -> CrdtType.PN_COUNTER;
      case 2 -> CrdtType.OR_SET;
      case 3 -> CrdtType.LWW_REGISTER;
      default -> throw new CrdtDecodeException("unknown life type " + Integer.toUnsignedString(number));
    };
  }

  static io.latticekv.proto.Life toProto(Life life) {
    io.latticekv.proto.Life.Builder b = frame(life);
    switch (life.type()) {
      case PN_COUNTER -> b.setCounter(((PnCounter) life.data()).toProto());
      case OR_SET -> b.setSet(((OrSet) life.data()).toProto());
      case LWW_REGISTER -> b.setRegister(((LwwRegister) life.data()).toProto());
      case KEY -> throw new IllegalStateException("a life is never of type key");
    }
    return b.build();
  }

  /** A life's fields but its value: identity, type, floors, tomb epoch, retired marks. */
  private static io.latticekv.proto.Life.Builder frame(Life life) {
    io.latticekv.proto.Life.Builder b = io.latticekv.proto.Life.newBuilder()
        .setReplica(life.id().replica().toBytes()).setSeq(life.id().seq()).setCreated(life.created())
        .setType(typeNumber(life.type())).setTombEpoch(life.tombEpoch());
    if (life.type() == CrdtType.PN_COUNTER && !life.counterFloor().isEmpty()) {
      b.setCounterFloor(life.counterFloor().toProto());
    } else if (life.type() == CrdtType.LWW_REGISTER) {
      b.setRegisterFloor(life.registerFloor());
    }
    life.retired().forEach((replica, m) -> b.addRetired(RetiredMark.newBuilder().setReplica(replica.toBytes())
        .setEpoch(m.epoch()).setAdopter(m.adopter().toBytes()).setSawP(m.sawP()).setTopP(m.topP())
        .setFromP(m.fromP()).setSawN(m.sawN()).setTopN(m.topN()).setFromN(m.fromN())));
    return b;
  }

  /**
   * The canonical bytes of a key's lives ({@code CrdtValue{format_version 2, lives}}), byte for
   * byte what {@code CrdtCodec.toProto(lives).toByteArray()} gives (the law suite checks it), with
   * each set written straight from its arrays ({@link OrSet#encodeState}) instead of a protobuf
   * builder per element: those builders were half of a write's CPU on a large set (profile in
   * docs/benchmarks.md). A life's fields go in field order around its value (fields 1-4 before
   * the set, 6; floors, epoch and marks, 8-12, after), which is protobuf's canonical order.
   */
  static byte[] encodeLives(Lives lives) {
    List<byte[]> encoded = new ArrayList<>(lives.lives().size());
    int livesSize = 0;
    for (Life life : lives.lives()) {
      byte[] bytes = life.type() == CrdtType.OR_SET ? encodeSetLife(life) : toProto(life).toByteArray();
      encoded.add(bytes);
      livesSize += 1 + CodedOutputStream.computeUInt32SizeNoTag(bytes.length) + bytes.length;
    }
    byte[] out = new byte[CodedOutputStream.computeUInt32Size(1, CrdtCodec.FORMAT_VERSION)
        + 1 + CodedOutputStream.computeUInt32SizeNoTag(livesSize) + livesSize];
    CodedOutputStream w = CodedOutputStream.newInstance(out);
    try {
      w.writeUInt32(1, CrdtCodec.FORMAT_VERSION);
      w.writeTag(5, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(livesSize);
      for (byte[] life : encoded) {
        w.writeTag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        w.writeUInt32NoTag(life.length);
        w.writeRawBytes(life);
      }
      w.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("encoding size miscomputed", e);
    }
    return out;
  }

  private static byte[] encodeSetLife(Life life) {
    io.latticekv.proto.Life frame = frame(life).build();
    byte[] head = io.latticekv.proto.Life.newBuilder().setReplica(frame.getReplica()).setSeq(frame.getSeq())
        .setCreated(frame.getCreated()).setType(frame.getType()).build().toByteArray();
    byte[] tail = frame.toBuilder().clearReplica().clearSeq().clearCreated().clearType().build().toByteArray();
    byte[] set = ((OrSet) life.data()).encodeState();
    int size = head.length + 1 + CodedOutputStream.computeUInt32SizeNoTag(set.length) + set.length + tail.length;
    byte[] out = new byte[size];
    CodedOutputStream w = CodedOutputStream.newInstance(out);
    try {
      w.writeRawBytes(head);
      w.writeTag(6, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      w.writeUInt32NoTag(set.length);
      w.writeRawBytes(set);
      w.writeRawBytes(tail);
      w.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("encoding size miscomputed", e);
    }
    return out;
  }

  static Life fromProto(io.latticekv.proto.Life p) throws CrdtDecodeException {
    if (p.getSeq() < 1) {
      throw new CrdtDecodeException("a life's sequence number is 1 or more, got " + Long.toUnsignedString(p.getSeq()));
    }
    if (p.getTombEpoch() < 0) {
      throw new CrdtDecodeException("tomb epoch out of range");
    }
    LifeId id = new LifeId(NodeId.fromBytes(p.getReplica()), p.getSeq());
    CrdtType type = typeOf(p.getType());
    Crdt<?> data;
    PnCounter counterFloor = PnCounter.empty();
    long registerFloor = 0;
    switch (type) {
      case PN_COUNTER -> {
        requireData(p, io.latticekv.proto.Life.DataCase.COUNTER, id);
        data = PnCounter.fromProto(p.getCounter());
        counterFloor = PnCounter.fromProto(p.getCounterFloor());
      }
      case OR_SET -> {
        requireData(p, io.latticekv.proto.Life.DataCase.SET, id);
        data = OrSet.fromProto(p.getSet());
      }
      default -> {
        requireData(p, io.latticekv.proto.Life.DataCase.REGISTER, id);
        data = LwwRegister.fromProto(p.getRegister());
        registerFloor = p.getRegisterFloor();
      }
    }
    if ((type != CrdtType.PN_COUNTER && p.hasCounterFloor()) || (type != CrdtType.LWW_REGISTER && p.getRegisterFloor() != 0)) {
      throw new CrdtDecodeException("life " + id + " is a " + type.displayName() + " with another type's floor");
    }
    SortedMap<NodeId, Life.Mark> retired = new TreeMap<>();
    NodeId previous = null;
    for (RetiredMark mark : p.getRetiredList()) {
      NodeId replica = NodeId.fromBytes(mark.getReplica());
      if (previous != null && previous.compareTo(replica) >= 0) {
        throw new CrdtDecodeException("retired marks of life " + id + " are not sorted and unique");
      }
      if (mark.getEpoch() < 0) {
        throw new CrdtDecodeException("retired mark epoch out of range");
      }
      if (Long.compareUnsigned(mark.getSawP(), mark.getTopP()) > 0 || Long.compareUnsigned(mark.getSawN(), mark.getTopN()) > 0
          || mark.getTopP() < 0 || mark.getTopN() < 0 || mark.getFromP() < 0 || mark.getFromN() < 0) {
        throw new CrdtDecodeException("retired mark of life " + id + " moves a range that is not one");
      }
      if (type != CrdtType.PN_COUNTER && (mark.getTopP() != 0 || mark.getTopN() != 0)) {
        throw new CrdtDecodeException("retired mark of " + type.displayName() + " life " + id + " moves counter totals");
      }
      previous = replica;
      NodeId adopter = mark.getAdopter().isEmpty() ? replica : NodeId.fromBytes(mark.getAdopter());
      retired.put(replica, new Life.Mark(mark.getEpoch(), adopter, mark.getSawP(), mark.getTopP(), mark.getFromP(),
          mark.getSawN(), mark.getTopN(), mark.getFromN()));
    }
    return Life.of(id, p.getCreated(), type, data, counterFloor, registerFloor, p.getTombEpoch(), retired);
  }

  private static void requireData(io.latticekv.proto.Life p, io.latticekv.proto.Life.DataCase expected, LifeId id)
      throws CrdtDecodeException {
    if (p.getDataCase() != expected) {
      throw new CrdtDecodeException("life " + id + " of type " + p.getType() + " holds " + p.getDataCase());
    }
  }
}
