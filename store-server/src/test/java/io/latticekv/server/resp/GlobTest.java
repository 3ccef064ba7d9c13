package io.latticekv.server.resp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.strings;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class GlobTest {

  private static boolean glob(String pattern, String s) {
    return Glob.matches(pattern.getBytes(StandardCharsets.ISO_8859_1), s.getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void redisPatterns() {
    assertTrue(glob("user:*", "user:42"));
    assertTrue(glob("h?llo", "hello"));
    assertTrue(glob("h[ae]llo", "hallo"));
    assertFalse(glob("h[^e]llo", "hello"));
    assertTrue(glob("h[a-b]llo", "hbllo"));
    assertTrue(glob("h[b-a]llo", "hallo"), "a reversed range, as Redis takes it");
    assertTrue(glob("a\\*b", "a*b"));
    assertFalse(glob("a\\*b", "axb"));
    assertTrue(glob("*", ""));
    assertFalse(glob("?", ""));
    assertTrue(glob("a[bc", "ab"), "an unclosed class ends the pattern");
  }

  @Test
  void aHostilePatternCostsAtMostLengthTimesLength() {
    String s = "a".repeat(5_000);
    long start = System.nanoTime();
    assertFalse(glob("*a*a*a*a*a*a*a*a*a*a*a*a*b", s));
    assertTrue(System.nanoTime() - start < 30_000_000_000L, "bounded, not exponential");
  }

  /** Over patterns of *, ? and literals (no classes, no escapes), the glob agrees with the regex it stands for. */
  @Test
  void agreesWithTheEquivalentRegex() {
    qt().withExamples(3_000).forAll(strings().betweenCodePoints('a', 'c').ofLengthBetween(0, 8),
        strings().betweenCodePoints('a', 'c').ofLengthBetween(0, 6))
        .checkAssert((text, rawPattern) -> {
          String pattern = rawPattern.replace('c', '*').replace("bb", "?");
          String regex = pattern.replace("?", ".").replace("*", ".*");
          assertEquals(Pattern.matches(regex, text), glob(pattern, text), pattern + " against " + text);
        });
  }
}
