package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.proto.LwwRegisterState;
import java.util.Comparator;

/**
 * A last-writer-wins register (Shapiro et al. 2011, section 3.2.1). The state is a value, the
 * hybrid-logical-clock timestamp of its write and the id of the replica that wrote it. Merge keeps
 * the greater {@code (timestamp, writer)} pair. A replica's clock issues unique, increasing
 * timestamps, so two different writes never tie; only a forged state could carry the same pair
 * with another value, and then the greater value (unsigned bytes) wins so that merge stays
 * commutative.
 *
 * <p>Merge never reads a clock (unlike riak_dt_lwwreg, which reads the wall clock inside {@code
 * update}): the timestamp is chosen by the writer's {@link io.latticekv.core.clock.HybridLogicalClock}
 * and passed in.
 *
 * <p>Immutable. The empty register has timestamp 0, no writer and an empty value.
 */
public final class LwwRegister implements Crdt<LwwRegister> {

  private static final LwwRegister EMPTY = new LwwRegister(ByteString.EMPTY, 0, null);

  private static final Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();

  private final ByteString value;
  private final long timestamp;
  private final NodeId writer;

  private LwwRegister(ByteString value, long timestamp, NodeId writer) {
    this.value = value;
    this.timestamp = timestamp;
    this.writer = writer;
  }

  public static LwwRegister empty() {
    return EMPTY;
  }

  /**
   * The register holding {@code value}, written by {@code writer} at {@code timestamp}. This is
   * also the delta of that assignment.
   */
  public static LwwRegister of(ByteString value, HlcTimestamp timestamp, NodeId writer) {
    if (timestamp.packed() == 0) {
      throw new IllegalArgumentException("timestamp 0 is reserved for the empty register");
    }
    return new LwwRegister(value, timestamp.packed(), writer);
  }

  /** The delta of assigning {@code value} at {@code timestamp} by {@code writer}. */
  public LwwRegister assignDelta(NodeId writer, HlcTimestamp timestamp, ByteString value) {
    return of(value, timestamp, writer);
  }

  /** The full-state mutator: this register after the assignment (it loses to a newer write). */
  public LwwRegister assign(NodeId writer, HlcTimestamp timestamp, ByteString value) {
    return merge(of(value, timestamp, writer));
  }

  @Override
  public CrdtType type() {
    return CrdtType.LWW_REGISTER;
  }

  public ByteString value() {
    return value;
  }

  public HlcTimestamp timestamp() {
    return new HlcTimestamp(timestamp);
  }

  /** The writer's id; null only for the empty register. */
  public NodeId writer() {
    return writer;
  }

  @Override
  public LwwRegister merge(LwwRegister other) {
    return compare(this, other) >= 0 ? this : other;
  }

  private static int compare(LwwRegister a, LwwRegister b) {
    int byTime = Long.compareUnsigned(a.timestamp, b.timestamp);
    if (byTime != 0) {
      return byTime;
    }
    if (a.writer == null || b.writer == null) {
      return a.writer == null ? (b.writer == null ? 0 : -1) : 1;
    }
    int byWriter = a.writer.compareTo(b.writer);
    return byWriter != 0 ? byWriter : BYTES.compare(a.value, b.value);
  }

  @Override
  public boolean isEmpty() {
    return writer == null;
  }

  LwwRegisterState toProto() {
    LwwRegisterState.Builder builder = LwwRegisterState.newBuilder();
    if (!isEmpty()) {
      builder.setValue(value).setTimestamp(timestamp).setWriter(writer.toBytes());
    }
    return builder.build();
  }

  static LwwRegister fromProto(LwwRegisterState state) throws CrdtDecodeException {
    if (state.getWriter().isEmpty()) {
      if (state.getTimestamp() != 0 || !state.getValue().isEmpty()) {
        throw new CrdtDecodeException("register has a value or timestamp but no writer");
      }
      return EMPTY;
    }
    if (state.getTimestamp() == 0) {
      throw new CrdtDecodeException("register has a writer but timestamp 0");
    }
    return new LwwRegister(state.getValue(), state.getTimestamp(), NodeId.fromBytes(state.getWriter()));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LwwRegister other
        && timestamp == other.timestamp
        && java.util.Objects.equals(writer, other.writer)
        && value.equals(other.value);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(value, timestamp, writer);
  }

  @Override
  public String toString() {
    return isEmpty()
        ? "LwwRegister{}"
        : "LwwRegister{" + new HlcTimestamp(timestamp) + " by " + writer + ": " + value.size() + " bytes}";
  }
}
