package io.latticekv.core.crdt.laws;

import io.latticekv.core.crdt.PnCounter;
import org.junit.jupiter.api.DisplayName;

@DisplayName("PN-counter laws")
class PnCounterLawProperties extends CrdtLawSuite<PnCounter, Long> {
  PnCounterLawProperties() {
    super(new PnCounterModel());
  }
}
