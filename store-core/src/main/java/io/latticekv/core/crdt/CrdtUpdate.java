package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * An update a client asks for, independent of the wire format: what the storage engine turns into
 * a delta with the key's current state, the writing replica's id and its clock.
 */
public sealed interface CrdtUpdate {

  /** The type of CRDT this update applies to; a key holding another type refuses it. */
  CrdtType type();

  /**
   * The delta of this update on {@code current} (the key's state, or the type's empty state for a
   * new key), written by {@code replica}.
   *
   * @param clock issues a fresh timestamp; called at most once, and only by register assigns
   * @throws CounterOverflowException when a counter would leave the 64-bit range
   */
  Crdt<?> delta(Crdt<?> current, NodeId replica, Supplier<HlcTimestamp> clock);

  /** Adds {@code amount} to a PN-counter; a negative amount decrements. */
  record CounterAdd(long amount) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.PN_COUNTER;
    }

    @Override
    public Crdt<?> delta(Crdt<?> current, NodeId replica, Supplier<HlcTimestamp> clock) {
      return ((PnCounter) current).addDelta(replica, amount);
    }
  }

  /**
   * Removes, then adds, elements of an OR-Set. With an {@code observed} context the removes take
   * out only the adds it saw; without one, the adds this replica has seen. An element both removed
   * and added ends up present.
   */
  record SetUpdate(List<ByteString> add, List<ByteString> remove, Optional<CausalContext> observed)
      implements CrdtUpdate {

    public SetUpdate {
      add = List.copyOf(add);
      remove = List.copyOf(remove);
    }

    @Override
    public CrdtType type() {
      return CrdtType.OR_SET;
    }

    @Override
    public Crdt<?> delta(Crdt<?> current, NodeId replica, Supplier<HlcTimestamp> clock) {
      OrSet set = (OrSet) current;
      OrSet delta = OrSet.empty();
      if (!remove.isEmpty()) {
        delta = observed.isPresent()
            ? set.removeAllDelta(remove, observed.get())
            : set.removeAllDelta(remove);
        set = set.merge(delta);
      }
      if (!add.isEmpty()) {
        delta = delta.merge(set.addAllDelta(replica, add));
      }
      return delta;
    }
  }

  /**
   * Assigns an LWW-register. The new write must beat the one it replaces, even when that one
   * carries a timestamp ahead of our clock (its writer's clock runs fast, within the allowed
   * drift): then it is stamped just above it. Only this key's timestamp moves; the node's clock
   * does not follow, so one fast register cannot push every key ahead.
   */
  record RegisterAssign(ByteString value) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.LWW_REGISTER;
    }

    @Override
    public Crdt<?> delta(Crdt<?> current, NodeId replica, Supplier<HlcTimestamp> clock) {
      LwwRegister register = (LwwRegister) current;
      HlcTimestamp ts = clock.get();
      if (!register.isEmpty() && ts.compareTo(register.timestamp()) <= 0) {
        long above = register.timestamp().packed() + 1;
        if (above == 0) {
          throw new IllegalStateException("the register's timestamp is the greatest there is");
        }
        ts = new HlcTimestamp(above);
      }
      return register.assignDelta(replica, ts, value);
    }
  }

  /** Joins a whole state, decoded and validated, into the stored one. */
  record JoinState(Crdt<?> state) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return state.type();
    }

    @Override
    public Crdt<?> delta(Crdt<?> current, NodeId replica, Supplier<HlcTimestamp> clock) {
      return state;
    }
  }

  /** The bottom state of {@code type}: what a key that was never written holds. */
  static Crdt<?> emptyOf(CrdtType type) {
    return switch (type) {
      case PN_COUNTER -> PnCounter.empty();
      case OR_SET -> OrSet.empty();
      case LWW_REGISTER -> LwwRegister.empty();
    };
  }
}
