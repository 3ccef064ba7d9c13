package io.latticekv.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.latticekv.core.storage.Store;
import io.latticekv.core.storage.StoreOptions;
import io.latticekv.core.storage.SyncPolicy;
import io.latticekv.proto.CounterUpdate;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.MergeRequest;
import io.latticekv.proto.PutRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.SetUpdate;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestProcessorTest {

  @TempDir Path dir;
  private Store store;
  private RequestProcessor processor;
  private final Limits limits = new Limits(1 << 20, 16, 32, 3, 8, 10, 60_000);

  @BeforeEach
  void open() {
    store = Store.open(StoreOptions.defaults(dir, SyncPolicy.NONE));
    processor = new RequestProcessor(store, limits, Runnable::run, Runnable::run);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private Response call(Request.Builder request) throws Exception {
    return processor.process(request.setId(42).build()).get(10, TimeUnit.SECONDS);
  }

  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static Request.Builder incr(String key, long amount) {
    return Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b(key))
        .setCounter(CounterUpdate.newBuilder().setAmount(amount)));
  }

  private void assertError(ErrorCode code, String text, Response response) {
    assertEquals(42, response.getId(), "the id is echoed");
    assertTrue(response.hasError(), () -> "expected an error, got " + response);
    assertEquals(code, response.getError().getCode(), response.getError().getMessage());
    assertTrue(response.getError().getMessage().contains(text), response.getError().getMessage());
  }

  @Test
  void answersEchoTheRequestId() throws Exception {
    Response response = call(incr("c", 5));
    assertEquals(42, response.getId());
    assertEquals(5, response.getMerge().getValue().getCounter());
  }

  @Test
  void anEmptyKeyIsABadRequest() throws Exception {
    assertError(ErrorCode.BAD_REQUEST, "key is empty", call(incr("", 1)));
  }

  @Test
  void anOverlongKeyIsRefused() throws Exception {
    assertError(ErrorCode.KEY_TOO_LARGE, "limit is 16", call(incr("k".repeat(17), 1)));
  }

  @Test
  void anOversizedValueIsRefused() throws Exception {
    Request.Builder put = Request.newBuilder().setPut(PutRequest.newBuilder().setKey(b("r")).setValue(b("v".repeat(33))));
    assertError(ErrorCode.VALUE_TOO_LARGE, "limit is 32", call(put));
  }

  @Test
  void tooManySetElementsInOneRequestAreRefused() throws Exception {
    Request.Builder add = Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b("s"))
        .setSet(SetUpdate.newBuilder().addAdd(b("a")).addAdd(b("b")).addAdd(b("c")).addRemove(b("d"))));
    assertError(ErrorCode.TOO_MANY_ELEMENTS, "limit is 3", call(add));
  }

  @Test
  void aGarbageRemoveContextIsAnInvalidState() throws Exception {
    Request.Builder remove = Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b("s"))
        .setSet(SetUpdate.newBuilder().addRemove(b("a")).setContext(b("\u00ff\u00ff garbage"))));
    assertError(ErrorCode.INVALID_STATE, "remove context", call(remove));
  }

  @Test
  void aWholeStateOfAnUnknownVersionIsAnInvalidState() throws Exception {
    Request.Builder merge = Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b("s"))
        .setState(CrdtValue.newBuilder().setFormatVersion(9)));
    assertError(ErrorCode.INVALID_STATE, "format version 9", call(merge));
  }

  @Test
  void theWrongTypeIsATypeMismatchAndLeavesTheValueAlone() throws Exception {
    call(incr("c", 7));
    Request.Builder add = Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b("c"))
        .setSet(SetUpdate.newBuilder().addAdd(b("x"))));
    assertError(ErrorCode.TYPE_MISMATCH, "holds a counter, not a set", call(add));
    assertEquals(7, call(Request.newBuilder().setGet(GetRequest.newBuilder().setKey(b("c")))).getGet().getValue().getCounter());
  }

  @Test
  void counterOverflowIsAnError() throws Exception {
    call(incr("c", Long.MAX_VALUE));
    assertError(ErrorCode.OVERFLOW, "64-bit range", call(incr("c", 1)));
    assertError(ErrorCode.OVERFLOW, "2^63", call(incr("d", Long.MIN_VALUE)));
  }

  @Test
  void aRequestWithoutABodyIsUnknown() throws Exception {
    assertError(ErrorCode.UNKNOWN_REQUEST, "no body", call(Request.newBuilder()));
  }

  @Test
  void aMergeWithoutAnUpdateIsABadRequest() throws Exception {
    assertError(ErrorCode.BAD_REQUEST, "no update",
        call(Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(b("k")))));
  }

  @Test
  void aKeyNeverWrittenReadsAsNoValue() throws Exception {
    Response response = call(Request.newBuilder().setGet(GetRequest.newBuilder().setKey(b("nothing"))));
    assertTrue(response.hasGet());
    assertTrue(!response.getGet().hasValue());
  }

  @Test
  void answersLeaveTheContextOutOnlyWhenAskedTo() throws Exception {
    Response with = call(incr("c", 2));
    Response without = call(Request.newBuilder().setMerge(incr("c", 3).getMerge().toBuilder().setWithoutContext(true)));
    assertEquals(2, with.getMerge().getValue().getCounter());
    assertFalse(with.getMerge().getValue().getContext().isEmpty());
    assertEquals(5, without.getMerge().getValue().getCounter());
    assertTrue(without.getMerge().getValue().getContext().isEmpty());
    Response read = call(Request.newBuilder().setGet(GetRequest.newBuilder().setKey(b("c"))));
    Response bare = call(Request.newBuilder().setGet(GetRequest.newBuilder().setKey(b("c")).setWithoutContext(true)));
    assertEquals(5, bare.getGet().getValue().getCounter());
    assertFalse(read.getGet().getValue().getContext().isEmpty());
    assertTrue(bare.getGet().getValue().getContext().isEmpty());
  }
}
