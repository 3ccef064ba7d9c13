package io.latticekv.core.lifecycle;

/**
 * Pacing of the cluster epoch and of the sweep (docs/lifecycle.md). None of these bears on
 * correctness — the epoch moves only when every participant was heard at it and exchanged with,
 * whatever the clock — only on how soon tombstones and retired replica ids leave the states, and
 * what the sweep costs meanwhile.
 *
 * @param epochIntervalMs the least time between two advances of this node's epoch: a deleted key's
 *     tombstone leaves the states some 3 intervals after the delete at the soonest
 * @param sweepStepKeys keys one sweep step rewrites at most (it reads at most 8 times as many): one
 *     storage task's work
 * @param sweepStepIntervalMs the pause between two steps of a pass: what the sweep takes from the
 *     disk and the storage threads
 */
public record LifecycleConfig(long epochIntervalMs, int sweepStepKeys, long sweepStepIntervalMs) {

  public static final LifecycleConfig DEFAULTS = new LifecycleConfig(5_000, 256, 20);

  public LifecycleConfig {
    if (epochIntervalMs < 1 || sweepStepKeys < 1 || sweepStepIntervalMs < 0) {
      throw new IllegalArgumentException("epoch interval and sweep step must be positive, the sweep pause not negative");
    }
  }
}
