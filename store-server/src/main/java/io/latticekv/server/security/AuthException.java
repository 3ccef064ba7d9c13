package io.latticekv.server.security;

/** A login or a request a user may not make: the message says which, for the person at the other end. */
public final class AuthException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Whether the caller is not logged in (UNAUTHENTICATED) or may not do this (FORBIDDEN). */
  public enum Kind { UNAUTHENTICATED, FORBIDDEN }

  private final Kind kind;

  public AuthException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
