package io.latticekv.server.security;

/**
 * What a client may do once it has logged in. Each role includes the ones before it: {@link #WRITE}
 * may read, {@link #ADMIN} may write.
 */
public enum Role {
  /** Reads (get, contains, size, paged reads) and the node's basic status. */
  READ,
  /** Also writes: puts, counter and set updates, deletes. */
  WRITE,
  /**
   * Also the operator's requests: status details, member administration, fault injection (where
   * enabled), and whole-state merges, which can claim other replicas' entries (docs/security.md).
   */
  ADMIN;

  public boolean allows(Role needed) {
    return compareTo(needed) >= 0;
  }

  public static Role parse(String text) {
    return switch (text.trim().toLowerCase()) {
      case "read" -> READ;
      case "write" -> WRITE;
      case "admin" -> ADMIN;
      default -> throw new IllegalArgumentException("a role is read, write or admin, not '" + text + "'");
    };
  }

  public String label() {
    return name().toLowerCase();
  }
}
