package io.latticekv.client;

import io.latticekv.proto.ErrorCode;

/**
 * A request that failed. {@link #code()} says why in a form a program can act on; the message
 * says it for a person. Subclasses mark failures of the connection rather than of the request.
 */
public class LatticeException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public LatticeException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public LatticeException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The server's error code, or UNAVAILABLE / TIMEOUT for failures on the client's side. */
  public ErrorCode code() {
    return code;
  }
}
