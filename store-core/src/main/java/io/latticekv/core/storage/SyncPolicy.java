package io.latticekv.core.storage;

/**
 * When a write is forced to stable storage before it is acknowledged. RocksDB's write-ahead log is
 * always on; this only decides when the log is fsynced.
 */
public enum SyncPolicy {
  /**
   * Every write fsyncs the log before it is acknowledged. Survives process crashes and power loss.
   * Slowest: one fsync per write (RocksDB joins the fsyncs of writers that arrive together).
   */
  ALWAYS,
  /**
   * Group commit: writes go to the log unsynced; one background fsync covers every write made
   * before it started, and those writes are acknowledged after it. Survives process crashes and
   * power loss, like ALWAYS, at a fraction of the fsyncs under concurrent load; each write waits
   * up to one fsync longer.
   */
  BATCH,
  /**
   * Writes go to the log unsynced and are acknowledged at once; the OS writes them out when it
   * chooses. Survives a process crash (the data is in the OS page cache), not a power loss or
   * kernel crash, which can lose the last seconds of acknowledged writes.
   */
  NONE;

  /** Parses "always", "batch" or "none", case-insensitively. */
  public static SyncPolicy parse(String text) {
    for (SyncPolicy policy : values()) {
      if (policy.name().equalsIgnoreCase(text.trim())) {
        return policy;
      }
    }
    throw new IllegalArgumentException("sync must be always, batch or none, not '" + text + "'");
  }
}
