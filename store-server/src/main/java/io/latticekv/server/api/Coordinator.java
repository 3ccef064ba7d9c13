package io.latticekv.server.api;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.proto.Level;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Coordinates a request with the other replicas when its level asks for more than this node: a
 * write at {@code w = quorum | all} waits for that many replicas to apply it durably; a read at
 * {@code r = quorum | all} merges that many replicas' states and writes the merge back to the
 * stale ones (read repair). Failures are {@link io.latticekv.core.replication.LevelNotMetException}s.
 */
public interface Coordinator {

  /** Completes once replicas enough for {@code level}, this one included, hold {@code delta}. */
  CompletableFuture<Void> replicate(ByteString key, Crdt<?> delta, Level level);

  /** The join of replicas enough for {@code level}, this one's {@code local} state included. */
  CompletableFuture<Optional<Crdt<?>>> read(ByteString key, Optional<Crdt<?>> local, Level level);

  /** A node on its own: it is every replica, so every level is met by itself. */
  Coordinator LOCAL = new Coordinator() {
    @Override
    public CompletableFuture<Void> replicate(ByteString key, Crdt<?> delta, Level level) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Optional<Crdt<?>>> read(ByteString key, Optional<Crdt<?>> local, Level level) {
      return CompletableFuture.completedFuture(local);
    }
  };

}
