package io.latticekv.tests.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Convergence under faults, in the deterministic simulator: for every generated scenario, once
 * the faults stop and the cluster quiesces, all replicas are equal (data and Merkle trees),
 * members agree that everyone is alive, and the values are what the acknowledged writes add up to.
 * A failure prints the QuickTheories seed and the shrunk scenario; a scenario replays exactly.
 */
@DisplayName("Simulated clusters converge under faults")
class SimulationProperties {

  static final int SCENARIOS = Integer.getInteger("sim.scenarios", 500);
  static final long SEED = Long.getLong("sim.seed", System.nanoTime());
  static final long QUIESCE_MAX_MS = 120_000;
  /** Virtual time after convergence for collection and pruning to run: some 15 epochs of 200 ms. */
  static final long LIFECYCLE_SETTLE_MS = 3_000;

  /** Runs one scenario; returns the virtual ms it took to converge after the faults stopped. */
  static long check(Scenario scenario, Bugs bugs) {
    Simulation sim = new Simulation(scenario.seed(), scenario.nodes(), bugs);
    sim.formCluster();
    scenario.play(sim);
    long took = sim.quiesce(QUIESCE_MAX_MS);
    if (took < 0) {
      throw new AssertionError("no convergence within " + QUIESCE_MAX_MS + " ms of virtual time after the faults stopped: "
          + sim.divergence());
    }
    List<String> violations = sim.violations();
    if (!violations.isEmpty()) {
      throw new AssertionError("converged to the wrong values: " + violations);
    }
    // The lifecycle goes on after the replicas agree: tombstones are collected and retired ids
    // folded and pruned over the next epochs. The values must not move meanwhile.
    sim.run(LIFECYCLE_SETTLE_MS);
    if (sim.quiesce(QUIESCE_MAX_MS) < 0) {
      throw new AssertionError("no convergence after the lifecycle's settle period: " + sim.divergence());
    }
    violations = sim.violations();
    if (!violations.isEmpty()) {
      throw new AssertionError("converged to the wrong values after the lifecycle's settle period: " + violations);
    }
    return took;
  }

  @Test
  @DisplayName("after any fault schedule, replicas converge to what the acknowledged writes add up to")
  void convergesUnderFaults() {
    System.out.println("simulator: seed " + SEED + " (replay: -Dsim.seed=" + SEED + ")");
    AtomicLong worst = new AtomicLong();
    AtomicLong runs = new AtomicLong();
    long start = System.nanoTime();
    qt().withFixedSeed(SEED).withExamples(SCENARIOS).withShrinkCycles(100)
        .forAll(Scenario.scenarios(60, true))
        .checkAssert(scenario -> {
          long took = check(scenario, Bugs.NONE);
          worst.accumulateAndGet(took, Math::max);
          runs.incrementAndGet();
        });
    System.out.printf("simulator: %d scenarios (seed %d, N in {3,5,7}) in %.1f s; worst convergence after the faults stopped: %d ms%n",
        runs.get(), SEED, (System.nanoTime() - start) / 1e9, worst.get());
    assertTrue(runs.get() >= SCENARIOS);
  }
}
