package io.latticekv.server.metrics;

import com.sun.net.httpserver.HttpServer;
import io.latticekv.core.storage.Store;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's metrics in Micrometer, served in Prometheus' text format on {@code /metrics}:
 * requests and latency per operation, errors by code, storage, cache, rumors, anti-entropy,
 * members by state, whether this node's trees matched every peer's, and the JVM.
 */
public final class NodeMetrics implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);

  /** Status snapshots are reused for this long, so that one scrape asks the protocol thread once. */
  private static final long SNAPSHOT_MILLIS = 500;

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();
  private final Map<ErrorCode, Counter> errors = new ConcurrentHashMap<>();
  private final Supplier<StatusResponse> status;
  private volatile StatusResponse snapshot;
  private volatile long snapshotAt;
  private HttpServer http;

  /** The RESP port's counters (docs/resp.md), once it is open. */
  public void bindResp(io.latticekv.server.resp.RespStats resp) {
    Gauge.builder("lattice_resp_connections", resp, io.latticekv.server.resp.RespStats::connected)
        .description("RESP connections open").register(registry);
    FunctionCounter.builder("lattice_resp_connections_received", resp,
        io.latticekv.server.resp.RespStats::connectionsReceived).description("RESP connections accepted").register(registry);
    FunctionCounter.builder("lattice_resp_commands", resp, io.latticekv.server.resp.RespStats::commandsProcessed)
        .description("RESP commands run (each also counts as the native requests it makes)").register(registry);
    FunctionCounter.builder("lattice_resp_connections_refused", resp,
        io.latticekv.server.resp.RespStats::connectionsRefused)
        .description("RESP connections closed for broken or hostile input, a login missing or failed").register(registry);
  }

  public NodeMetrics(Store store, Supplier<StatusResponse> status) {
    this.status = status;
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    Gauge.builder("lattice_keys", store, Store::estimatedKeyCount).description("keys stored (RocksDB estimate)").register(registry);
    Gauge.builder("lattice_storage_bytes", store, Store::diskBytes).description("bytes in SST files and memtables").register(registry);
    Gauge.builder("lattice_cache_hit_ratio", store, Store::cacheHitRate).description("decoded-value cache hits / lookups").register(registry);
    FunctionCounter.builder("lattice_writes_applied", store, Store::writesApplied)
        .description("writes applied to the store: client writes, rumors, repairs").register(registry);
    FunctionCounter.builder("lattice_rocksdb_writes", store, Store::rocksDbWrites)
        .description("RocksDB writes that stored them: one per batch (writes per batch = the ratio of the rates)")
        .register(registry);
    gauge("lattice_rumor_queue", "hot rumors waiting to be spread", StatusResponse::getRumorQueue);
    gauge("lattice_rumors_sent", "rumors pushed or sent in answer to pulls", StatusResponse::getRumorsSent);
    gauge("lattice_rumors_received", "rumors received", StatusResponse::getRumorsReceived);
    gauge("lattice_rumors_new", "received rumors that were news here", StatusResponse::getRumorsNew);
    gauge("lattice_rumors_dropped", "rumors dropped from a full queue, or a key's rumor grown past 16 KiB (anti-entropy repairs them)", StatusResponse::getRumorsDropped);
    gauge("lattice_ae_exchanges", "anti-entropy exchanges this node started", StatusResponse::getExchangesRun);
    gauge("lattice_ae_keys_repaired", "keys changed here by anti-entropy", StatusResponse::getKeysRepaired);
    gauge("lattice_ae_set_parts_sent", "parts of large sets sent: sets repaired by their differing buckets, not whole",
        StatusResponse::getSetPartsSent);
    gauge("lattice_ae_bytes_sent", "bytes of anti-entropy messages sent", StatusResponse::getAntiEntropyBytesSent);
    gauge("lattice_peer_bytes_sent", "bytes of all peer messages sent", StatusResponse::getPeerBytesSent);
    gauge("lattice_converged", "1 when the last exchange with every reachable peer found equal trees", NodeMetrics::converged);
    gauge("lattice_replicas", "this node and the members it knows as replicas: the n of quorum and all",
        StatusResponse::getReplicas);
    gauge("lattice_status_snapshot_age_ms", "age of the cluster status; grows when the protocol thread stalls",
        StatusResponse::getSnapshotAgeMs);
    gauge("lattice_client_input_bytes", "client input held in memory (frames arriving, requests unanswered)",
        StatusResponse::getClientInputBytes);
    gauge("lattice_client_input_evictions", "frames dropped because the client input budget ran out",
        StatusResponse::getClientInputEvictions);
    gauge("lattice_peer_input_bytes", "peer frames arriving, held in memory", StatusResponse::getPeerInputBytes);
    gauge("lattice_peer_messages_dropped", "messages to peers dropped: connection not ready or not keeping up",
        StatusResponse::getPeerMessagesDropped);
    gauge("lattice_peer_connections_accepted", "inbound peer connections accepted since start",
        StatusResponse::getPeerConnectionsAccepted);
    gauge("lattice_peer_connections_refused", "peer connections closed for broken or hostile input or over the limit",
        StatusResponse::getPeerConnectionsRefused);
    gauge("lattice_storage_tasks_refused", "peer work refused because the storage queue was full",
        StatusResponse::getStorageTasksRefused);
    for (String reason : new String[] {"key_too_large", "value_too_large", "clock_drift", "overflow", "type_mismatch",
        "storage_error"}) {
      FunctionCounter.builder("lattice_peer_states_refused", store, st -> st.peerStatesRefused().getOrDefault(reason, 0L))
          .tag("reason", reason).description("states from peers refused by the state policy").register(registry);
    }
    FunctionCounter.builder("lattice_catchup_keys_stored_whole", store, st -> st.keysStoredAsStreamed())
        .description("keys a catch-up stream brought that were new here, stored as they came without a merge")
        .register(registry);
    FunctionCounter.builder("lattice_catchup_tables_ingested", store, st -> st.tablesIngested())
        .description("table files of streamed states ingested into RocksDB").register(registry);
    gauge("lattice_epoch", "the cluster epoch this node is at (docs/lifecycle.md); -1 before it takes one",
        st -> st.getLifecycle().getEpoch());
    gauge("lattice_epoch_waiting_for", "participants the epoch waits for: not yet exchanged with at this epoch",
        st -> st.getLifecycle().getWaitingForCount());
    gauge("lattice_tombstones", "dead lives the last sweep found (deleted data not yet collectable)",
        st -> st.getLifecycle().getTombstones());
    gauge("lattice_retired_marks", "retired replica ids the last sweep found marked in keys",
        st -> st.getLifecycle().getRetiredMarks());
    gauge("lattice_keys_collected", "keys that left the store because every life was collected, since start",
        st -> st.getLifecycle().getKeysCollected());
    gauge("lattice_fenced_messages", "peer data refused: from nodes two epochs behind, or from removed members",
        st -> st.getLifecycle().getFencedMessages() + st.getLifecycle().getFencedRumors());
    gauge("lattice_members_removed", "members removed for good", st -> st.getLifecycle().getRemovedCount());
    gauge("lattice_catchup_segments_left", "differing Merkle segments the exchange under way has left (0: none)",
        st -> st.getCatchUp().getSegmentsLeft());
    gauge("lattice_catchup_keys_per_second", "keys per second the exchange under way takes in",
        st -> st.getCatchUp().getKeysPerSecond());
    gauge("lattice_catchup_eta_seconds", "the exchange under way's estimate of the time left (-1: unknown, 0: none)",
        st -> st.hasCatchUp() ? st.getCatchUp().getEtaMs() / 1000.0 : 0);
    for (String state : new String[] {"alive", "suspect", "dead", "left", "removed"}) {
      Gauge.builder("lattice_members", this, m -> m.current().getMembersList().stream()
              .filter(x -> x.getStatus().equals(state)).count())
          .tag("state", state).description("members by state, this node included").register(registry);
    }
  }

  private void gauge(String name, String description, ToDoubleFunction<StatusResponse> value) {
    Gauge.builder(name, this, m -> value.applyAsDouble(m.current())).description(description).register(registry);
  }

  private StatusResponse current() {
    long now = System.currentTimeMillis();
    if (snapshot == null || now - snapshotAt > SNAPSHOT_MILLIS) {
      snapshot = status.get();
      snapshotAt = now;
    }
    return snapshot;
  }

  /** 1 when every reachable peer's last exchange with this node matched, 0 otherwise. */
  public static double converged(StatusResponse s) {
    for (MemberInfo m : s.getMembersList()) {
      if (m.getLastHeardMsAgo() < 0 || !(m.getStatus().equals("alive") || m.getStatus().equals("suspect"))) {
        continue;
      }
      boolean matched = s.getExchangesList().stream()
          .anyMatch(e -> e.getPeer().equals(m.getNodeId()) && e.getMatched());
      if (!matched) {
        return 0;
      }
    }
    return 1;
  }

  /** Records one request: its operation, its latency, and its error code if it failed. */
  public void request(String op, long nanos, ErrorCode error) {
    timers.computeIfAbsent(op, o -> Timer.builder("lattice_requests").tag("op", o)
        .description("client requests by operation").publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(10).dividedBy(100)).maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry)).record(Duration.ofNanos(nanos));
    if (error != null) {
      errors.computeIfAbsent(error, c -> Counter.builder("lattice_errors").tag("code", c.name())
          .description("requests that failed, by error code").register(registry)).increment();
    }
  }

  /** Serves {@code /metrics} on {@code address}. */
  public void serve(InetSocketAddress address) throws IOException {
    http = HttpServer.create(address, 16);
    http.createContext("/metrics", exchange -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    http.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "lattice-metrics");
      t.setDaemon(true);
      return t;
    }));
    http.start();
    log.info("metrics on http://{}:{}/metrics", address.getHostString(), http.getAddress().getPort());
  }

  public int port() {
    return http == null ? -1 : http.getAddress().getPort();
  }

  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
    }
    registry.close();
  }
}
