package io.latticekv.core.crdt.laws;

import io.latticekv.core.crdt.Lives;
import org.junit.jupiter.api.DisplayName;

/** A whole key: lives of any type, deletes and re-creation, under the same laws as each type. */
@DisplayName("key (lives) laws")
class LivesLawProperties extends CrdtLawSuite<Lives, LivesModel.Op> {
  LivesLawProperties() {
    super(new LivesModel());
  }
}
