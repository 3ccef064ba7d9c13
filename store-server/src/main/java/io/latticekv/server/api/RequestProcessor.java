package io.latticekv.server.api;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.CounterOverflowException;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.CrdtCodec;
import io.latticekv.core.crdt.CrdtDecodeException;
import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.crdt.CrdtUpdate;
import io.latticekv.core.crdt.KeyContext;
import io.latticekv.core.crdt.Lives;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.OrSet;
import io.latticekv.core.storage.Applied;
import io.latticekv.core.storage.Store;
import io.latticekv.proto.CounterUpdate;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.GetRequest;
import io.latticekv.proto.GetResponse;
import io.latticekv.proto.MergeRequest;
import io.latticekv.proto.MergeResponse;
import io.latticekv.proto.PutRequest;
import io.latticekv.proto.PutResponse;
import io.latticekv.proto.RegisterValue;
import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import io.latticekv.proto.SetUpdate;
import io.latticekv.proto.SetValue;
import io.latticekv.proto.Value;
import io.latticekv.server.security.AuthException;
import io.latticekv.server.security.Authenticator;
import io.latticekv.server.security.Role;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Turns client requests into storage operations and their outcomes into responses. Knows nothing
 * of Netty: the handler feeds it decoded requests, tests call it directly.
 *
 * <p>Every failure a client can cause becomes an error with a code and a sentence ({@link Errors});
 * only a bug or a storage failure becomes {@code INTERNAL}, and is logged.
 */
public final class RequestProcessor {

  private final Store store;
  private final Limits limits;
  private final Executor reads;
  private final StoreWriter writer;
  private final Replicator replicator;
  private final Coordinator coordinator;
  private final java.util.function.Supplier<io.latticekv.proto.StatusResponse> status;

  /** Told of every answered request, for metrics. */
  @FunctionalInterface
  public interface Observer {
    void answered(String op, long nanos, ErrorCode errorOrNull);

    Observer NONE = (op, nanos, error) -> {};
  }

  private volatile Observer observer = Observer.NONE;

  public void observe(Observer newObserver) {
    this.observer = newObserver;
  }

  /** Told of every delta a client write applied, to spread it to the other replicas. */
  @FunctionalInterface
  public interface Replicator {
    void replicated(ByteString key, Crdt<?> delta);

    Replicator NONE = (key, delta) -> {};
  }

  /** How client writes reach the store. */
  public interface StoreWriter {
    /** Applies one write; the future fails with what {@link Store#apply} would throw. */
    CompletableFuture<Applied> apply(ByteString key, CrdtUpdate update);

    /** Called on a reader's thread before it reads, so the read sees writes that came before it. */
    default void beforeRead() {}

    /** Each write applied by itself on {@code executor}. */
    static StoreWriter on(Store store, Executor executor) {
      return (key, update) -> CompletableFuture.supplyAsync(() -> store.apply(key, update), executor);
    }
  }

  /**
   * @param reads where reads run
   * @param writes where writes run. Either may be the caller's own thread ({@code Runnable::run}):
   *     reads and unsynced writes take microseconds, and running them on the event loop saves two
   *     thread hops per request; writes that fsync (sync ALWAYS) block for milliseconds and belong
   *     on a pool.
   */
  public RequestProcessor(Store store, Limits limits, Executor reads, Executor writes) {
    this(store, limits, reads, StoreWriter.on(store, writes), Replicator.NONE, Coordinator.LOCAL, aloneStatus(store));
  }

  /** The status of a node outside any cluster: its id, nothing else. */
  static java.util.function.Supplier<io.latticekv.proto.StatusResponse> aloneStatus(Store store) {
    return () -> io.latticekv.proto.StatusResponse.newBuilder().setNodeId(store.nodeId().toString()).build();
  }

  /**
   * @param reads where reads run
   * @param writer how writes reach the store: one by one on an executor, or in batches
   *     ({@link WriteCombiner})
   */
  public RequestProcessor(Store store, Limits limits, Executor reads, StoreWriter writer, Replicator replicator,
      Coordinator coordinator, java.util.function.Supplier<io.latticekv.proto.StatusResponse> status) {
    this.store = store;
    this.limits = limits;
    this.reads = reads;
    this.writer = writer;
    this.replicator = replicator;
    this.coordinator = coordinator;
    this.status = status;
  }

  /** A refusal with a code, raised while checking or executing a request. */
  public static final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final ErrorCode code;

