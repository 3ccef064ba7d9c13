package io.latticekv.client;

import io.latticekv.proto.Request;
import io.latticekv.proto.Response;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends a client's requests: to the node in use, moving to the next address when one cannot be
 * reached, resending what may be resent ({@link LatticeClient}'s failover rules).
 */
final class Requests {

  private final List<InetSocketAddress> addresses;
  private final long requestTimeoutMillis;
  private final boolean retryNonIdempotent;
  private final ConnectionPool connections;
  private final AtomicLong ids;
  private final AtomicInteger preferred = new AtomicInteger();
  private volatile boolean closed;

  Requests(List<InetSocketAddress> addresses, long requestTimeoutMillis, boolean retryNonIdempotent,
      ConnectionPool connections, AtomicLong ids) {
    this.addresses = addresses;
    this.requestTimeoutMillis = requestTimeoutMillis;
    this.retryNonIdempotent = retryNonIdempotent;
    this.connections = connections;
    this.ids = ids;
  }

  CompletableFuture<Response> execute(Request.Builder request, boolean idempotent) {
    if (closed) {
      return CompletableFuture.failedFuture(new LatticeException(io.latticekv.proto.ErrorCode.UNAVAILABLE, "the client is closed"));
    }
    Request built = request.setId(ids.incrementAndGet()).build();
    CompletableFuture<Response> result = new CompletableFuture<>();
    attempt(built, idempotent, preferred.get(), addresses.size(), null, result);
    return result;
  }

  private void attempt(Request request, boolean idempotent, int index, int triesLeft,
      Throwable lastFailure, CompletableFuture<Response> result) {
    if (triesLeft == 0) {
      result.completeExceptionally(new LatticeUnavailableException(
          "no node reachable at " + addresses.stream().map(Requests::hostPort).toList() + ": "
              + describe(lastFailure), lastFailure));
      return;
    }
    int at = Math.floorMod(index, addresses.size());
    connections.connection(at).thenCompose(conn -> conn.send(request, requestTimeoutMillis)).whenComplete((response, failure) -> {
      if (failure == null) {
        preferred.set(at);
        if (response.hasError()) {
          result.completeExceptionally(new LatticeException(response.getError().getCode(), response.getError().getMessage()));
        } else {
          result.complete(response);
        }
        return;
      }
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      if (cause instanceof LatticeException e) {
        result.completeExceptionally(e); // timeouts: never retried, the request may still apply
      } else if (cause instanceof NodeConnection.Lost && !(idempotent || retryNonIdempotent)) {
        result.completeExceptionally(new LatticeUnavailableException(cause.getMessage()
            + "; the update may or may not have been applied, and is not retried because it is not idempotent", cause));
      } else {
        preferred.compareAndSet(at, at + 1);
        attempt(request, idempotent, at + 1, triesLeft - 1, cause, result);
      }
    });
  }


  static String describe(Throwable t) {
    if (t instanceof NodeConnection.NotSent || t instanceof NodeConnection.Lost) {
      return t.getMessage(); // says what happened, in the user's terms (TLS, login)
    }
    return ConnectionPool.rootMessage(t);
  }


  static String hostPort(InetSocketAddress address) {
    return address.getHostString() + ":" + address.getPort();
  }


  /** Whether {@code host} is this machine's loopback, by name or literal address (no DNS lookup). */
  static boolean isLoopback(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    if (!host.matches("[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]*")) {
      return false; // a name: it may resolve anywhere
    }
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress(); // a literal: parsed, not looked up
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  void close() {
    closed = true;
    connections.close();
  }
}
