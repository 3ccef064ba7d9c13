package io.latticekv.server;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * {@code %node} in the log pattern: the first 8 hex digits of this process's node id, so that
 * the lines of several nodes logging to one terminal or file can be told apart. "-" until the
 * store has opened.
 */
public final class NodeIdConverter extends ClassicConverter {

  private static volatile String node = "-";

  public static void set(String nodeId) {
    node = nodeId.length() > 8 ? nodeId.substring(0, 8) : nodeId;
  }

  @Override
  public String convert(ILoggingEvent event) {
    return node;
  }
}
