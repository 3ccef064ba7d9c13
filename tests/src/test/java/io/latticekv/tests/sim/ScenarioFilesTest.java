package io.latticekv.tests.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every scenario file in src/test/resources/scenarios, run in the simulator. */
class ScenarioFilesTest {

  @TestFactory
  Stream<DynamicTest> scenarios() throws IOException {
    Path dir = Path.of("src", "test", "resources", "scenarios");
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> sorted = files.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
      return sorted.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
        List<String> log = ScenarioScript.run(Files.readAllLines(file));
        System.out.println("scenario " + file.getFileName() + ":\n  " + String.join("\n  ", log));
      }));
    }
  }
}
