package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * An update a client (or the node itself) asks for, independent of the wire format: what the
 * storage engine turns into a delta of the key's {@link Lives}, given the writing replica and its
 * clock. The delta is itself a key state; merging it into any replica has the update's effect.
 *
 * <p>Which life an update writes to: the newest live life of its type. A key with no live life
 * (never written, or deleted) gets a new one, so a deleted key is written again from nothing and
 * with any type; a key that reads as another type refuses the update ({@link TypeMismatch}).
 */
public sealed interface CrdtUpdate {

  /**
   * Who writes: the replica id and its clock, the node's cluster epoch (deletes and removes record
   * it, see {@link Life}), and the source of new life numbers (unique per replica id).
   */
  record Writer(NodeId replica, Supplier<HlcTimestamp> clock, long epoch, LongSupplier lifeSeq) {}

  /** The type of value this update writes; {@link CrdtType#KEY} for one that takes any (a delete, a whole key state). */
  CrdtType type();

  /**
   * The delta of this update on {@code current}, the key's state ({@link Lives#empty()} for a key
   * never written).
   *
   * @throws TypeMismatch when the key reads as another type
   * @throws CounterOverflowException when a counter would leave the 64-bit range
   */
  Lives delta(Lives current, Writer writer);

  /** Adds {@code amount} to a PN-counter; a negative amount decrements. */
  record CounterAdd(long amount) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.PN_COUNTER;
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      Life target = target(current, CrdtType.PN_COUNTER, writer);
      if (amount == 0) {
        return Lives.empty();
      }
      BigInteger after = visibleCounter(current).add(BigInteger.valueOf(amount));
      if (after.bitLength() > 63) {
        throw new CounterOverflowException("adding " + amount + " to " + visibleCounter(current)
            + " leaves the 64-bit range");
      }
      return Lives.of(target.with(((PnCounter) target.data()).totalDelta(writer.replica(), amount)));
    }
  }

  /**
   * Removes, then adds, elements of an OR-Set. With an {@code observed} context (from a read) the
   * removes take out only the adds it saw, in the lives it saw; without one, the adds this replica
   * has seen in every live life. An element both removed and added ends up present.
   */
  record SetUpdate(List<ByteString> add, List<ByteString> remove, Optional<KeyContext> observed)
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
    public Lives delta(Lives current, Writer writer) {
      Optional<CrdtType> visible = current.visibleType();
      if (visible.isPresent() && visible.get() != CrdtType.OR_SET) {
        throw new TypeMismatch(visible.get(), CrdtType.OR_SET);
      }
      Lives delta = Lives.empty();
      if (!remove.isEmpty()) {
        List<Life> removes = new ArrayList<>();
        if (observed.isPresent()) {
          for (KeyContext.Observed o : observed.get().lives()) {
            if (o.type() != CrdtType.OR_SET) {
              continue;
            }
            Life life = current.life(o.id()).orElse(Life.create(o.id(), o.created(), CrdtType.OR_SET));
            OrSet d = ((OrSet) life.data()).removeAllDelta(remove, o.set());
            if (!d.isEmpty()) {
              removes.add(life.with(d).withTombEpoch(writer.epoch()));
            }
          }
        } else {
          for (Life life : current.live(CrdtType.OR_SET)) {
            OrSet d = ((OrSet) life.data()).removeAllDelta(remove);
            if (!d.isEmpty()) {
              removes.add(life.with(d).withTombEpoch(writer.epoch()));
            }
          }
        }
        delta = Lives.of(removes);
        current = current.merge(delta);
      }
      if (!add.isEmpty()) {
        Life target = target(current, CrdtType.OR_SET, writer);
        delta = delta.merge(Lives.of(target.with(((OrSet) target.data()).addAllDelta(writer.replica(), add))));
      }
      return delta;
    }
  }

  /**
   * Assigns an LWW-register. The new write must show, so it is stamped above the key's latest
   * write and above what deletes removed, even when those carry timestamps ahead of our clock (a
   * writer whose clock runs fast, within the allowed drift). Only this key's timestamp moves; the
   * node's clock does not follow, so one fast register cannot push every key ahead.
   */
  record RegisterAssign(ByteString value) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.LWW_REGISTER;
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      Life target = target(current, CrdtType.LWW_REGISTER, writer);
      long floor = Math.max(current.register().timestamp().packed(), target.registerFloor());
      HlcTimestamp ts = writer.clock().get();
      if (Long.compareUnsigned(ts.packed(), floor) <= 0) {
        if (floor == -1L) {
          throw new IllegalStateException("the register's timestamp is the greatest there is");
        }
        ts = new HlcTimestamp(floor + 1);
      }
      return Lives.of(target.with(LwwRegister.of(value, ts, writer.replica())));
    }
  }

  /**
   * Joins a whole state into the key: a key state ({@link Lives}) as it is, or a typed state into
   * its type's typed life ({@link LifeId#typed}), the same at every node, so that merging one state
   * twice or at two nodes counts it once. A typed state saved before a delete stays deleted: its
   * totals, adds and timestamp are at or below the floor the delete left in that life.
   */
  record JoinState(Crdt<?> state) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return state instanceof Lives ? CrdtType.KEY : state.type();
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      if (state instanceof Lives lives) {
        return lives;
      }
      if (state.isEmpty()) {
        return Lives.empty();
      }
      Optional<CrdtType> visible = current.visibleType();
      if (visible.isPresent() && visible.get() != state.type()) {
        throw new TypeMismatch(visible.get(), state.type());
      }
      return Lives.of(state);
    }
  }

  /**
   * Joins a part of a large set over some of its buckets, cut against this replica's bucket hashes
   * ({@link SetRepair}): what joining the sender's whole state would give. Nothing when the key
   * does not hold a plain set of the same life any more: a later exchange repairs it whole.
   */
  record JoinPart(Crdt<?> part, int count, int[] buckets) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.OR_SET;
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      return SetRepair.join(current, part, count, buckets).orElse(Lives.empty());
    }
  }

  /**
   * Deletes the key as a reader saw it: with an {@code observed} context, what that read saw;
   * without one, what this replica holds now. An update the delete did not see — an increment
   * beyond the totals it saw, an add it did not see, a register write stamped later than the one
   * it saw — survives it. The delta raises the floors of the lives it saw (a set's: removes the
   * adds it saw), and records the epoch.
   */
  record Delete(Optional<KeyContext> observed) implements CrdtUpdate {
    @Override
    public CrdtType type() {
      return CrdtType.KEY;
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      List<Life> floors = new ArrayList<>();
      long epoch = writer.epoch();
      if (observed.isPresent()) {
        for (KeyContext.Observed o : observed.get().lives()) {
          Life base = current.life(o.id()).map(Life::bare).orElse(Life.create(o.id(), o.created(), o.type()));
          if (base.type() != o.type()) {
            continue; // a forged context: the life is of another type here
          }
          floors.add(switch (o.type()) {
            case PN_COUNTER -> base.withCounterFloor(o.counter(), epoch);
            case OR_SET -> base.with(OrSet.removedAll(o.set())).withTombEpoch(epoch);
            default -> base.withRegisterFloor(o.register(), epoch);
          });
        }
      } else {
        for (Life life : current.live()) {
          Life base = life.bare();
          floors.add(switch (life.type()) {
            case PN_COUNTER -> base.withCounterFloor((PnCounter) life.data(), epoch);
            case OR_SET -> base.with(OrSet.removedAll(((OrSet) life.data()).context())).withTombEpoch(epoch);
            default -> base.withRegisterFloor(((LwwRegister) life.data()).timestamp().packed(), epoch);
          });
        }
      }
      return Lives.of(floors);
    }
  }

  /**
   * The owner's pruning of a replica id of its own that will never write again (its node
   * restarted, or it adopted a removed member's ids): in every counter life the retired id's value
   * above its floor moves into the writer's live id — the writer raises its own entry by it, as an
   * increment would — and a mark records the move ({@link Life.Mark}: which totals went where), so
   * the retired entry stops counting, the value is unchanged, and a delete that floored the retired
   * entry without seeing the fold still takes what it saw. Sets and registers are only marked. A
   * later fold moves what arrived for the id since, once the last one is final. Entries and marks
   * leave a few epochs later ({@link Life#pruned}). Only the owner may do this for an id: two
   * writers moving the same value would count it twice.
   */
  record Retire(List<NodeId> retired) implements CrdtUpdate {

    public Retire {
      retired = List.copyOf(retired);
    }

    @Override
    public CrdtType type() {
      return CrdtType.KEY;
    }

    @Override
    public Lives delta(Lives current, Writer writer) {
      Lives delta = Lives.empty();
      for (NodeId r : retired) {
        delta = delta.merge(retire(current.merge(delta), r, writer));
      }
      return delta;
    }

    private static Lives retire(Lives current, NodeId retired, Writer writer) {
      if (retired.equals(writer.replica())) {
        throw new IllegalArgumentException("a replica cannot retire its own live id");
      }
      List<Life> out = new ArrayList<>();
      for (Life life : current.lives()) {
        if (life.type() == CrdtType.LWW_REGISTER || !life.replicaIds().contains(retired)) {
          continue; // a register names its writer once; it goes with the next write
        }
        Life.Mark old = life.retired().get(retired);
        if (life.type() != CrdtType.PN_COUNTER) {
          if (old == null) {
            out.add(life.bare().withMark(retired, Life.Mark.of(writer.epoch(), writer.replica())));
          }
          continue;
        }
        if (old != null && (old.epoch() + Life.COLLECT_AFTER_EPOCHS > writer.epoch() || life.foldRaced(retired)
            || !life.hasExcess(retired))) {
          // The last fold is not final yet (a delete that did not see it may still arrive), raced
          // with one (the entry stays), or left nothing new to move.
          continue;
        }
        PnCounter data = (PnCounter) life.data();
        PnCounter floor = life.counterFloor();
        long sawP = Math.max(floor.incrementOf(retired), old == null ? 0 : old.topP());
        long sawN = Math.max(floor.decrementOf(retired), old == null ? 0 : old.topN());
        long topP = Math.max(data.incrementOf(retired), sawP);
        long topN = Math.max(data.decrementOf(retired), sawN);
        NodeId to = writer.replica();
        PnCounter moved = PnCounter.empty();
        if (topP > sawP) {
          moved = moved.merge(data.totalDelta(to, topP - sawP));
        }
        if (topN > sawN) {
          moved = moved.merge(data.totalDelta(to, -(topN - sawN)));
        }
        Life.Mark mark = new Life.Mark(writer.epoch(), to, sawP, topP, data.incrementOf(to), sawN, topN,
            data.decrementOf(to));
        out.add(life.with(moved).withMark(retired, mark));
      }
      return Lives.of(out);
    }
  }

  /** The life an update of {@code type} writes to: the newest live one of that type, or a new one. */
  private static Life target(Lives current, CrdtType type, Writer writer) {
    Optional<CrdtType> visible = current.visibleType();
    if (visible.isPresent() && visible.get() != type) {
      throw new TypeMismatch(visible.get(), type);
    }
    List<Life> live = current.live(type);
    if (!live.isEmpty()) {
      return live.get(live.size() - 1);
    }
    return Life.create(new LifeId(writer.replica(), writer.lifeSeq().getAsLong()), writer.clock().get().packed(), type);
  }

  /** The visible counter's exact value, however far outside the 64-bit range. */
  private static BigInteger visibleCounter(Lives current) {
    BigInteger sum = BigInteger.ZERO;
    for (Life life : current.live(CrdtType.PN_COUNTER)) {
      sum = sum.add(life.counterValue());
    }
    return sum;
  }
}
