package io.latticekv.server.api;

/**
 * Bounds on what one client may send and hold open. Every one has a default; every one protects
 * the node from a client that is broken or hostile, at the price of refusing some legitimate
 * request that is larger still.
 *
 * @param frameBytesMax largest frame (one request) accepted; a larger length prefix closes the
 *     connection before its bytes are read. Must exceed every other byte limit below
 * @param keyBytesMax longest key. Long keys cost memory in every cache, tree and message
 * @param valueBytesMax largest register value, and largest set element
 * @param setElementsMax most set elements one request may add or remove
 * @param inflightPerConnectionMax requests one connection may have outstanding; past it the node
 *     stops reading from that connection until answers drain (backpressure)
 * @param connectionsMax open client connections; further connections are closed at once
 * @param idleTimeoutMs a connection with no traffic for this long is closed
 */
public record Limits(
    int frameBytesMax,
    int keyBytesMax,
    int valueBytesMax,
    int setElementsMax,
    int inflightPerConnectionMax,
    int connectionsMax,
    long idleTimeoutMs) {

  public static final Limits DEFAULTS = new Limits(4 << 20, 4096, 1 << 20, 1_000, 1_024, 10_000, 300_000);

  public Limits {
    if (frameBytesMax <= 0 || keyBytesMax <= 0 || valueBytesMax <= 0 || setElementsMax <= 0
        || inflightPerConnectionMax <= 0 || connectionsMax <= 0 || idleTimeoutMs <= 0) {
      throw new IllegalArgumentException("every limit must be positive");
    }
  }
}
