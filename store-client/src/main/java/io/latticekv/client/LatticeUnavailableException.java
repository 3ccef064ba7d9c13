package io.latticekv.client;

import io.latticekv.proto.ErrorCode;

/**
 * No node could take the request: every address refused the connection, or the connection was
 * lost with the request unanswered and the request was not safe to send again.
 */
public final class LatticeUnavailableException extends LatticeException {

  private static final long serialVersionUID = 1L;

  public LatticeUnavailableException(String message, Throwable cause) {
    super(ErrorCode.UNAVAILABLE, message, cause);
  }
}
