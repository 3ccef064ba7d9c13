package io.latticekv.core.antientropy;

/**
 * A byte budget refilled at a rate, for catch-up streams (I/O-free: it reads the protocol clock).
 * At most a second's worth is saved up, so an idle node cannot burst more than that.
 */
final class Budget {
  private final long rate;
  private double tokens;
  private long last;
  private long spent;

  /** {@code bytesPerSecond} 0: no limit. */
  Budget(long bytesPerSecond, long now) {
    this.rate = bytesPerSecond;
    this.tokens = bytesPerSecond;
    this.last = now;
  }

  /** Bytes that may go now; {@link Long#MAX_VALUE} without a limit. */
  long available(long now) {
    if (rate == 0) {
      return Long.MAX_VALUE;
    }
    tokens = Math.min(rate, tokens + (now - last) * rate / 1000.0);
    last = now;
    return (long) Math.max(0, tokens);
  }

  void spend(long bytes) {
    spent += bytes;
    if (rate > 0) {
      tokens -= bytes;
    }
  }

  /** Bytes spent since start. */
  long spent() {
    return spent;
  }

  /** Milliseconds until {@code bytes} may go (0 without a limit). */
  long msUntil(long bytes, long now) {
    if (rate == 0 || available(now) >= bytes) {
      return 0;
    }
    return (long) Math.ceil((bytes - tokens) * 1000.0 / rate);
  }
}
