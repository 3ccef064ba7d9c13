package io.latticekv.server.cli;

/** Exit codes of the {@code lattice} command, for scripts. */
public final class ExitCode {
  /** Success. */
  public static final int OK = 0;
  /** The node refused the request (type mismatch, overflow, too large, invalid). */
  public static final int REFUSED = 1;
  /** Bad arguments; the usage is printed. */
  public static final int USAGE = 2;
  /** No node could be reached. */
  public static final int UNAVAILABLE = 3;
  /** No answer in time; the request may or may not have been applied. */
  public static final int TIMEOUT = 4;
  /** The server failed to start or stopped on an error. */
  public static final int SERVER_FAILED = 5;

  private ExitCode() {}
}
