package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.server.cli.Lattice;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short run of lattice bench against a live node: the load generator works end to end. */
class BenchSmokeTest {

  @TempDir Path dir;

  @Test
  void aShortMixedZipfianRunReportsThroughputAndLatencyWithoutErrors() throws Exception {
    try (TestNode node = TestNode.start(dir.resolve("node"), 0)) {
      Path out = dir.resolve("result.json");
      StringWriter printed = new StringWriter();
      int code = Lattice.run(new String[] {"--connect", node.address(), "bench", "--op", "mix", "--distribution", "zipfian",
          "-c", "4", "-d", "4", "--duration-s", "2", "--warmup-s", "1", "--keys", "100", "--out", out.toString()},
          new PrintWriter(printed, true), new PrintWriter(new StringWriter(), true));
      assertEquals(0, code, printed.toString());
      String json = Files.readString(out);
      assertTrue(json.contains("\"op\":\"mix\"") && json.contains("\"distribution\":\"zipfian\""), json);
      assertTrue(json.contains("\"errors\":0"), json);
      assertTrue(!json.contains("\"ops\":0,"), "no operation completed: " + json);
      assertTrue(printed.toString().contains("ops/s"), printed.toString());
    }
  }
}
