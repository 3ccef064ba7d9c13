package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import io.latticekv.proto.CounterUpdate;
import io.latticekv.proto.DeleteRequest;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.MergeRequest;
import io.latticekv.proto.PutRequest;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.ScanRequest;
import io.latticekv.proto.SetReadRequest;
import io.latticekv.proto.SetScanQuery;
import io.latticekv.proto.SetSizeQuery;
import io.latticekv.proto.SetUpdate;
import io.latticekv.proto.Value;
import io.latticekv.server.api.RequestProcessor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The data commands, each made of the native requests of {@link RequestProcessor}: the same
 * checks, limits, logins, roles and consistency levels as the native port, and the same answers
 * (docs/resp.md says how each differs from Redis). Counters and registers both read as strings.
 */
final class DataCommands {

  /** Elements SSCAN returns at most per call, whatever COUNT asks (the set read's page limit). */
  static final int SSCAN_COUNT_MAX = 10_000;
  /** Keys SCAN returns at most per call, whatever COUNT asks. */
  static final int SCAN_COUNT_MAX = 10_000;

  private final RequestProcessor processor;

  DataCommands(RequestProcessor processor) {
    this.processor = processor;
  }

  // ---------------------------------------------------------------- counters

  CompletableFuture<Reply> incrBy(RespClient c, ByteString key, long amount) {
    if (amount == Long.MIN_VALUE) {
      return done(Reply.error("ERR decrement would overflow"));
    }
    return ask(c, Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(key).setW(c.w).setWithoutContext(true)
        .setCounter(CounterUpdate.newBuilder().setAmount(amount))),
        r -> Reply.integer(r.getMerge().getValue().getCounter()));
  }

  // ---------------------------------------------------------------- strings: registers and counters

  /** GET: a register's bytes or a counter's decimal; null when absent; WRONGTYPE for a set. */
  CompletableFuture<Reply> get(RespClient c, ByteString key) {
    return getValue(c, key).thenApply(v -> v.error() != null ? v.error() : string(v.value(), true));
  }

  /** A read's value (empty when the key holds nothing), or the error reply it ended in. */
  private record Read(Value value, Reply error) {}

  private CompletableFuture<Read> getValue(RespClient c, ByteString key) {
    return call(c, Request.newBuilder().setGet(GetRequest.newBuilder().setKey(key).setR(c.r).setWithoutContext(true)))
        .thenApply(r -> r.hasError() ? new Read(null, RespCommands.errorOf(r.getError()))
            : new Read(r.getGet().getValue(), null));
  }

  /** A value as a string reply: null when absent; a set is WRONGTYPE, or null where {@code strict} is off (MGET). */
  private static Reply string(Value v, boolean strict) {
    return switch (v.getKindCase()) {
      case COUNTER -> Reply.bulk(Long.toString(v.getCounter()));
      case REGISTER -> Reply.bulk(v.getRegister().getValue());
      case SET -> strict ? RespCommands.WRONGTYPE : Reply.NULL;
      case KIND_NOT_SET -> Reply.NULL;
    };
  }

  CompletableFuture<Reply> set(RespClient c, ByteString key, ByteString value) {
    return ask(c, put(c, key, value), r -> Reply.OK);
  }

  /** SET ... GET and GETSET: the value before, read then written (not one atomic step: docs/resp.md). */
  CompletableFuture<Reply> getSet(RespClient c, ByteString key, ByteString value) {
    return getValue(c, key).thenCompose(before -> {
      if (before.error() != null) {
        return done(before.error());
      }
      Reply old = string(before.value(), true);
      if (old instanceof Reply.Error) {
        return done(old);
      }
      return ask(c, put(c, key, value), r -> old);
    });
  }

  private static Request.Builder put(RespClient c, ByteString key, ByteString value) {
    return Request.newBuilder().setPut(PutRequest.newBuilder().setKey(key).setValue(value).setW(c.w));
  }

  CompletableFuture<Reply> mget(RespClient c, List<ByteString> keys) {
    List<CompletableFuture<Read>> values = new ArrayList<>(keys.size());
    for (ByteString key : keys) {
      values.add(getValue(c, key));
    }
    return allOf(values).thenApply(all -> {
      List<Reply> out = new ArrayList<>(all.size());
      for (Read v : all) {
        if (v.error() != null) {
          return v.error();
        }
        out.add(string(v.value(), false));
      }
      return new Reply.Array(out);
    });
  }

  /** MSET: one write per key, all at once; OK when all are done, else the first error (not atomic). */
  CompletableFuture<Reply> mset(RespClient c, List<ByteString> pairs) {
    List<CompletableFuture<Reply>> writes = new ArrayList<>(pairs.size() / 2);
    for (int i = 0; i < pairs.size(); i += 2) {
      writes.add(set(c, pairs.get(i), pairs.get(i + 1)));
    }
    return firstErrorOr(writes, Reply.OK);
  }

  CompletableFuture<Reply> strlen(RespClient c, ByteString key) {
    return get(c, key).thenApply(r -> r instanceof Reply.Bulk b ? Reply.integer(b.bytes().size())
        : r instanceof Reply.Null ? Reply.integer(0) : r);
  }

  // ---------------------------------------------------------------- sets

  CompletableFuture<Reply> sadd(RespClient c, ByteString key, List<ByteString> members) {
    return ask(c, Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(key).setW(c.w)
        .setSet(SetUpdate.newBuilder().addAllAdd(members))), r -> Reply.integer(r.getMerge().getAdded()));
  }

  /** SREM: removes the adds this node has seen (no context); a concurrent add elsewhere wins. */
  CompletableFuture<Reply> srem(RespClient c, ByteString key, List<ByteString> members) {
    return ask(c, Request.newBuilder().setMerge(MergeRequest.newBuilder().setKey(key).setW(c.w)
        .setSet(SetUpdate.newBuilder().addAllRemove(members))), r -> Reply.integer(r.getMerge().getRemoved()));
  }

  CompletableFuture<Reply> smembers(RespClient c, ByteString key) {
    return getValue(c, key).thenApply(v -> {
      if (v.error() != null) {
        return v.error();
      }
      Value value = v.value();
      return switch (value.getKindCase()) {
        case SET -> new Reply.Set(bulks(value.getSet().getElementsList()));
        case KIND_NOT_SET -> new Reply.Set(List.of());
        default -> RespCommands.WRONGTYPE;
      };
    });
  }

  CompletableFuture<Reply> sismember(RespClient c, ByteString key, ByteString member) {
    return ask(c, setRead(c, key).setContains(member), r -> Reply.integer(r.getSetRead().getContains() ? 1 : 0));
  }

  CompletableFuture<Reply> smismember(RespClient c, ByteString key, List<ByteString> members) {
    List<CompletableFuture<Reply>> each = new ArrayList<>(members.size());
    for (ByteString m : members) {
      each.add(sismember(c, key, m));
    }
    return allOf(each).thenApply(all -> {
      for (Reply r : all) {
        if (r instanceof Reply.Error) {
          return r;
        }
      }
      return new Reply.Array(all);
    });
  }

  CompletableFuture<Reply> scard(RespClient c, ByteString key) {
    return ask(c, setRead(c, key).setSize(SetSizeQuery.getDefaultInstance()),
        r -> Reply.integer(r.getSetRead().getSize()));
  }

  /** SSCAN: a page in hash order after the cursor (SetScanQuery); MATCH filters the page, as in Redis. */
  CompletableFuture<Reply> sscan(RespClient c, ByteString key, long cursor, int count, ByteString match) {
    return ask(c, setRead(c, key).setScan(SetScanQuery.newBuilder().setCursor(cursor)
        .setCount(Math.min(count, SSCAN_COUNT_MAX))), r -> {
          List<Reply> page = new ArrayList<>();
          for (ByteString e : r.getSetRead().getElementsList()) {
            if (match == null || Glob.matches(match, e)) {
              page.add(Reply.bulk(e));
            }
          }
          return new Reply.Array(List.of(Reply.bulk(Long.toUnsignedString(r.getSetRead().getScanCursor())),
              new Reply.Array(page)));
        });
  }

  private static SetReadRequest.Builder setRead(RespClient c, ByteString key) {
    return SetReadRequest.newBuilder().setKey(key).setR(c.r);
  }

  private CompletableFuture<Reply> ask(RespClient c, SetReadRequest.Builder read, Function<Response, Reply> ok) {
    return ask(c, Request.newBuilder().setSetRead(read), ok);
  }

  // ---------------------------------------------------------------- keys

  /** DEL and UNLINK: the lifecycle's delete of each key; the number that held something. */
  CompletableFuture<Reply> del(RespClient c, List<ByteString> keys) {
    List<CompletableFuture<Reply>> each = new ArrayList<>(keys.size());
    for (ByteString key : keys) {
      each.add(ask(c, Request.newBuilder().setDelete(DeleteRequest.newBuilder().setKey(key).setW(c.w)),
          r -> Reply.integer(r.getDelete().getDeleted() ? 1 : 0)));
    }
    return allOf(each).thenApply(all -> {
      long deleted = 0;
      for (Reply r : all) {
        if (r instanceof Reply.Error) {
          return r;
        }
        deleted += ((Reply.Int) r).value();
      }
      return Reply.integer(deleted);
    });
  }

  /**
   * The key's type as Redis names it, without reading a set whole: a set read's size answers for
   * a set (an empty set is no key, as in Redis), and its TYPE_MISMATCH means a counter or register.
   */
  CompletableFuture<String> type(RespClient c, ByteString key) {
    return call(c, Request.newBuilder().setSetRead(setRead(c, key).setSize(SetSizeQuery.getDefaultInstance())))
        .thenCompose(r -> {
          if (!r.hasError()) {
            return CompletableFuture.completedFuture(r.getSetRead().getSize() > 0 ? "set" : "none");
          }
          if (r.getError().getCode() == ErrorCode.TYPE_MISMATCH) {
            return CompletableFuture.completedFuture("string");
          }
          return CompletableFuture.failedFuture(new ErrorReply(RespCommands.errorOf(r.getError())));
        });
  }

  CompletableFuture<Reply> exists(RespClient c, List<ByteString> keys) {
    List<CompletableFuture<String>> each = new ArrayList<>(keys.size());
    for (ByteString key : keys) {
      each.add(type(c, key));
    }
    return allOf(each).thenApply(all -> Reply.integer(all.stream().filter(t -> !t.equals("none")).count()));
  }

  /** SCAN: segments of the node's Merkle tree (ScanRequest); MATCH and TYPE filter the page, as in Redis. */
  CompletableFuture<Reply> scan(RespClient c, long cursor, int count, ByteString match, String type) {
    return ask(c, Request.newBuilder().setScan(ScanRequest.newBuilder().setCursor(cursor)
        .setCount(Math.min(count, SCAN_COUNT_MAX))), r -> {
          List<Reply> keys = new ArrayList<>();
          for (io.latticekv.proto.ScannedKey k : r.getScan().getKeysList()) {
            String redisType = k.getType().equals("set") ? "set" : "string";
            if ((match == null || Glob.matches(match, k.getKey())) && (type == null || type.equals(redisType))) {
              keys.add(Reply.bulk(k.getKey()));
            }
          }
          return new Reply.Array(List.of(Reply.bulk(Long.toUnsignedString(r.getScan().getCursor())),
              new Reply.Array(keys)));
        });
  }

  // ---------------------------------------------------------------- plumbing

  /** A failure that carries the error reply it stands for. */
  static final class ErrorReply extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient Reply reply;

    ErrorReply(Reply reply) {
      super(null, null, false, false);
      this.reply = reply;
    }
  }

  CompletableFuture<Response> call(RespClient c, Request.Builder request) {
    return processor.process(request.build(), c.session);
  }

  private CompletableFuture<Reply> ask(RespClient c, Request.Builder request, Function<Response, Reply> ok) {
    return call(c, request).thenApply(r -> r.hasError() ? RespCommands.errorOf(r.getError()) : ok.apply(r));
  }

  static List<Reply> bulks(List<ByteString> items) {
    List<Reply> out = new ArrayList<>(items.size());
    for (ByteString b : items) {
      out.add(Reply.bulk(b));
    }
    return out;
  }

  private static CompletableFuture<Reply> done(Reply r) {
    return CompletableFuture.completedFuture(r);
  }

  private static <T> CompletableFuture<List<T>> allOf(List<CompletableFuture<T>> futures) {
    return CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      List<T> out = new ArrayList<>(futures.size());
      for (CompletableFuture<T> f : futures) {
        out.add(f.join());
      }
      return out;
    });
  }

  private static CompletableFuture<Reply> firstErrorOr(List<CompletableFuture<Reply>> each, Reply ok) {
    return allOf(each).thenApply(all -> {
      for (Reply r : all) {
        if (r instanceof Reply.Error) {
          return r;
        }
      }
      return ok;
    });
  }
}
