package io.latticekv.client;

import io.latticekv.proto.ErrorCode;

/**
 * No answer within the request timeout. The request may or may not have been applied: a counter
 * increment that timed out may have counted.
 */
public final class LatticeTimeoutException extends LatticeException {

  private static final long serialVersionUID = 1L;

  public LatticeTimeoutException(String message) {
    super(ErrorCode.TIMEOUT, message);
  }
}
