package io.latticekv.proto.wire;

import io.netty.handler.codec.DecoderException;

/** A frame whose bytes did not all arrive within the partial-frame timeout (a slow or stuck sender). */
public final class FrameTimeoutException extends DecoderException {
  private static final long serialVersionUID = 1L;

  public FrameTimeoutException(String message) {
    super(message);
  }
}
