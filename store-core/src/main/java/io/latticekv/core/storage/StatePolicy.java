package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.OrSet;

/**
 * The one policy for states that come from outside — a client's whole-state merge, a rumor, a
 * replica write, an anti-entropy repair — checked by the store before the state is merged, on
 * every one of those paths alike:
 *
 * <ul>
 *   <li>the key is not empty and at most {@code keyBytesMax} bytes;
 *   <li>a register's value and a set's elements are at most {@code valueBytesMax} bytes each, as
 *       for an update;
 *   <li>a register's timestamp is at most {@code clockDriftMaxMs} ahead of this node's clock. It is
 *       never taken into the clock: a register from the future would otherwise beat every later
 *       write to its key (and, taken into the clock, push every key's timestamps ahead);
 *   <li>a counter's value after the merge lies in the signed 64-bit range (checked by the store,
 *       after the merge): a state that would overflow is refused before it is stored, so no
 *       replica ever holds a counter that reads as an error.
 * </ul>
 *
 * <p>The encoded state of a key stays within the store's {@code valueBytesMax} as for any write.
 * A refusal is an exception: the client's error, or, for a peer, a count and a log line.
 *
 * @param keyBytesMax longest key
 * @param valueBytesMax largest register value or set element
 * @param clockDriftMaxMs how far ahead of the local clock a timestamp may be. Too small refuses
 *     honest peers whose clocks run fast (their writes are refused here until our clock catches
 *     up, and replicas disagree meanwhile); too large lets a skewed or forged clock win every
 *     write to a key for that long
 */
public record StatePolicy(int keyBytesMax, int valueBytesMax, long clockDriftMaxMs) {

  public static final int KEY_BYTES_MAX = 4096;
  public static final int VALUE_BYTES_MAX = 1 << 20;
  public static final long CLOCK_DRIFT_MAX_MS = 10_000;

  public static final StatePolicy DEFAULTS = new StatePolicy(KEY_BYTES_MAX, VALUE_BYTES_MAX, CLOCK_DRIFT_MAX_MS);

  public StatePolicy {
    if (keyBytesMax <= 0 || valueBytesMax <= 0 || clockDriftMaxMs < 0) {
      throw new IllegalArgumentException("state policy limits out of range");
    }
  }

  /** Refuses a key no write may use. */
  public void checkKey(ByteString key) {
    if (key.isEmpty()) {
      throw new KeyTooLargeException("the key is empty");
    }
    if (key.size() > keyBytesMax) {
      throw new KeyTooLargeException("the key has " + key.size() + " bytes; the limit is " + keyBytesMax);
    }
  }

  /**
   * Refuses a state from outside that breaks a rule above (all but the counter range, which needs
   * the merge).
   *
   * @param nowMillis this node's clock
   */
  public void checkState(Crdt<?> state, long nowMillis) {
    if (state instanceof io.latticekv.core.crdt.Lives lives) {
      for (io.latticekv.core.crdt.Life life : lives.lives()) {
        checkState(life.data(), nowMillis);
        // A register floor from the future would hide every later write to the key, as a
        // register from the future would beat them.
        long floorAhead = new HlcTimestamp(life.registerFloor()).physicalMillis() - nowMillis;
        if (life.registerFloor() != 0 && floorAhead > clockDriftMaxMs) {
          throw new ClockDriftException("a delete's timestamp " + new HlcTimestamp(life.registerFloor()) + " is "
              + floorAhead + " ms ahead of this node's clock; the allowed drift is " + clockDriftMaxMs + " ms");
        }
      }
    } else if (state instanceof LwwRegister register && !register.isEmpty()) {
      checkValue(register.value(), "register value");
      HlcTimestamp ts = register.timestamp();
      long ahead = ts.physicalMillis() - nowMillis;
      if (ahead > clockDriftMaxMs) {
        throw new ClockDriftException("the register's timestamp " + ts + " is " + ahead
            + " ms ahead of this node's clock; the allowed drift is " + clockDriftMaxMs + " ms");
      }
    } else if (state instanceof OrSet set) {
      for (ByteString element : set.elements()) {
        checkValue(element, "set element");
      }
      for (OrSet.Deferred deferred : set.deferredRemoves()) {
        for (ByteString element : deferred.elements()) {
          checkValue(element, "set element");
        }
      }
    }
  }

  private void checkValue(ByteString value, String what) {
    if (value.size() > valueBytesMax) {
      throw new ValueTooLargeException("the " + what + " has " + value.size() + " bytes; the limit is " + valueBytesMax);
    }
  }
}
