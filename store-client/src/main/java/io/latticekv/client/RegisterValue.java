package io.latticekv.client;

import com.google.protobuf.ByteString;

/**
 * An LWW-register as read: its value, the hybrid-logical-clock timestamp of the write that set it
 * (48 bits of milliseconds since the epoch, then 16 logical bits) and the writer's id in hex.
 */
public record RegisterValue(ByteString value, long timestamp, String writer) {

  public String asString() {
    return value.toStringUtf8();
  }

  /** Milliseconds since the Unix epoch of the write. */
  public long timestampMillis() {
    return timestamp >>> 16;
  }

  static RegisterValue of(io.latticekv.proto.RegisterValue proto) {
    StringBuilder hex = new StringBuilder();
    for (byte b : proto.getWriter().toByteArray()) {
      hex.append(String.format("%02x", b));
    }
    return new RegisterValue(proto.getValue(), proto.getTimestamp(), hex.toString());
  }
}