    public Refusal(ErrorCode code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  /** Who may log in, or null: no auth file, every connection may do everything. */
  private volatile Authenticator authenticator;

  /** Requires clients to log in as the users of {@code auth} (--auth-file). */
  public void requireLogins(Authenticator auth) {
    this.authenticator = auth;
  }

  /** Whether connections must log in. */
  public Authenticator authenticator() {
    return authenticator;
  }

  /** Each request kind's name in metrics, computed once (not a string per request). */
  private static final String[] OP_NAMES = java.util.Arrays.stream(Request.BodyCase.values())
      .map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).toArray(String[]::new);

  /** Processes {@code request} as an admin (tests, tools inside the node). */
  public CompletableFuture<Response> process(Request request) {
    return process(request, Session.admin());
  }

  /**
   * Processes {@code request} for the connection of {@code session}; the future always completes
   * normally, with an answer or an error.
   */
  public CompletableFuture<Response> process(Request request, Session session) {
    long id = request.getId();
    long start = System.nanoTime();
    String op = OP_NAMES[request.getBodyCase().ordinal()];
    CompletableFuture<Response> answer;
    try {
      Authenticator.Principal who = request.getBodyCase() == Request.BodyCase.AUTH ? null : allowed(request, session);
      refuseIfOutOfService(request.getBodyCase());
      answer = switch (request.getBodyCase()) {
        case AUTH -> login(request.getAuth(), session);
        case GET -> get(request.getGet());
        case PUT -> put(request.getPut());
        case MERGE -> merge(request.getMerge());
        case DELETE -> delete(request.getDelete());
        case INSPECT -> inspect(request.getInspect());
        case SET_READ -> setRead(request.getSetRead());
        case SCAN -> CompletableFuture.supplyAsync(() -> {
          writer.beforeRead();
          return Response.newBuilder().setScan(KeyScans.scan(store, request.getScan())).build();
        }, reads);
        case REMOVE_MEMBER -> members.removeMember(request.getRemoveMember().getNodeId())
            .thenApply(detail -> Response.newBuilder().setRemoveMember(
                io.latticekv.proto.RemoveMemberResponse.newBuilder().setDetail(detail)).build());
        case DECOMMISSION -> members.decommission().thenApply(detail -> Response.newBuilder().setDecommission(
            io.latticekv.proto.DecommissionResponse.newBuilder().setDetail(detail)).build());
        case FAULT -> CompletableFuture.supplyAsync(() -> fault(request.getFault()), reads);
        case STATUS -> CompletableFuture.supplyAsync(() -> Response.newBuilder()
            .setStatus(who.role().allows(Role.ADMIN) ? status.get() : basic(status.get())).build(), reads);
        case BODY_NOT_SET -> throw new Refusal(ErrorCode.UNKNOWN_REQUEST,
            "request " + Long.toUnsignedString(id) + " has no body this node understands");
      };
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    return answer.handle((response, failure) -> {
      Response out = failure != null ? Errors.error(id, Errors.unwrap(failure))
          : response.getId() == id ? response : response.toBuilder().setId(id).build();
      observer.answered(op, System.nanoTime() - start, out.hasError() ? out.getError().getCode() : null);
      return out;
    });
  }

  /**
   * Who the session is logged in as, if it may make {@code request}: reads need {@code read},
   * writes {@code write}; whole-state merges and fault injection {@code admin} (docs/security.md).
   *
   * @throws AuthException when it is not logged in, or its role does not allow the request
   */
  private Authenticator.Principal allowed(Request request, Session session) {
    Authenticator auth = authenticator;
    Authenticator.Principal who = auth == null ? Authenticator.ANYONE : session.principal();
    if (who == null) {
      throw new AuthException(AuthException.Kind.UNAUTHENTICATED, session.whyNotLoggedIn());
    }
    if (auth != null && who != Authenticator.ANYONE) { // ANYONE: a call from inside the node
      who = auth.current(who); // the auth file may have changed since the login
    }
    Role needed = switch (request.getBodyCase()) {
      case GET, SET_READ, SCAN, STATUS, AUTH, INSPECT, BODY_NOT_SET -> Role.READ;
      case PUT, DELETE -> Role.WRITE;
      case REMOVE_MEMBER, DECOMMISSION -> Role.ADMIN;
      case MERGE -> request.getMerge().hasState() ? Role.ADMIN : Role.WRITE;
      case FAULT -> Role.ADMIN;
    };
    if (!who.role().allows(needed)) {
      throw new AuthException(AuthException.Kind.FORBIDDEN, "user '" + who.user() + "' has the " + who.role().label()
          + " role; " + describe(request) + " needs " + needed.label());
    }
    return who;
  }

  private static String describe(Request request) {
    return switch (request.getBodyCase()) {
      case MERGE -> request.getMerge().hasState() ? "a whole-state merge" : "a write";
      case PUT -> "a write";
      case FAULT -> "fault injection";
      case DELETE -> "a delete";
      case REMOVE_MEMBER -> "removing a member";
      case DECOMMISSION -> "decommissioning a node";
      default -> "this request";
    };
  }

  /** What a user below admin sees of status: the node, not the cluster's inner workings. */
  private static io.latticekv.proto.StatusResponse basic(io.latticekv.proto.StatusResponse full) {
    return io.latticekv.proto.StatusResponse.newBuilder().setNodeId(full.getNodeId()).setSync(full.getSync())
        .setKeysEstimated(full.getKeysEstimated()).setMerkleRoot(full.getMerkleRoot()).addAllWarnings(full.getWarningsList())
        .setRestricted(true).build();
  }

  private CompletableFuture<Response> login(io.latticekv.proto.AuthRequest auth, Session session) {
    Authenticator authenticator = this.authenticator;
    if (authenticator == null) {
      return CompletableFuture.completedFuture(Response.newBuilder().setAuth(io.latticekv.proto.AuthResponse.newBuilder()
          .setUser(auth.getUser()).setRole(Role.ADMIN.label()).setMethod("none")).build());
    }
    if (!session.beginLogin()) {
      throw new AuthException(AuthException.Kind.UNAUTHENTICATED,
          "a login is already being checked on this connection; wait for its answer");
    }
    return authenticator.login(auth.getUser(), auth.getPassword().toCharArray(), session.source())
        .whenComplete((who, failure) -> session.endLogin(who))
        .thenApply(who -> Response.newBuilder().setAuth(io.latticekv.proto.AuthResponse.newBuilder()
            .setUser(who.user()).setRole(who.role().label()).setMethod(who.method())).build());
  }

  /** Where admin requests about members go: the cluster, or nowhere for a node alone. */
  private volatile MemberAdmin members = MemberAdmin.ALONE;

  /**
   * Why this node takes no writes (it is decommissioning, or was removed), or null; reads go on.
   * Why it answers no reads or writes at all (it discards a restored backup's keys), or null.
   */
  private volatile String writesRefused;
  private volatile Supplier<String> dataRefused = () -> null;

  /** From now on writes are refused with {@code reason} (a decommission stops them before the hand-over). */
  public void refuseWrites(String reason) {
    this.writesRefused = reason;
  }

  /** While {@code reason} gives a reason, reads and writes are refused with it (a node catching up from nothing). */
  public void refuseData(Supplier<String> reason) {
    this.dataRefused = reason;
  }

  private void refuseIfOutOfService(Request.BodyCase body) {
    boolean write = body == Request.BodyCase.PUT || body == Request.BodyCase.MERGE || body == Request.BodyCase.DELETE;
    boolean read = body == Request.BodyCase.GET || body == Request.BodyCase.SET_READ || body == Request.BodyCase.INSPECT
        || body == Request.BodyCase.SCAN;
    String refused = writesRefused;
    if (write && refused != null) {
      throw new Refusal(ErrorCode.UNAVAILABLE, refused);
    }
    String noData = (write || read) ? dataRefused.get() : null;
    if (noData != null) {
      throw new Refusal(ErrorCode.UNAVAILABLE, noData);
    }
  }

  public void administerMembers(MemberAdmin admin) {
    this.members = admin;
  }

  /** Where fault-injection requests go; null refuses them (the default). */
  private volatile java.util.function.Consumer<java.util.Set<String>> faults;

  public void enableFaultInjection(java.util.function.Consumer<java.util.Set<String>> dropPeers) {
    this.faults = dropPeers;
  }

  private Response fault(io.latticekv.proto.FaultRequest request) {
    if (faults == null) {
      throw new Refusal(ErrorCode.BAD_REQUEST, "fault injection is disabled on this node (--enable-fault-injection)");
    }
    faults.accept(new java.util.HashSet<>(request.getDropPeersList()));
    return Response.newBuilder().setFault(io.latticekv.proto.FaultResponse.newBuilder()
        .addAllDropping(request.getDropPeersList())).build();
  }

  private CompletableFuture<Response> get(GetRequest get) {
    ByteString key = checkKey(get.getKey());
    return read(key, get.getR()).thenApply(state -> {
      GetResponse.Builder body = GetResponse.newBuilder();
      boolean context = !get.getWithoutContext();
      state.flatMap(lives -> view(lives, context)).ifPresent(body::setValue);
      if (body.hasValue() && body.getValue().hasSet() && body.getValue().getSerializedSize() > Limits.ANSWER_BYTES_MAX) {
        throw new Refusal(ErrorCode.VALUE_TOO_LARGE, "the set at key " + io.latticekv.core.storage.Store.printable(key)
            + " holds " + body.getValue().getSet().getElementsCount() + " elements, " + body.getValue().getSerializedSize()
            + " bytes: more than one answer carries (" + Limits.ANSWER_BYTES_MAX + " bytes); read it in pages (a set "
            + "read's page query: LatticeClient.elements(key, cursor, limit), lattice smembers KEY --limit N)");
      }
      return Response.newBuilder().setGet(body).build();
    });
  }

  /** The key's state here, or at {@code level} joined with other replicas' (a read repair). */
  private CompletableFuture<Optional<Lives>> read(ByteString key, io.latticekv.proto.Level level) {
    CompletableFuture<Optional<Crdt<?>>> local = CompletableFuture.supplyAsync(() -> {
      writer.beforeRead();
      return store.get(key).map(state -> (Crdt<?>) state);
    }, reads);
    CompletableFuture<Optional<Crdt<?>>> value = level == io.latticekv.proto.Level.LEVEL_ONE
        ? local
        : local.thenCompose(state -> coordinator.read(key, state, level));
    return value.thenApply(state -> state.map(Lives::of));
  }

  private CompletableFuture<Response> setRead(io.latticekv.proto.SetReadRequest read) {
    ByteString key = checkKey(read.getKey());
    SetReads.check(read, limits.valueBytesMax());
    if (read.getQueryCase() == io.latticekv.proto.SetReadRequest.QueryCase.CONTAINS) {
      checkValue(read.getContains(), "set element");
    }
    CompletableFuture<Optional<io.latticekv.proto.SetReadResponse>> large = read.getR() != io.latticekv.proto.Level.LEVEL_ONE
        ? CompletableFuture.completedFuture(Optional.empty())
        : CompletableFuture.supplyAsync(() -> { // a large set answers from the rows the answer holds
          writer.beforeRead();
          try {
            return store.largeSet(key).flatMap(set -> SetReads.answer(read, set, limits.valueBytesMax()));
          } catch (io.latticekv.core.storage.LayoutChanged changed) {
            return Optional.<io.latticekv.proto.SetReadResponse>empty(); // stored whole meanwhile: read whole
          }
        }, reads);
    return large.thenCompose(answer -> answer.isPresent()
        ? CompletableFuture.completedFuture(Response.newBuilder().setSetRead(answer.get()).build())
        : read(key, read.getR()).thenApply(state -> Response.newBuilder()
            .setSetRead(SetReads.answer(read, state, limits.valueBytesMax())).build()));
  }

  private CompletableFuture<Response> put(PutRequest put) {
    ByteString key = checkKey(put.getKey());
    checkValue(put.getValue(), "value");
    return write(key, new CrdtUpdate.RegisterAssign(put.getValue()), put.getW(), applied -> Response.newBuilder()
        .setPut(PutResponse.newBuilder().setValue(registerView(applied.state().register()))).build());
  }

  private CompletableFuture<Response> merge(MergeRequest merge) {
    ByteString key = checkKey(merge.getKey());
    CrdtUpdate update = switch (merge.getUpdateCase()) {
      case COUNTER -> counterUpdate(merge.getCounter());
      case SET -> setUpdate(merge.getSet());
      case REGISTER -> {
        checkValue(merge.getRegister().getValue(), "value");
        yield new CrdtUpdate.RegisterAssign(merge.getRegister().getValue());
      }
      case STATE -> {
        Crdt<?> state;
        try {
          state = CrdtCodec.fromProto(merge.getState());
        } catch (CrdtDecodeException e) {
          throw new Refusal(ErrorCode.INVALID_STATE, "the state to merge is invalid: " + e.getMessage());
        }
        int elements = state instanceof OrSet set ? set.size() : 0;
        if (state instanceof Lives lives) { // a whole key state, as lattice inspect shows it: joined as it is
          for (io.latticekv.core.crdt.Life life : lives.lives()) {
            elements += life.data() instanceof OrSet set ? set.size() : 0;
          }
        }
        if (elements > limits.setElementsMax()) {
          throw new Refusal(ErrorCode.TOO_MANY_ELEMENTS, "the set state to merge has " + elements
              + " elements; the limit is " + limits.setElementsMax() + " per request, as for an update");
        }
        // Sizes, clock drift and counter range are checked by the store, as for every state from outside.
        yield new CrdtUpdate.JoinState(state);
      }
      case UPDATE_NOT_SET -> throw new Refusal(ErrorCode.BAD_REQUEST, "merge request carries no update");
    };
    if (merge.getUpdateCase() == MergeRequest.UpdateCase.SET) {
      // Without the body by default: an add to a large set answers a few bytes, not the set.
      long bodyMax = Integer.toUnsignedLong(merge.getReturnBodyMax());
      return write(key, update, merge.getW(), applied -> {
        int size = applied.elementCount();
        MergeResponse.Builder answer = MergeResponse.newBuilder().setSize(size)
            .setAdded(changedElements(merge.getSet().getAddList(), applied.before()::contains, applied::containsAfter))
            .setRemoved(changedElements(merge.getSet().getRemoveList(), applied::containsAfter, applied.before()::contains));
        if (size <= bodyMax) {
          view(applied.state(), !merge.getWithoutContext()).ifPresent(answer::setValue);
        }
        return Response.newBuilder().setMerge(answer).build();
      });
    }
    return write(key, update, merge.getW(), applied -> Response.newBuilder()
        .setMerge(MergeResponse.newBuilder().setValue(view(applied.state(), !merge.getWithoutContext())
            .orElse(Value.getDefaultInstance()))).build());
  }

  /**
   * How many distinct {@code elements} {@code from} did not hold and {@code to} holds: with the
   * states before and after a set update, the elements it added (Redis's SADD answer); with them
   * swapped, the elements it removed (SREM's). Binary searches, so cheap at any set size.
   */
  private static long changedElements(java.util.List<ByteString> elements,
      java.util.function.Predicate<ByteString> from, java.util.function.Predicate<ByteString> to) {
    if (elements.isEmpty()) {
      return 0;
    }
    java.util.Set<ByteString> seen = elements.size() == 1 ? null : new java.util.HashSet<>();
    long n = 0;
    for (ByteString e : elements) {
      if ((seen == null || seen.add(e)) && !from.test(e) && to.test(e)) {
        n++;
      }
    }
    return n;
  }

  private static CrdtUpdate counterUpdate(CounterUpdate counter) {
    if (counter.getAmount() == Long.MIN_VALUE) {
      throw new Refusal(ErrorCode.OVERFLOW, "cannot subtract 2^63 from a counter");
    }
    return new CrdtUpdate.CounterAdd(counter.getAmount());
  }

  private CrdtUpdate setUpdate(SetUpdate set) {
    int elements = set.getAddCount() + set.getRemoveCount();
    if (elements == 0) {
      throw new Refusal(ErrorCode.BAD_REQUEST, "set update adds and removes nothing");
    }
    if (elements > limits.setElementsMax()) {
      throw new Refusal(ErrorCode.TOO_MANY_ELEMENTS, "set update names " + elements
          + " elements; the limit is " + limits.setElementsMax() + " per request");
    }
    set.getAddList().forEach(e -> checkValue(e, "set element"));
    set.getRemoveList().forEach(e -> checkValue(e, "set element"));
    Optional<KeyContext> observed = context(set.getContext(), "remove");
    return new CrdtUpdate.SetUpdate(set.getAddList(), set.getRemoveList(), observed);
  }

  /** The context a client sent back (from a read), or none when it sent none. */
  private static Optional<KeyContext> context(ByteString bytes, String what) {
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(KeyContext.decode(bytes));
    } catch (CrdtDecodeException e) {
      throw new Refusal(ErrorCode.INVALID_STATE, "the " + what + " context is invalid: " + e.getMessage()
          + " (send back the context a read returned)");
    }
  }

