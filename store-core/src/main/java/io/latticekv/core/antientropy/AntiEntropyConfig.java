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
 * @param exchangeBytesMax most bytes of states one exchange takes in; it goes on past its first
 *     batch while it finds differences, up to this (and {@code exchangeMsMax}), then another starts
 * @param exchangeMsMax longest an exchange goes on
 * @param rateBytesPerSecond most bytes of states per second a node sends in answers to catch-up
 *     streams, and takes in from its own: what a catch-up leaves of the disk and the network to
 *     clients; 0 for no limit
 */
public record AntiEntropyConfig(long intervalMs, int segmentsPerExchangeMax, int keysPerExchangeMax,
    int bytesPerMessageMax, long exchangeTimeoutMs, long exchangeBytesMax, long exchangeMsMax,
    long rateBytesPerSecond) {

  public static final long INTERVAL_MS = 1_000;
  public static final int SEGMENTS_PER_EXCHANGE_MAX = 64;
  public static final int KEYS_PER_EXCHANGE_MAX = 1_000;
  public static final int BYTES_PER_MESSAGE_MAX = 1 << 20;
  public static final long EXCHANGE_TIMEOUT_MS = 5_000;
  public static final long EXCHANGE_BYTES_MAX = 256L << 20;
  public static final long EXCHANGE_MS_MAX = 60_000;
  public static final long RATE_BYTES_PER_SECOND = 64L << 20;

  public static final AntiEntropyConfig DEFAULTS = new AntiEntropyConfig(INTERVAL_MS, SEGMENTS_PER_EXCHANGE_MAX,
      KEYS_PER_EXCHANGE_MAX, BYTES_PER_MESSAGE_MAX, EXCHANGE_TIMEOUT_MS);

  public AntiEntropyConfig {
    if (intervalMs <= 0 || segmentsPerExchangeMax < 1 || keysPerExchangeMax < 1 || bytesPerMessageMax < 1024
        || exchangeTimeoutMs <= 0 || exchangeBytesMax < bytesPerMessageMax || exchangeMsMax <= 0 || rateBytesPerSecond < 0) {
      throw new IllegalArgumentException("anti-entropy settings out of range");
    }
  }

  /** The first five, with the default exchange budgets and rate. */
  public AntiEntropyConfig(long intervalMs, int segmentsPerExchangeMax, int keysPerExchangeMax, int bytesPerMessageMax,
      long exchangeTimeoutMs) {
    this(intervalMs, segmentsPerExchangeMax, keysPerExchangeMax, bytesPerMessageMax, exchangeTimeoutMs,
        Math.max(EXCHANGE_BYTES_MAX, bytesPerMessageMax), EXCHANGE_MS_MAX, RATE_BYTES_PER_SECOND);
  }

  public AntiEntropyConfig withRate(long bytesPerSecond) {
    return new AntiEntropyConfig(intervalMs, segmentsPerExchangeMax, keysPerExchangeMax, bytesPerMessageMax,
        exchangeTimeoutMs, exchangeBytesMax, exchangeMsMax, bytesPerSecond);
  }
}
