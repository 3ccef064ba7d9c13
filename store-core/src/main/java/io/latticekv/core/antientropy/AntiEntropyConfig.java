package io.latticekv.core.antientropy;

/**
 * Anti-entropy's knobs.
 *
 * @param intervalMs one exchange with a random live peer per interval. Shorter repairs sooner;
 *     an exchange between equal replicas costs two small messages
 * @param segmentsPerExchangeMax most differing segments listed in one exchange; the rest wait for
 *     the next. Bounds the key lists (about 61 keys a segment at a million keys)
 * @param keysPerExchangeMax most keys repaired in one exchange, both ways together
 * @param bytesPerMessageMax most bytes of states in one message; a reply stops there
 * @param exchangeTimeoutMs an exchange with no answer this long is abandoned
 */
public record AntiEntropyConfig(
    long intervalMs, int segmentsPerExchangeMax, int keysPerExchangeMax, int bytesPerMessageMax, long exchangeTimeoutMs) {

  public static final AntiEntropyConfig DEFAULTS = new AntiEntropyConfig(1_000, 64, 1_000, 1 << 20, 5_000);

  public AntiEntropyConfig {
    if (intervalMs <= 0 || segmentsPerExchangeMax < 1 || keysPerExchangeMax < 1 || bytesPerMessageMax < 1024
        || exchangeTimeoutMs <= 0) {
      throw new IllegalArgumentException("anti-entropy settings out of range");
    }
  }
}