  private CompletableFuture<Response> delete(io.latticekv.proto.DeleteRequest delete) {
    ByteString key = checkKey(delete.getKey());
    CrdtUpdate update = new CrdtUpdate.Delete(context(delete.getContext(), "delete"));
    return writer.apply(key, update)
        .thenApply(applied -> {
          if (applied.changed() && !applied.delta().isEmpty()) {
            replicator.replicated(key, applied.delta());
          }
          return applied;
        })
        .thenCompose(applied -> applied.durable()
            .thenCompose(done -> delete.getW() == io.latticekv.proto.Level.LEVEL_ONE || applied.delta().isEmpty()
                ? CompletableFuture.completedFuture(null)
                : coordinator.replicate(key, applied.delta(), delete.getW()))
            .thenApply(done -> Response.newBuilder().setDelete(io.latticekv.proto.DeleteResponse.newBuilder()
                .setDeleted(!applied.delta().isEmpty())).build()));
  }

  private CompletableFuture<Response> inspect(io.latticekv.proto.InspectRequest inspect) {
    ByteString key = checkKey(inspect.getKey());
    return CompletableFuture.supplyAsync(() -> {
      writer.beforeRead();
      io.latticekv.proto.InspectResponse.Builder body = io.latticekv.proto.InspectResponse.newBuilder()
          .setEpoch(Math.max(0, store.epoch()));
      store.get(key).ifPresent(state -> body.setState(CrdtCodec.toProto(state)).setEncodedBytes(state.encode().length));
      return Response.newBuilder().setInspect(body).build();
    }, reads);
  }

