package io.latticekv.tests;

import com.google.protobuf.ByteString;
import io.latticekv.core.cluster.Replica;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.merkle.KeyDigest;
import io.latticekv.core.merkle.MerkleTree;
import io.latticekv.core.transport.PeerMessage.KeyState;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.locks.LockSupport;

/**
 * A replica made slow on purpose, for tests: each storage operation takes {@code opDelayMs}
 * longer, and {@link #freezeTreeOnce} makes the next read of the in-memory tree — which happens
 * on the protocol thread — hang for a while, as a stuck protocol thread would.
 */
final class SlowReplica implements Replica {

  private final Replica delegate;
  volatile long opDelayMs;
  private volatile long freezeTreeMs;

  SlowReplica(Replica delegate) {
    this.delegate = delegate;
  }

  private volatile RuntimeException throwFromTree;

  /** The next call to {@link #tree()} throws {@code e} (on the protocol thread, that is). */
  void throwFromTreeOnce(RuntimeException e) {
    throwFromTree = e;
  }

  /** The next call to {@link #tree()} hangs for {@code ms}. */
  void freezeTreeOnce(long ms) {
    freezeTreeMs = ms;
  }

  /** Takes {@code ms} of wall time on the calling thread: the slowness is what is being simulated. */
  private static void take(long ms) {
    long until = System.nanoTime() + ms * 1_000_000;
    for (long left; (left = until - System.nanoTime()) > 0; ) {
      LockSupport.parkNanos(left);
    }
  }

  @Override
  public MerkleTree tree() {
    RuntimeException planted = throwFromTree;
    if (planted != null) {
      throwFromTree = null;
      throw planted;
    }
    long freeze = freezeTreeMs;
    if (freeze > 0) {
      freezeTreeMs = 0;
      take(freeze);
    }
    return delegate.tree();
  }

  @Override
  public List<KeyDigest> segmentEntries(int segment) {
    take(opDelayMs);
    return delegate.segmentEntries(segment);
  }

  @Override
  public Optional<Crdt<?>> get(ByteString key) {
    take(opDelayMs);
    return delegate.get(key);
  }

  @Override
  public boolean[] mergeAll(List<KeyState> states) {
    take(opDelayMs);
    return delegate.mergeAll(states);
  }

  @Override
  public boolean[] mergeParts(List<io.latticekv.core.transport.PeerMessage.SetPart> parts) {
    take(opDelayMs);
    return delegate.mergeParts(parts);
  }

  @Override
  public boolean[] mergeStored(List<io.latticekv.core.transport.PeerMessage.StoredState> stored) {
    take(opDelayMs);
    return delegate.mergeStored(stored);
  }

  @Override
  public CompletionStage<Void> mergeDurable(ByteString key, Crdt<?> state) {
    take(opDelayMs);
    return delegate.mergeDurable(key, state);
  }

  @Override
  public io.latticekv.core.crdt.NodeId replicaId() {
    return delegate.replicaId();
  }

  @Override
  public long epoch() {
    return delegate.epoch();
  }

  @Override
  public void setEpoch(long next) {
    delegate.setEpoch(next);
  }

  @Override
  public void resetEpoch(long next) {
    delegate.resetEpoch(next);
  }

  @Override
  public io.latticekv.core.lifecycle.LifecycleRecord lifecycleRecord() {
    return delegate.lifecycleRecord();
  }

  @Override
  public void saveLifecycleRecord(io.latticekv.core.lifecycle.LifecycleRecord record) {
    delegate.saveLifecycleRecord(record);
  }

  @Override
  public io.latticekv.core.storage.SweepStep sweep(byte[] from, int maxKeys,
      List<io.latticekv.core.crdt.NodeId> retire) {
    take(opDelayMs);
    return delegate.sweep(from, maxKeys, retire);
  }

  @Override
  public List<io.latticekv.core.crdt.NodeId> retiredToPrune(long epoch) {
    return delegate.retiredToPrune(epoch);
  }

  @Override
  public void markPruned(io.latticekv.core.crdt.NodeId id) {
    delegate.markPruned(id);
  }

  @Override
  public void adopt(io.latticekv.core.crdt.NodeId id, long epoch) {
    delegate.adopt(id, epoch);
  }

  @Override
  public boolean takeLifecycleWork() {
    return delegate.takeLifecycleWork();
  }

  @Override
  public Discarded discardAll() {
    return delegate.discardAll();
  }

  @Override
  public void keepOwnWrites() {
    delegate.keepOwnWrites();
  }

  @Override
  public void forgetOwnWrites() {
    delegate.forgetOwnWrites();
  }

  @Override
  public boolean ownWritesOverflowed() {
    return delegate.ownWritesOverflowed();
  }

  @Override
  public StreamChunk streamStates(int[] segments, ByteString resumeAfter, int maxBytes, int maxStates) {
    take(opDelayMs);
    return delegate.streamStates(segments, resumeAfter, maxBytes, maxStates);
  }
}
