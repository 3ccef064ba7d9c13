package io.latticekv.testing;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one line per finished test with its display name, so that the build log reads as a list
 * of behaviours ("OR-Set laws > merge is commutative") and not only per-class counts. Registered
 * through {@code META-INF/services}; Surefire shows test output on the console.
 */
public final class TestNamePrinter implements TestExecutionListener {

  private final Map<String, Long> started = new ConcurrentHashMap<>();
  private TestPlan plan;

  @Override
  public void testPlanExecutionStarted(TestPlan testPlan) {
    this.plan = testPlan;
  }

  @Override
  public void executionStarted(TestIdentifier test) {
    if (test.isTest()) {
      started.put(test.getUniqueId(), System.nanoTime());
    }
  }

  @Override
  public void executionFinished(TestIdentifier test, TestExecutionResult result) {
    if (!test.isTest()) {
      return;
    }
    long nanos = System.nanoTime() - started.getOrDefault(test.getUniqueId(), System.nanoTime());
    String parent = plan == null ? "" : plan.getParent(test).map(TestIdentifier::getDisplayName).orElse("");
    String mark = switch (result.getStatus()) {
      case SUCCESSFUL -> "pass";
      case FAILED -> "FAIL";
      case ABORTED -> "skip";
    };
    System.out.printf(Locale.ROOT, "  [%s] %s > %s (%.2f s)%n", mark, parent, test.getDisplayName(), nanos / 1e9);
  }
}
