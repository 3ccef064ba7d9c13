package io.latticekv.server.resp;

import io.latticekv.server.api.ClientServer;
import io.latticekv.server.api.Limits;
import io.netty.buffer.Unpooled;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The RESP port (docs/resp.md): Redis's protocol, RESP2 and RESP3, on the client server's event
 * loops, beside the native port and under the same limits, TLS and logins. Each connection's
 * pipeline: {@link RespDecoder}, then {@link RespHandler}, which runs {@link RespCommands}.
 */
public final class RespPort {

  /**
   * Arguments one command may have at least, whatever --set-elements-max says: MSET of 2,047 pairs,
   * MGET or DEL of 4,095 keys. Past it, twice the set limit (plus name and key) lets SADD name as
   * many members as one set update may.
   */
  static final int ARGS_MIN = 4_096;

  private RespPort() {}

  /** Most arguments of one command under {@code limits}. */
  static int argsMax(Limits limits) {
    return Math.max(ARGS_MIN, 2 * limits.setElementsMax() + 2);
  }

  /**
   * Opens the RESP port of {@code server} on {@code address}.
   *
   * @param sync the node's sync policy, which INFO and CONFIG GET report
   */
  /** The bound port and what it counts. */
  public record Opened(InetSocketAddress address, RespStats stats) {}

  public static Opened open(ClientServer server, InetSocketAddress address, String sync)
      throws InterruptedException {
    ClientServer.PortContext port = server.portContext();
    Limits limits = port.limits();
    RespCommands commands = new RespCommands(port.processor(), port.store(), address.getPort(), sync);
    // Under sync=always writes run on a pool (each waits for its fsync), where two of one connection
    // could swap; a connection's commands then run one after another (pipelines still save round trips).
    boolean serial = sync.equals("always");
    InetSocketAddress bound = server.openPort("RESP", address,
        why -> Unpooled.copiedBuffer("-ERR " + why.replace('\r', ' ').replace('\n', ' ') + "\r\n",
            StandardCharsets.UTF_8),
        pipeline -> pipeline
            .addLast("flush", new FlushConsolidationHandler(256, true))
            .addLast("resp-decoder", new RespDecoder(argsMax(limits), Math.max(limits.keyBytesMax(),
                limits.valueBytesMax()), limits.frameBytesMax(), port.inputBudget(), limits.partialFrameTimeoutMs()))
            .addLast("resp", new RespHandler(commands, limits.inflightPerConnectionMax(),
                limits.inflightBytesPerConnectionMax(), port.inputBudget(), port.inflight(), serial)));
    commands.info.port(bound.getPort());
    return new Opened(bound, commands.stats);
  }
}
