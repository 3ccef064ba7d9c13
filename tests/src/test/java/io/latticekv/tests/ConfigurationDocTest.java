package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.server.cli.Lattice;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every flag that --help lists is documented in docs/configuration.md. */
class ConfigurationDocTest {

  private static final Pattern FLAG = Pattern.compile("(?m)^\\s+(?:-\\w, )?(--[a-z][a-z-]*)");

  @Test
  void everyFlagInHelpIsInTheConfigurationDoc() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
    List<String> missing = new ArrayList<>();
    int seen = 0;
    for (String[] command : new String[][] {{"--help"}, {"server", "--help"}, {"cluster", "--help"}, {"bench", "--help"},
        {"gen-certs", "--help"}, {"user", "add", "--help"}}) {
      StringWriter out = new StringWriter();
      Lattice.run(command, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
      Matcher m = FLAG.matcher(out.toString());
      while (m.find()) {
        seen++;
        if (!doc.contains("`" + m.group(1) + "`")) {
          missing.add(String.join(" ", command) + ": " + m.group(1));
        }
      }
    }
    assertTrue(seen > 40, "too few flags found in the help output (" + seen + "): the pattern is broken");
    assertTrue(missing.isEmpty(), "flags missing from docs/configuration.md: " + missing);
  }
}
