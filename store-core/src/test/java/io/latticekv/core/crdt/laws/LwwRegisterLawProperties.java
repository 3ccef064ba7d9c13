package io.latticekv.core.crdt.laws;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.LwwRegister;
import org.junit.jupiter.api.DisplayName;

@DisplayName("LWW-register laws")
class LwwRegisterLawProperties extends CrdtLawSuite<LwwRegister, ByteString> {
  LwwRegisterLawProperties() {
    super(new LwwRegisterModel());
  }
}
