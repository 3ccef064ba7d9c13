package io.latticekv.proto.wire;

import io.netty.handler.codec.DecoderException;

/** A frame refused or evicted because the port's {@link InputBudget} was used up. */
public final class InputBudgetExceededException extends DecoderException {
  private static final long serialVersionUID = 1L;

  public InputBudgetExceededException(String message) {
    super(message);
  }
}
