package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import io.latticekv.proto.LifeContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a reader observed of a key, per live life: a counter's totals, a set's adds (its causal
 * context), a register's timestamp. Clients get it opaque with every read and send it back with a
 * delete or a set remove, which then remove exactly what that read saw and nothing it did not
 * (observed-remove, as an OR-Set remove with a context).
 */
public final class KeyContext {

  /** What was observed of one life. */
  public record Observed(LifeId id, long created, CrdtType type, PnCounter counter, CausalContext set,
      long register) {}

  private static final KeyContext EMPTY = new KeyContext(List.of());

  private final List<Observed> lives;

  private KeyContext(List<Observed> lives) {
    this.lives = lives;
  }

  public static KeyContext empty() {
    return EMPTY;
  }

  /** What a read of {@code state} observes: each live life as it stands. */
  static KeyContext of(Lives state) {
    List<Observed> out = new ArrayList<>();
    for (Life life : state.lives()) {
      if (life.isDead()) {
        continue;
      }
      out.add(switch (life.type()) {
        case PN_COUNTER -> new Observed(life.id(), life.created(), life.type(), (PnCounter) life.data(),
            CausalContext.empty(), 0);
        case OR_SET -> new Observed(life.id(), life.created(), life.type(), PnCounter.empty(),
            ((OrSet) life.data()).context(), 0);
        case LWW_REGISTER -> new Observed(life.id(), life.created(), life.type(), PnCounter.empty(),
            CausalContext.empty(), ((LwwRegister) life.data()).timestamp().packed());
        case KEY -> throw new IllegalStateException("a life is never of type key");
      });
    }
    return out.isEmpty() ? EMPTY : new KeyContext(Collections.unmodifiableList(out));
  }

  /** The lives observed, sorted by id. */
  public List<Observed> lives() {
    return lives;
  }

  public boolean isEmpty() {
    return lives.isEmpty();
  }

  /** The opaque bytes a client holds. */
  public ByteString encode() {
    io.latticekv.proto.KeyContext.Builder b = io.latticekv.proto.KeyContext.newBuilder();
    for (Observed o : lives) {
      LifeContext.Builder life = LifeContext.newBuilder().setReplica(o.id().replica().toBytes()).setSeq(o.id().seq())
          .setCreated(o.created()).setType(LifeCodec.typeNumber(o.type()));
      switch (o.type()) {
        case PN_COUNTER -> life.setCounter(o.counter().toProto());
        case OR_SET -> life.setSet(o.set().toProto());
        default -> life.setRegister(o.register());
      }
      b.addLives(life);
    }
    return b.build().toByteString();
  }

  /** Decodes the bytes a client sent back; every part is validated. */
  public static KeyContext decode(ByteString bytes) throws CrdtDecodeException {
    io.latticekv.proto.KeyContext proto;
    try {
      CodedInputStream input = bytes.newCodedInput();
      input.setRecursionLimit(16);
      proto = io.latticekv.proto.KeyContext.parseFrom(input);
    } catch (java.io.IOException e) {
      throw new CrdtDecodeException("malformed key context: " + e.getMessage(), e);
    }
    List<Observed> out = new ArrayList<>(proto.getLivesCount());
    LifeId previous = null;
    for (LifeContext life : proto.getLivesList()) {
      if (life.getSeq() < 1) {
        throw new CrdtDecodeException("a life's sequence number is 1 or more");
      }
      LifeId id = new LifeId(NodeId.fromBytes(life.getReplica()), life.getSeq());
      if (previous != null && previous.compareTo(id) >= 0) {
        throw new CrdtDecodeException("key context lives are not sorted and unique");
      }
      previous = id;
      CrdtType type = LifeCodec.typeOf(life.getType());
      out.add(new Observed(id, life.getCreated(), type,
          type == CrdtType.PN_COUNTER ? PnCounter.fromProto(life.getCounter()) : PnCounter.empty(),
          type == CrdtType.OR_SET ? CausalContext.fromProto(life.getSet()).context() : CausalContext.empty(),
          type == CrdtType.LWW_REGISTER ? life.getRegister() : 0));
    }
    return out.isEmpty() ? EMPTY : new KeyContext(Collections.unmodifiableList(out));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyContext other && lives.equals(other.lives);
  }

  @Override
  public int hashCode() {
    return lives.hashCode();
  }

  @Override
  public String toString() {
    return "KeyContext" + lives;
  }
}
