package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Locale;

/**
 * One command as a client sent it: its arguments (the name first) and the bytes it took on the
 * wire, which count against the port's input budget until it is answered.
 */
final class RespCommand {

  private final List<ByteString> args;
  private final int bytes;
  private String name; // decoded once, on first use: the handler and the command table both ask

  RespCommand(List<ByteString> args, int bytes) {
    this.args = args;
    this.bytes = bytes;
  }

  List<ByteString> args() {
    return args;
  }

  int bytes() {
    return bytes;
  }

  /** The command's name, lower case, as the command table keys it. */
  String name() {
    if (name == null) {
      name = args.get(0).toStringUtf8().toLowerCase(Locale.ROOT);
    }
    return name;
  }

  ByteString arg(int i) {
    return args.get(i);
  }

  String text(int i) {
    return args.get(i).toStringUtf8();
  }

  int size() {
    return args.size();
  }

  @Override
  public String toString() {
    return "RespCommand" + args;
  }
}
