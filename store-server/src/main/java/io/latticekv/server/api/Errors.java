package io.latticekv.server.api;

import io.latticekv.core.crdt.CounterOverflowException;
import io.latticekv.core.storage.StorageException;
import io.latticekv.core.storage.TypeMismatchException;
import io.latticekv.core.storage.ValueTooLargeException;
import io.latticekv.proto.Error;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Response;
import io.latticekv.server.security.AuthException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a failure tells the client: every failure a client can cause becomes an error code and a
 * sentence; only a bug or a storage failure becomes {@code INTERNAL}, and is logged.
 */
public final class Errors {

  private static final Logger log = LoggerFactory.getLogger(Errors.class);

  private Errors() {}

  /** The failure a future's stages wrapped. */
  public static Throwable unwrap(Throwable failure) {
    while (failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null) {
      failure = failure.getCause();
    }
    return failure;
  }

  /** The error answer to request {@code id} for {@code failure}. */
  static Response error(long id, Throwable failure) {
    ErrorCode code;
    String message = failure.getMessage();
    if (failure instanceof RequestProcessor.Refusal refusal) {
      code = refusal.code;
    } else if (failure instanceof TypeMismatchException) {
      code = ErrorCode.TYPE_MISMATCH;
    } else if (failure instanceof CounterOverflowException) {
      code = ErrorCode.OVERFLOW;
    } else if (failure instanceof ValueTooLargeException) {
      code = ErrorCode.VALUE_TOO_LARGE;
    } else if (failure instanceof io.latticekv.core.storage.KeyTooLargeException) {
      code = ErrorCode.KEY_TOO_LARGE;
    } else if (failure instanceof io.latticekv.core.storage.ClockDriftException) {
      code = ErrorCode.INVALID_STATE;
    } else if (failure instanceof AuthException auth) {
      code = auth.kind() == AuthException.Kind.UNAUTHENTICATED ? ErrorCode.UNAUTHENTICATED : ErrorCode.FORBIDDEN;
    } else if (failure instanceof io.latticekv.core.replication.LevelNotMetException) {
      code = ErrorCode.UNAVAILABLE;
    } else if (failure instanceof java.util.concurrent.RejectedExecutionException) {
      code = ErrorCode.UNAVAILABLE;
      message = "the node is shutting down";
    } else {
      code = ErrorCode.INTERNAL;
      if (failure instanceof StorageException) {
        log.error("storage failure serving request {}", Long.toUnsignedString(id), failure);
      } else {
        log.error("bug: unexpected failure serving request {}", Long.toUnsignedString(id), failure);
      }
      message = "internal error (" + failure.getClass().getSimpleName() + "): " + failure.getMessage()
          + "; see the node's log";
    }
    return errorResponse(id, code, message);
  }

  static Response errorResponse(long id, ErrorCode code, String message) {
    return Response.newBuilder().setId(id)
        .setError(Error.newBuilder().setCode(code).setMessage(message == null ? code.name() : message))
        .build();
  }
}