  /**
   * Applies on the executor; answers once the write is as durable as the sync policy says here,
   * and, for {@code w} above one, once enough other replicas have it too.
   */
  private CompletableFuture<Response> write(ByteString key, CrdtUpdate update, io.latticekv.proto.Level w,
      java.util.function.Function<Applied, Response> answer) {
    return writer.apply(key, update).thenCompose(applied -> {
      if (applied.changed()) {
        replicator.replicated(key, applied.delta());
      }
      CompletableFuture<Void> durable = applied.durable();
      if (w == io.latticekv.proto.Level.LEVEL_ONE && durable.isDone() && !durable.isCompletedExceptionally()) {
        return CompletableFuture.completedFuture(answer.apply(applied)); // the common case, without three more stages
      }
      return durable
          .thenCompose(done -> w == io.latticekv.proto.Level.LEVEL_ONE
              ? CompletableFuture.completedFuture(null)
              : coordinator.replicate(key, applied.delta(), w))
          .thenApply(done -> answer.apply(applied));
    });
  }

  // ---------------------------------------------------------------- validation

  private ByteString checkKey(ByteString key) {
    if (key.isEmpty()) {
      throw new Refusal(ErrorCode.BAD_REQUEST, "the key is empty");
    }
    if (key.size() > limits.keyBytesMax()) {
      throw new Refusal(ErrorCode.KEY_TOO_LARGE, "the key has " + key.size()
          + " bytes; the limit is " + limits.keyBytesMax());
    }
    return key;
  }

