package io.latticekv.client;

/** The value of a key, whatever its type: what the generic {@code get} and {@code merge} return. */
public sealed interface Value {

  record Counter(long value) implements Value {}

  record Set(SetValue value) implements Value {}

  record Register(RegisterValue value) implements Value {}

  static Value of(io.latticekv.proto.Value proto) {
    return switch (proto.getKindCase()) {
      case COUNTER -> new Counter(proto.getCounter());
      case SET -> new Set(SetValue.of(proto.getSet()));
      case REGISTER -> new Register(RegisterValue.of(proto.getRegister()));
      case KIND_NOT_SET -> throw new LatticeException(
          io.latticekv.proto.ErrorCode.INTERNAL, "the server sent a value of a type this client does not know");
    };
  }
}
