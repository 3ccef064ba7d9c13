package io.latticekv.server.resp;

/**
 * Input that is not RESP, or breaks one of the port's limits in a way that leaves the stream
 * unframed: answered with {@code -ERR Protocol error: ...}, then the connection is closed (as Redis
 * does), since nothing after it can be trusted to start where a command starts.
 */
final class RespProtocolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  RespProtocolException(String message) {
    super(message, null, false, false);
  }
}
