package io.latticekv.core.util;

import io.latticekv.core.clock.Clock;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Warnings about things an outsider can repeat at will — hostile frames, refused states, refused
 * connections — logged at most once per interval per kind, with the number left out since the
 * last line. A flood then costs a line every few seconds instead of filling the disk, and the
 * first occurrence is never lost.
 *
 * <p>Thread-safe. The clock is passed in so that protocol code that logs stays free of the wall
 * clock.
 */
public final class RateLimitedLog {

  /** Kinds remembered at most; past it the table is cleared (a kind per key would grow forever). */
  private static final int KINDS_MAX = 1_024;

  private final Logger log;
  private final Clock clock;
  private final long intervalMs;
  private final Map<String, long[]> kinds = new HashMap<>(); // kind -> {last logged at, suppressed}

  public RateLimitedLog(Logger log, Clock clock, long intervalMs) {
    this.log = log;
    this.clock = clock;
    this.intervalMs = intervalMs;
  }

  /** Logs at warn level unless a line of this kind was logged within the interval. */
  public void warn(String kind, String format, Object... args) {
    long suppressed;
    synchronized (kinds) {
      long now = clock.millis();
      long[] state = kinds.get(kind);
      if (state != null && now - state[0] < intervalMs) {
        state[1]++;
        return;
      }
      if (state == null) {
        if (kinds.size() >= KINDS_MAX) {
          kinds.clear();
        }
        state = new long[2];
        kinds.put(kind, state);
      }
      suppressed = state[1];
      state[0] = now;
      state[1] = 0;
    }
    if (suppressed > 0) {
      log.warn(format + " (and " + suppressed + " more like it in the last " + intervalMs / 1000 + " s)", args);
    } else {
      log.warn(format, args);
    }
  }
}
