package io.latticekv.client;

import com.google.protobuf.ByteString;
import io.latticekv.proto.CounterUpdate;
import io.latticekv.proto.CrdtValue;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.MergeRequest;
import io.latticekv.proto.PutRequest;
import io.latticekv.proto.RegisterAssign;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.SetUpdate;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Java client of LatticeKV. Thread-safe: share one instance across the application.
 *
 * <pre>{@code
 * try (LatticeClient client = LatticeClient.builder().addresses("127.0.0.1:7379").build()) {
 *   client.increment("page:views", 1);
 *   client.add("tags", "red", "green");           // answers the set's size
 *   boolean red = client.contains("tags", "red");
 *   client.put("greeting", "hello");
 *   long views = client.counter("page:views");
 * }
 * }</pre>
 *
 * <p>Each method comes blocking and as {@code ...Async}, returning a {@link CompletableFuture}.
 * Failures are {@link LatticeException}s: the server's error code and message, {@link
 * LatticeTimeoutException} when no answer comes in time, {@link LatticeUnavailableException} when
 * no node can be reached.
 *
 * <p><b>Connections and failover.</b> The client keeps {@code poolSize} connections to the node it
 * is using, opened on first use and reopened after a node restarts. When a node cannot be reached
 * it moves to the next address. A request that never left is always sent elsewhere. A request whose
 * connection died after it was sent may have been applied: reads, register puts, set updates and
 * state merges are idempotent and are sent again; counter increments are not, because a retried
 * increment may count twice, unless the builder's {@code retryNonIdempotent(true)} says to. A
 * timed-out request is never retried: it may still be applied.
 */
public final class LatticeClient implements AutoCloseable {

  private final io.latticekv.proto.Level writeLevel;
  private final io.latticekv.proto.Level readLevel;
  private final Requests requests;

