package io.latticekv.tests.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.server.api.Limits;
import io.latticekv.server.api.RequestProcessor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The client request path on any frame: whatever a client sends, the answer carries its id and is
 * never {@code INTERNAL} (that code means a bug or a broken disk, which no request may cause), and
 * the store stays readable. Merges of fuzzed states go through the state policy and the store.
 */
class ClientRequestFuzzTest {

  private static Path dir;
  private static Store store;
  private static RequestProcessor processor;

  @BeforeAll
  static void open() throws Exception {
    dir = Files.createTempDirectory("client-fuzz");
    store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE));
    processor = new RequestProcessor(store, new Limits(1 << 20, 256, 4096, 100, 64, 10, 60_000), Runnable::run,
        Runnable::run);
  }

  @AfterAll
  static void close() throws Exception {
    store.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @FuzzTest
  void anyRequestIsAnsweredWithoutAnInternalError(byte[] frame) throws Exception {
    Request request;
    try {
      request = Request.parseFrom(frame);
    } catch (InvalidProtocolBufferException notARequest) {
      return; // the connection handler answers BAD_REQUEST and closes (ClientConnectionHandlerTest)
    }
    if (request.hasFault()) {
      return; // fault injection is off here, and answered BAD_REQUEST; nothing to learn
    }
    Response response = processor.process(request).get(10, TimeUnit.SECONDS);
    assertEquals(request.getId(), response.getId());
    if (response.hasError()) {
      assertNotEquals(ErrorCode.INTERNAL, response.getError().getCode(), response.getError().getMessage());
    }
    if (request.hasMerge() && !request.getMerge().getKey().isEmpty() && request.getMerge().getKey().size() <= 256) {
      store.get(request.getMerge().getKey()); // what was stored reads back (decoding validates it)
    }
  }
}
