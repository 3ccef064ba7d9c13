package io.latticekv.server.resp;

import java.util.concurrent.atomic.LongAdder;

/** What the RESP port counts, for INFO and the node's metrics. */
public final class RespStats {

  final LongAdder connectionsReceived = new LongAdder();
  final LongAdder commandsProcessed = new LongAdder();
  final LongAdder connectionsRefused = new LongAdder();
  final java.util.concurrent.atomic.AtomicInteger connected = new java.util.concurrent.atomic.AtomicInteger();

  /** Connections accepted since start. */
  public long connectionsReceived() {
    return connectionsReceived.sum();
  }

  /** Commands run since start, unknown ones and refused ones included. */
  public long commandsProcessed() {
    return commandsProcessed.sum();
  }

  /** Connections closed for broken or hostile input, a budget run out, a missing login or too many failed ones. */
  public long connectionsRefused() {
    return connectionsRefused.sum();
  }

  /** Connections open now. */
  public int connected() {
    return connected.get();
  }
}
