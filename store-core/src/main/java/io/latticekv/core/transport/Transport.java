package io.latticekv.core.transport;

/**
 * The narrow outbound side of the network that protocol logic sees: best-effort delivery of one
 * message to a peer address. It may drop, delay or reorder; it never blocks the caller.
 */
@FunctionalInterface
public interface Transport {
  void send(String address, PeerMessage message);
}
