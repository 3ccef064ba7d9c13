package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * One command as a client sent it: its arguments (the name first) and the bytes it took on the
 * wire, which count against the port's input budget until it is answered.
 */
record RespCommand(List<ByteString> args, int bytes) {

  /** The command's name, lower case, as the command table keys it. */
  String name() {
    return args.get(0).toStringUtf8().toLowerCase(java.util.Locale.ROOT);
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
}
