package io.latticekv.server.api;

/**
 * Bounds on what clients may send and hold open. Every one has a default; every one protects
 * the node from a client that is broken or hostile, at the price of refusing some legitimate
 * request that is larger still. The constants are the defaults, and the only place they are
 * written: the command line's defaults refer to them.
 *
 * @param frameBytesMax largest frame (one request) accepted; a larger length prefix closes the
 *     connection before its bytes are read. Must exceed every other byte limit below
 * @param keyBytesMax longest key. Long keys cost memory in every cache, tree and message
 * @param valueBytesMax largest register value, and largest set element
 * @param setElementsMax most set elements one request may add or remove
 * @param inflightPerConnectionMax requests one connection may have outstanding; past it the node
 *     stops reading from that connection until answers drain (backpressure)
 * @param connectionsMax open client connections; further connections get an {@code OVERLOADED}
 *     error and are closed
 * @param idleTimeoutMs a connection that sends nothing for this long, with no request of its running, is closed
 * @param inputBytesMax bytes of client input the node holds in memory over all connections:
 *     frames still arriving plus requests not yet answered. Bounds what slow or hostile clients
 *     can make the node buffer; past it the oldest frame still arriving is dropped with its
 *     connection. Larger admits more concurrent large requests
 * @param inflightBytesPerConnectionMax bytes of requests one connection may have outstanding
 *     before the node stops reading it; at least {@code frameBytesMax}
 * @param partialFrameTimeoutMs a frame must arrive whole within this long of its first byte, or
 *     the connection is closed: a sender that trickles bytes (slowloris) cannot hold a buffer for
 *     the idle timeout. Shorter frees memory sooner and refuses slower links
 */
public record Limits(
    int frameBytesMax,
    int keyBytesMax,
    int valueBytesMax,
    int setElementsMax,
    int inflightPerConnectionMax,
    int connectionsMax,
    long idleTimeoutMs,
    long inputBytesMax,
    long inflightBytesPerConnectionMax,
    long partialFrameTimeoutMs) {

  public static final int FRAME_BYTES_MAX = 4 << 20;
  /**
   * Largest answer a node sends: a whole-set read over it is refused with a pointer to paged reads
   * (half the Java client's 64 MiB frame limit, so an answer never breaks a client's connection).
   */
  public static final int ANSWER_BYTES_MAX = 32 << 20;
  public static final int KEY_BYTES_MAX = 4096;
  public static final int VALUE_BYTES_MAX = 1 << 20;
  public static final int SET_ELEMENTS_MAX = 1_000;
  public static final int INFLIGHT_PER_CONNECTION_MAX = 1_024;
  public static final int CONNECTIONS_MAX = 10_000;
  public static final long IDLE_TIMEOUT_MS = 300_000;
  public static final long INPUT_BYTES_MAX = 256L << 20;
  public static final long INFLIGHT_BYTES_PER_CONNECTION_MAX = 16L << 20;
  public static final long PARTIAL_FRAME_TIMEOUT_MS = 30_000;

  public static final Limits DEFAULTS = new Limits(FRAME_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX, SET_ELEMENTS_MAX,
      INFLIGHT_PER_CONNECTION_MAX, CONNECTIONS_MAX, IDLE_TIMEOUT_MS, INPUT_BYTES_MAX,
      INFLIGHT_BYTES_PER_CONNECTION_MAX, PARTIAL_FRAME_TIMEOUT_MS);

  public Limits {
    if (frameBytesMax <= 0 || keyBytesMax <= 0 || valueBytesMax <= 0 || setElementsMax <= 0
        || inflightPerConnectionMax <= 0 || connectionsMax <= 0 || idleTimeoutMs <= 0 || partialFrameTimeoutMs <= 0) {
      throw new IllegalArgumentException("every limit must be positive");
    }
    if (inputBytesMax < frameBytesMax || inflightBytesPerConnectionMax < frameBytesMax) {
      throw new IllegalArgumentException("the input budgets (" + inputBytesMax + " and " + inflightBytesPerConnectionMax
          + " bytes) must hold at least one frame of the frame limit (" + frameBytesMax + " bytes)");
    }
  }

  /** The given request limits with the default memory budgets, scaled up when the frames are larger. */
  public Limits(int frameBytesMax, int keyBytesMax, int valueBytesMax, int setElementsMax,
      int inflightPerConnectionMax, int connectionsMax, long idleTimeoutMs) {
    this(frameBytesMax, keyBytesMax, valueBytesMax, setElementsMax, inflightPerConnectionMax, connectionsMax,
        idleTimeoutMs, Math.max(INPUT_BYTES_MAX, frameBytesMax), Math.max(INFLIGHT_BYTES_PER_CONNECTION_MAX, frameBytesMax),
        PARTIAL_FRAME_TIMEOUT_MS);
  }

  public Limits withInputBytesMax(long bytes) {
    return new Limits(frameBytesMax, keyBytesMax, valueBytesMax, setElementsMax, inflightPerConnectionMax,
        connectionsMax, idleTimeoutMs, bytes, inflightBytesPerConnectionMax, partialFrameTimeoutMs);
  }

  public Limits withPartialFrameTimeoutMs(long ms) {
    return new Limits(frameBytesMax, keyBytesMax, valueBytesMax, setElementsMax, inflightPerConnectionMax,
        connectionsMax, idleTimeoutMs, inputBytesMax, inflightBytesPerConnectionMax, ms);
  }

  public Limits withConnectionsMax(int max) {
    return new Limits(frameBytesMax, keyBytesMax, valueBytesMax, setElementsMax, inflightPerConnectionMax,
        max, idleTimeoutMs, inputBytesMax, inflightBytesPerConnectionMax, partialFrameTimeoutMs);
  }
}