  private void checkValue(ByteString value, String what) {
    if (value.size() > limits.valueBytesMax()) {
      throw new Refusal(ErrorCode.VALUE_TOO_LARGE, "the " + what + " has " + value.size()
          + " bytes; the limit is " + limits.valueBytesMax());
    }
  }

  // ---------------------------------------------------------------- views

  /**
   * The value a reader sees, with the context of what it saw; empty when the key reads as nothing
   * (never written, or deleted). A counter outside the 64-bit range is an OVERFLOW error. Without
   * {@code withContext} the context is left empty (a request's {@code without_context}).
   */
  static Optional<Value> view(Lives state, boolean withContext) {
    Optional<CrdtType> type = state.visibleType();
    if (type.isEmpty()) {
      return Optional.empty();
    }
    ByteString context = withContext ? state.context().encode() : ByteString.EMPTY;
    Value.Builder value = Value.newBuilder().setContext(context);
    switch (type.get()) {
      case PN_COUNTER -> {
        try {
          value.setCounter(state.counterValue());
        } catch (CounterOverflowException e) {
          throw new Refusal(ErrorCode.OVERFLOW, e.getMessage());
        }
      }
      case OR_SET -> value.setSet(SetValue.newBuilder().addAllElements(state.elements()).setContext(context));
      default -> value.setRegister(registerView(state.register()));
    }
    return Optional.of(value.build());
  }

  private static RegisterValue registerView(LwwRegister register) {
    RegisterValue.Builder view = RegisterValue.newBuilder();
    if (!register.isEmpty()) {
      view.setValue(register.value())
          .setTimestamp(register.timestamp().packed())
          .setWriter(register.writer().toBytes());
    }
    return view.build();
  }
}
