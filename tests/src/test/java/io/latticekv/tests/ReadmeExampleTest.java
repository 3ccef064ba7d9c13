package io.latticekv.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.latticekv.client.LatticeClient;
import io.latticekv.client.SetContext;
import io.latticekv.client.SetValue;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java example of README.md, compiled and run against a live node. Keep the two in step. */
class ReadmeExampleTest {

  @TempDir Path dir;

  @Test
  void theReadmeExampleWorks() throws Exception {
    try (TestNode node = TestNode.start(dir, 0)) {
      String addresses = node.address();
      // --- README example, with the node's address ---
      try (LatticeClient client = LatticeClient.builder()
          .addresses(addresses)
          .requestTimeout(java.time.Duration.ofSeconds(2))
          .build()) {
        long views = client.increment("page:views", 1);
        long size = client.add("tags", "red", "green");  // the set's size: writes answer without the set
        SetValue tags = client.elements("tags");
        SetContext seen = tags.context();
        client.remove("tags", seen, "red");
        client.put("greeting", "hello");
        String greeting = client.register("greeting").orElseThrow().asString();
        client.delete("greeting");
        // --- end of the example ---
        assertEquals(1, views);
        assertEquals(2, size);
        assertEquals(List.of("green", "red"), tags.elementsAsStrings());
        assertEquals(List.of("green"), client.elements("tags").elementsAsStrings());
        assertEquals("hello", greeting);
        assertTrue(client.get("greeting").isEmpty(), "the example's delete left the key");
      }
    }
  }
}
