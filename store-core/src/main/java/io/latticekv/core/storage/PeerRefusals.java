package io.latticekv.core.storage;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * States from peers the store refused (its state policy, a type clash, a damaged streamed state),
 * counted by reason for status and metrics, and logged at most once per reason and interval: a
 * peer can send a refused state at will. Clients get theirs as errors instead. Thread-safe.
 */
final class PeerRefusals {

  private static final Logger log = LoggerFactory.getLogger(Store.class);

  private final Map<String, LongAdder> byReason = new ConcurrentHashMap<>();
  private final RateLimitedLog lines;

  PeerRefusals(Clock clock) {
    this.lines = new RateLimitedLog(log, clock, 10_000);
  }

  /** A peer's write the store refused with {@code refused}. */
  void refused(ByteString key, RuntimeException refused) {
    String reason = reason(refused);
    count(reason);
    if (refused instanceof StorageException) {
      log.error("could not merge a peer's state of {}", Store.printable(key), refused);
    } else {
      lines.warn(reason, "refused a peer's state of {} ({}): {}", Store.printable(key), reason, refused.getMessage());
    }
  }

  /** A streamed state refused before it reached the write path (it does not decode, say). */
  void refused(ByteString key, String reason, String detail) {
    count(reason);
    lines.warn(reason, "refused a peer's state of {} ({}): {}", Store.printable(key), reason, detail);
  }

  private void count(String reason) {
    byReason.computeIfAbsent(reason, r -> new LongAdder()).increment();
  }

  /** Refusals since open, by reason. */
  Map<String, Long> byReason() {
    Map<String, Long> out = new TreeMap<>();
    byReason.forEach((reason, count) -> out.put(reason, count.sum()));
    return out;
  }

  /** The metric label of a refusal. */
  static String reason(RuntimeException refused) {
    if (refused instanceof KeyTooLargeException) {
      return "key_too_large";
    } else if (refused instanceof ValueTooLargeException) {
      return "value_too_large";
    } else if (refused instanceof ClockDriftException) {
      return "clock_drift";
    } else if (refused instanceof io.latticekv.core.crdt.CounterOverflowException) {
      return "overflow";
    } else if (refused instanceof TypeMismatchException) {
      // Two nodes created the key with different types concurrently: the replicas disagree on the
      // key's type and cannot merge; each keeps its own.
      return "type_mismatch";
    }
    return "storage_error";
  }
}