  private LatticeClient(Builder b) {
    if (b.addresses.isEmpty()) {
      throw new IllegalArgumentException("at least one address is needed");
    }
    List<InetSocketAddress> addresses = List.copyOf(b.addresses);
    long requestTimeoutMillis = b.requestTimeout.toMillis();
    this.writeLevel = b.writeLevel;
    this.readLevel = b.readLevel;
    if (b.credentials != null && b.tlsCa == null && !b.credentialsWithoutTls) {
      for (InetSocketAddress a : addresses) {
        if (!Requests.isLoopback(a.getHostString())) {
          throw new IllegalArgumentException("credentials without TLS would send the password to " + a.getHostString()
              + ":" + a.getPort() + " in the clear: give the cluster's CA (.tls(caPem), lattice --tls-ca FILE), or "
              + "allowCredentialsWithoutTls() on a network you trust");
        }
      }
    }
    io.netty.handler.ssl.SslContext tls = b.tlsCa == null ? null
        : ConnectionPool.tlsContext(b.tlsCa, b.tlsCert, b.tlsKey);
    AtomicLong ids = new AtomicLong();
    ConnectionPool connections = new ConnectionPool(addresses, b.poolSize, b.ioThreads, b.connectTimeout,
        b.frameBytesMax, tls, b.credentials, ids::incrementAndGet, requestTimeoutMillis);
    this.requests = new Requests(addresses, requestTimeoutMillis, b.retryNonIdempotent, connections, ids);
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------- counters

  /** Adds {@code amount} (negative: subtracts) to a counter; returns its new value. Not idempotent. */
  public CompletableFuture<Long> incrementAsync(String key, long amount) {
    MergeRequest.Builder merge = MergeRequest.newBuilder().setKey(utf8(key))
        .setCounter(CounterUpdate.newBuilder().setAmount(amount));
    return mergeAsync(merge, false).thenApply(v -> ((Value.Counter) expect(v, Value.Counter.class, key)).value());
  }

  public long increment(String key, long amount) {
    return await(incrementAsync(key, amount));
  }

  public long decrement(String key, long amount) {
    if (amount == Long.MIN_VALUE) {
      throw new IllegalArgumentException("cannot decrement by 2^63");
    }
    return increment(key, -amount);
  }

  /** The counter's value; 0 for a key never written. */
  public CompletableFuture<Long> counterAsync(String key) {
    return getAsync(utf8(key)).thenApply(v -> v.map(value -> ((Value.Counter) expect(value, Value.Counter.class, key)).value())
        .orElse(0L));
  }

  public long counter(String key) {
    return await(counterAsync(key));
  }

  // ---------------------------------------------------------------- sets

  /**
   * Adds elements to a set; returns how many elements it holds after. The set itself is not sent
   * back (a large set would cost its whole size per add): {@link #addAndGet} asks for it.
   */
  public CompletableFuture<Long> addAsync(String key, String... elements) {
    return sizeAfter(key, SetUpdate.newBuilder().addAllAdd(utf8(elements)));
  }

  public long add(String key, String... elements) {
    return await(addAsync(key, elements));
  }

  /** Adds elements to a set; returns the set after, whole (in one answer: for sets that fit one). */
  public SetValue addAndGet(String key, String... elements) {
    return wholeSet(key, SetUpdate.newBuilder().addAllAdd(utf8(elements)));
  }

  /** Removes the elements' adds this node has seen; returns how many elements the set holds after. */
  public CompletableFuture<Long> removeAsync(String key, String... elements) {
    return sizeAfter(key, SetUpdate.newBuilder().addAllRemove(utf8(elements)));
  }

  public long remove(String key, String... elements) {
    return await(removeAsync(key, elements));
  }

  /**
   * Removes only the adds of the elements that the read which returned {@code context} saw; an
   * add made concurrently elsewhere survives. Returns how many elements the set holds after.
   */
  public CompletableFuture<Long> removeAsync(String key, SetContext context, String... elements) {
    return sizeAfter(key, SetUpdate.newBuilder().addAllRemove(utf8(elements)).setContext(context.bytes()));
  }

  public long remove(String key, SetContext context, String... elements) {
    return await(removeAsync(key, context, elements));
  }

  /** Removes the elements' adds this node has seen; returns the set after, whole. */
  public SetValue removeAndGet(String key, String... elements) {
    return wholeSet(key, SetUpdate.newBuilder().addAllRemove(utf8(elements)));
  }

  /**
   * Applies a set update (adds, removes, a context); answers the set's size after it, and the set
   * itself when it holds at most {@code bodyMax} elements (0: never; the node sends it whole, so
   * keep this to sets that fit one answer). Idempotent.
   */
  public CompletableFuture<SetWritten> updateSetAsync(String key, SetUpdate update, int bodyMax) {
    MergeRequest.Builder merge = MergeRequest.newBuilder().setKey(utf8(key)).setSet(update).setReturnBodyMax(bodyMax)
        .setW(writeLevel);
    return requests.execute(Request.newBuilder().setMerge(merge), true).thenApply(r -> {
      io.latticekv.proto.MergeResponse answer = r.getMerge();
      Optional<SetValue> set = answer.hasValue()
          ? Optional.of(((Value.Set) expect(Value.of(answer.getValue()), Value.Set.class, key)).value())
          : Optional.empty();
      return new SetWritten(answer.getSize(), set);
    });
  }

  public SetWritten updateSet(String key, SetUpdate update, int bodyMax) {
    return await(updateSetAsync(key, update, bodyMax));
  }

  /** An update answered with the set's size only: what a write to a large set should cost. */
  private CompletableFuture<Long> sizeAfter(String key, SetUpdate.Builder update) {
    return updateSetAsync(key, update.build(), 0).thenApply(SetWritten::size);
  }

  private SetValue wholeSet(String key, SetUpdate.Builder update) {
    SetWritten written = await(updateSetAsync(key, update.build(), -1)); // -1: 2^32 - 1, every set
    return written.set().orElse(new SetValue(List.of(), new SetContext(ByteString.EMPTY)));
  }

  /** Whether the set holds {@code element}: asked of the node, without reading the set. */
  public CompletableFuture<Boolean> containsAsync(String key, String element) {
    return setRead(key, io.latticekv.proto.SetReadRequest.newBuilder().setContains(utf8(element)))
        .thenApply(io.latticekv.proto.SetReadResponse::getContains);
  }

  public boolean contains(String key, String element) {
    return await(containsAsync(key, element));
  }

  /** How many elements the set holds; 0 for a key never written. */
  public CompletableFuture<Long> sizeAsync(String key) {
    return setRead(key, io.latticekv.proto.SetReadRequest.newBuilder()
        .setSize(io.latticekv.proto.SetSizeQuery.getDefaultInstance())).thenApply(io.latticekv.proto.SetReadResponse::getSize);
  }

  public long size(String key) {
    return await(sizeAsync(key));
  }

  /**
   * Up to {@code limit} elements of the set (at most 10,000; 0: the node's default, 1,000) after
   * {@code cursor} ({@link SetCursor#START} for the first page), in order: a set of any size read a
   * page at a time.
   */
  public CompletableFuture<SetPage> elementsAsync(String key, SetCursor cursor, int limit) {
    return setRead(key, io.latticekv.proto.SetReadRequest.newBuilder().setPage(io.latticekv.proto.SetPageQuery
        .newBuilder().setCursor(cursor.bytes()).setLimit(limit))).thenApply(r -> new SetPage(r.getElementsList(),
            r.getSize(), r.getCursor().isEmpty() ? Optional.empty() : Optional.of(new SetCursor(r.getCursor()))));
  }

  public SetPage elements(String key, SetCursor cursor, int limit) {
    return await(elementsAsync(key, cursor, limit));
  }

  /**
   * Every element of the set, in order, read {@code pageSize} at a time as the iterator moves on
   * (each page a request; a page fails with the {@link LatticeException} of its read).
   */
  public java.util.Iterator<ByteString> iterateElements(String key, int pageSize) {
    return new SetIterator(cursor -> elements(key, cursor, pageSize));
  }

  private CompletableFuture<io.latticekv.proto.SetReadResponse> setRead(String key,
      io.latticekv.proto.SetReadRequest.Builder read) {
    return requests.execute(Request.newBuilder().setSetRead(read.setKey(utf8(key)).setR(readLevel)), true)
        .thenApply(Response::getSetRead);
  }

  /**
   * The set's elements and context, whole; empty for a key never written. A set too large for one
   * answer is refused (VALUE_TOO_LARGE): read it with {@link #elements(String, SetCursor, int)}.
   */
  public CompletableFuture<SetValue> elementsAsync(String key) {
    return getAsync(utf8(key)).thenApply(v -> v.map(value -> ((Value.Set) expect(value, Value.Set.class, key)).value())
        .orElse(new SetValue(List.of(), new SetContext(ByteString.EMPTY))));
  }

  public SetValue elements(String key) {
    return await(elementsAsync(key));
  }

  // ---------------------------------------------------------------- registers

  /** Assigns a register; returns it after the write. */
  public CompletableFuture<RegisterValue> putAsync(ByteString key, ByteString value) {
    Request.Builder request = Request.newBuilder()
        .setPut(PutRequest.newBuilder().setKey(key).setValue(value).setW(writeLevel));
    return requests.execute(request, true).thenApply(r -> RegisterValue.of(r.getPut().getValue()));
  }

  public RegisterValue put(String key, String value) {
    return await(putAsync(utf8(key), utf8(value)));
  }

  public RegisterValue put(String key, byte[] value) {
    return await(putAsync(utf8(key), ByteString.copyFrom(value)));
  }

  /** The register's value; empty for a key never written. */
  public CompletableFuture<Optional<RegisterValue>> registerAsync(String key) {
    return getAsync(utf8(key)).thenApply(v -> v.map(value -> ((Value.Register) expect(value, Value.Register.class, key)).value()));
  }

  public Optional<RegisterValue> register(String key) {
    return await(registerAsync(key));
  }

  // ---------------------------------------------------------------- generic

  /** The value of any key; empty when it was never written. */
  public CompletableFuture<Optional<Value>> getAsync(ByteString key) {
    Request.Builder request = Request.newBuilder().setGet(GetRequest.newBuilder().setKey(key).setR(readLevel));
    return requests.execute(request, true).thenApply(r ->
        r.getGet().hasValue() ? Optional.of(Value.of(r.getGet().getValue())) : Optional.empty());
  }

  public Optional<Value> get(String key) {
    return await(getAsync(utf8(key)));
  }

  /**
   * Applies a merge request (counter update, set update, register assign, or a whole state) to
   * {@code key}; returns the value after. The request's key is replaced by {@code key}.
   */
  public CompletableFuture<Value> mergeAsync(ByteString key, MergeRequest update) {
    boolean idempotent = update.getUpdateCase() != MergeRequest.UpdateCase.COUNTER;
    return mergeAsync(update.toBuilder().setKey(key), idempotent);
  }

  public Value merge(String key, MergeRequest update) {
    return await(mergeAsync(utf8(key), update));
  }

  /** Joins a whole encoded CRDT state into the key's state; returns the value after. Idempotent. */
  public Value mergeState(String key, CrdtValue state) {
    return merge(key, MergeRequest.newBuilder().setState(state).build());
  }

  /** Assigns a register through the generic merge. */
  public Value merge(String key, RegisterAssign assign) {
    return merge(key, MergeRequest.newBuilder().setRegister(assign).build());
  }

  private CompletableFuture<Value> mergeAsync(MergeRequest.Builder merge, boolean idempotent) {
    if (merge.getW() == io.latticekv.proto.Level.LEVEL_ONE) {
      merge.setW(writeLevel);
    }
    return requests.execute(Request.newBuilder().setMerge(merge), idempotent)
        .thenApply(r -> Value.of(r.getMerge().getValue()));
  }

  // ---------------------------------------------------------------- deletes and inspection

  /**
   * Deletes {@code key} as the node holds it: what that node has seen of it is removed, and an
   * update it has not seen yet (made concurrently elsewhere) survives. The key then reads as absent
   * and may be written again with any type. Completes with whether there was something to delete.
   * Not retried on a lost connection: a retry would also delete what was written in between.
   */
  public CompletableFuture<Boolean> deleteAsync(String key) {
    return delete(utf8(key), ByteString.EMPTY, false);
  }

  public boolean delete(String key) {
    return await(deleteAsync(key));
  }

  /** Deletes exactly what the read that returned {@code context} saw. Idempotent. */
  public CompletableFuture<Boolean> deleteAsync(String key, ReadContext context) {
    return delete(utf8(key), context.bytes(), true);
  }

  public boolean delete(String key, ReadContext context) {
    return await(deleteAsync(key, context));
  }

  /** Deletes exactly what the set read that returned {@code context} saw. Idempotent. */
  public boolean delete(String key, SetContext context) {
    return await(delete(utf8(key), context.bytes(), true));
  }

  private CompletableFuture<Boolean> delete(ByteString key, ByteString context, boolean idempotent) {
    Request.Builder request = Request.newBuilder().setDelete(io.latticekv.proto.DeleteRequest.newBuilder()
        .setKey(key).setContext(context).setW(writeLevel));
    return requests.execute(request, idempotent).thenApply(r -> r.getDelete().getDeleted());
  }

  /** The node's raw state of {@code key}: its lives, floors and tombstones (docs/lifecycle.md). */
  public io.latticekv.proto.InspectResponse inspect(String key) {
    return await(requests.execute(Request.newBuilder().setInspect(io.latticekv.proto.InspectRequest.newBuilder()
        .setKey(utf8(key))), true).thenApply(Response::getInspect));
  }

  // ---------------------------------------------------------------- members (admin)

  /** Removes a dead member for good; returns the node's answer. */
  public String removeMember(String nodeIdHex) {
    return await(requests.execute(Request.newBuilder().setRemoveMember(io.latticekv.proto.RemoveMemberRequest.newBuilder()
        .setNodeId(nodeIdHex)), true).thenApply(r -> r.getRemoveMember().getDetail()));
  }

  /**
   * Asks the node to hand everything it holds to another member, leave for good and stop; completes
   * when it has handed its data over and is leaving (it may take a while).
   */
  public CompletableFuture<String> decommissionAsync() {
    return requests.execute(Request.newBuilder().setDecommission(io.latticekv.proto.DecommissionRequest.getDefaultInstance()),
        false).thenApply(r -> r.getDecommission().getDetail());
  }

  // ---------------------------------------------------------------- status

  /** What the node knows about itself and its cluster. */
  public CompletableFuture<io.latticekv.proto.StatusResponse> statusAsync() {
    return requests.execute(Request.newBuilder().setStatus(io.latticekv.proto.StatusRequest.getDefaultInstance()), true)
        .thenApply(Response::getStatus);
  }

  public io.latticekv.proto.StatusResponse status() {
    return await(statusAsync());
  }

  /**
   * Test-only fault injection: the node drops all peer traffic with {@code peerAddresses} (an
   * empty list heals). Refused unless the node runs with --enable-fault-injection.
   */
  public void dropPeerTraffic(List<String> peerAddresses) {
    await(requests.execute(Request.newBuilder().setFault(io.latticekv.proto.FaultRequest.newBuilder()
        .addAllDropPeers(peerAddresses)), true));
  }

  // ---------------------------------------------------------------- execution

  @Override
  public void close() {
    requests.close();
  }

  // ---------------------------------------------------------------- helpers

  private static Value expect(Value value, Class<? extends Value> type, String key) {
    if (!type.isInstance(value)) {
      throw new LatticeException(io.latticekv.proto.ErrorCode.TYPE_MISMATCH,
          "key '" + key + "' holds a " + typeName(value) + ", not a " + typeName(type));
    }
    return value;
  }

  private static String typeName(Object valueOrClass) {
    Class<?> c = valueOrClass instanceof Class<?> k ? k : valueOrClass.getClass();
    return c == Value.Counter.class ? "counter" : c == Value.Set.class ? "set" : "register";
  }

  private static ByteString utf8(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static List<ByteString> utf8(String... elements) {
    return Arrays.stream(elements).map(ByteString::copyFromUtf8).toList();
  }

  /** Waits for {@code future}, rethrowing its {@link LatticeException} as is. */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof LatticeException le) {
        throw le;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new LatticeException(io.latticekv.proto.ErrorCode.INTERNAL, String.valueOf(cause), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LatticeException(io.latticekv.proto.ErrorCode.UNAVAILABLE, "interrupted while waiting for an answer", e);
    }
  }

  /** Settings of a {@link LatticeClient}. */
  public static final class Builder {
    private final List<InetSocketAddress> addresses = new ArrayList<>();
    private Duration connectTimeout = Duration.ofSeconds(2);
    private Duration requestTimeout = Duration.ofSeconds(5);
    private int poolSize = 2;
    private int ioThreads = 1;
    private boolean retryNonIdempotent;
    private int frameBytesMax = 64 << 20;
    private io.latticekv.proto.Level writeLevel = io.latticekv.proto.Level.LEVEL_ONE;
    private io.latticekv.proto.Level readLevel = io.latticekv.proto.Level.LEVEL_ONE;
    private Path tlsCa;
    private Path tlsCert;
    private Path tlsKey;
    private ConnectionPool.Credentials credentials;
    private boolean credentialsWithoutTls;

    /**
     * Speak TLS, trusting only nodes whose certificate is signed by the CA in {@code caPem} and
     * names the host dialed.
     */
    public Builder tls(Path caPem) {
      this.tlsCa = caPem;
      return this;
    }

    /** TLS as {@link #tls(Path)}, presenting a client certificate, which logs its user in. */
    public Builder tls(Path caPem, Path certPem, Path keyPem) {
      this.tlsCa = caPem;
      this.tlsCert = certPem;
      this.tlsKey = keyPem;
      return this;
    }

    /**
     * Log every connection in as {@code user} (a node with an auth file requires it). Needs {@link
     * #tls(Path)} unless every address is loopback, or {@link #allowCredentialsWithoutTls()}: the
     * password would cross the network in the clear.
     */
    public Builder credentials(String user, String password) {
      this.credentials = new ConnectionPool.Credentials(user, password);
      return this;
    }

    /** Send {@link #credentials} without TLS to non-loopback addresses too (a network you trust). */
    public Builder allowCredentialsWithoutTls() {
      this.credentialsWithoutTls = true;
      return this;
    }

    /**
     * How many replicas must durably apply a write before it is acknowledged: LEVEL_ONE (the
     * coordinator, the default), LEVEL_QUORUM or LEVEL_ALL. A write that cannot reach its level
     * fails with UNAVAILABLE and a message saying how many replicas acknowledged; it may still
     * have been applied at those, and will spread from them.
     */
    public Builder writeLevel(io.latticekv.proto.Level level) {
      this.writeLevel = level;
      return this;
    }

    /**
     * How many replicas a read merges (LEVEL_ONE by default); stale ones are repaired with the
     * merge.
     */
    public Builder readLevel(io.latticekv.proto.Level level) {
      this.readLevel = level;
      return this;
    }

    /** Node addresses, tried in order: {@code "host:port,host:port"}. */
    public Builder addresses(String hostPorts) {
      for (String part : hostPorts.split(",")) {
        addresses.add(parseAddress(part.trim()));
      }
      return this;
    }

    public Builder addresses(List<InetSocketAddress> list) {
      addresses.addAll(list);
      return this;
    }

    /** How long to wait for a TCP connection before trying the next address (default 2 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = timeout;
      return this;
    }

    /** How long to wait for an answer; past it the request fails with a timeout (default 5 s). */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = timeout;
      return this;
    }

    /** Connections kept to the node in use; more spreads load over event loops (default 2). */
    public Builder poolSize(int size) {
      if (size < 1) {
        throw new IllegalArgumentException("pool size must be at least 1");
      }
      this.poolSize = size;
      return this;
    }

    /** Netty I/O threads of this client (default 1). */
    public Builder ioThreads(int threads) {
      this.ioThreads = threads;
      return this;
    }

    /**
     * Also resend counter increments whose connection died before their answer. They may then
     * count twice; off by default.
     */
    public Builder retryNonIdempotent(boolean retry) {
      this.retryNonIdempotent = retry;
      return this;
    }

    public LatticeClient build() {
      return new LatticeClient(this);
    }

    static InetSocketAddress parseAddress(String hostPort) {
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0 || colon == hostPort.length() - 1) {
        throw new IllegalArgumentException("address must be HOST:PORT, got '" + hostPort + "'");
      }
      String host = hostPort.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("port must be a number in '" + hostPort + "'");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port out of range in '" + hostPort + "'");
      }
      return InetSocketAddress.createUnresolved(host, port);
    }
  }
}
