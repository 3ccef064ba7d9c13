package io.latticekv.client;

/**
 * The value of a key, whatever its type: what the generic {@code get} and {@code merge} return,
 * with the context of the read that returned it.
 */
public sealed interface Value {

  /** What the read saw: a delete given it removes exactly that. */
  ReadContext context();

  record Counter(long value, ReadContext context) implements Value {}

  record Set(SetValue value, ReadContext context) implements Value {}

  record Register(RegisterValue value, ReadContext context) implements Value {}

  static Value of(io.latticekv.proto.Value proto) {
    ReadContext context = new ReadContext(proto.getContext());
    return switch (proto.getKindCase()) {
      case COUNTER -> new Counter(proto.getCounter(), context);
      case SET -> new Set(SetValue.of(proto.getSet()), context);
      case REGISTER -> new Register(RegisterValue.of(proto.getRegister()), context);
      case KIND_NOT_SET -> throw new LatticeException(
          io.latticekv.proto.ErrorCode.INTERNAL, "the server sent a value of a type this client does not know");
    };
  }
}
