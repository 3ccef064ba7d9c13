package io.latticekv.tests.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The scenarios {@link SimulationProperties} once falsified, replayed from their printed form
 * (src/test/resources/sim-regressions.txt): a random seed finds a bug once; this keeps it found.
 */
@DisplayName("Simulator scenarios that once failed")
class SimulationRegressionsTest {

  @TestFactory
  Stream<DynamicTest> scenariosThatOnceFailedConverge() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("src", "test", "resources", "sim-regressions.txt"));
    return lines.stream().filter(line -> !line.isBlank() && !line.startsWith("#"))
        .map(line -> DynamicTest.dynamicTest(line.substring(0, line.indexOf(':')), () -> {
          Scenario scenario = Scenario.parse(line);
          assertEquals(line.strip(), scenario.toString(), "the scenario does not read back as printed");
          SimulationProperties.check(scenario, Bugs.NONE);
        }));
  }

  @Test
  @DisplayName("a printed scenario reads back as the same scenario")
  void printedScenariosReadBack() {
    qt().withExamples(100).forAll(Scenario.scenarios(60, true))
        .checkAssert(scenario -> assertEquals(scenario.toString(), Scenario.parse(scenario.toString()).toString()));
  }
}
