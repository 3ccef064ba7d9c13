package io.latticekv.core.replication;

/**
 * @param timeoutMs how long a write at {@code w > 1} or a read at {@code r > 1} waits for other
 *     replicas before it fails. Longer rides out slow peers; shorter answers sooner that the level
 *     cannot be met
 * @param pendingMax requests waiting for replicas at most; more fail at once. Bounds the memory a
 *     burst of coordinated requests holds while peers are slow
 */
public record ReplicationConfig(long timeoutMs, int pendingMax) {

  public static final long TIMEOUT_MS = 2_000;
  public static final int PENDING_MAX = 100_000;

  public static final ReplicationConfig DEFAULTS = new ReplicationConfig(TIMEOUT_MS, PENDING_MAX);

  public ReplicationConfig {
    if (timeoutMs <= 0 || pendingMax < 1) {
      throw new IllegalArgumentException("replication settings out of range");
    }
  }
}
