package io.latticekv.core.crdt;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import io.latticekv.proto.CausalContextState;
import io.latticekv.proto.CrdtValue;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The canonical encoding of CRDT states: a {@link CrdtValue} envelope (format version, then the
 * state of one type) whose repeated fields are sorted as {@code crdt.proto} prescribes. Equal
 * states give identical bytes, so digests and Merkle leaves can compare replicas byte for byte.
 *
 * <p>Decoding validates everything: malformed protobuf, unknown versions and broken invariants all
 * give a {@link CrdtDecodeException} saying what is wrong. Protobuf checks every length prefix
 * against the bytes actually present before allocating, so a forged length cannot cause a huge
 * allocation, and the nesting depth is bounded.
 */
public final class CrdtCodec {

  /** The format version of key states ({@link Lives}), which is what nodes store and send. It reads 1 and 2. */
  public static final int FORMAT_VERSION = 2;
  /** Typed states alone (what clients merge; what nodes stored before lives): read as a key of one life. */
  public static final int FORMAT_VERSION_TYPED = 1;

  /** Nesting deeper than any valid state needs (the envelope is 4 levels deep at most). */
  private static final int RECURSION_LIMIT = 16;

  private CrdtCodec() {}

  /** The canonical bytes of {@code state}. */
  public static byte[] encode(Crdt<?> state) {
    if (state instanceof OrSet set) {
      return set.encodeEnvelope(); // the same bytes, without a builder per element
    }
    if (state instanceof Lives lives && lives.lives().stream().anyMatch(l -> l.type() == CrdtType.OR_SET)) {
      return LifeCodec.encodeLives(lives); // the same bytes, each set without a builder per element
    }
    return toProto(state).toByteArray();
  }

  /** The canonical envelope of {@code state}. */
  public static CrdtValue toProto(Crdt<?> state) {
    CrdtValue.Builder envelope = CrdtValue.newBuilder()
        .setFormatVersion(state instanceof Lives ? FORMAT_VERSION : FORMAT_VERSION_TYPED);
    if (state instanceof PnCounter counter) {
      envelope.setPnCounter(counter.toProto());
    } else if (state instanceof OrSet set) {
      envelope.setOrSet(set.toProto());
    } else if (state instanceof LwwRegister register) {
      envelope.setLwwRegister(register.toProto());
    } else if (state instanceof Lives lives) {
      envelope.setLives(lives.toProto());
    }
    return envelope.build();
  }

  /** Decodes and validates canonical (or merely valid) bytes. */
  public static Crdt<?> decode(byte[] bytes) throws CrdtDecodeException {
    return decode(bytes, 0, bytes.length);
  }

  /** Decodes and validates {@code length} bytes of {@code bytes} from {@code offset}. */
  public static Crdt<?> decode(byte[] bytes, int offset, int length) throws CrdtDecodeException {
    CodedInputStream input = CodedInputStream.newInstance(bytes, offset, length);
    input.setRecursionLimit(RECURSION_LIMIT);
    CrdtValue envelope;
    try {
      envelope = CrdtValue.parseFrom(input);
    } catch (java.io.IOException e) {
      throw new CrdtDecodeException("malformed CRDT state: " + e.getMessage(), e);
    }
    return fromProto(envelope);
  }

  /** Validates an envelope that arrived inside another message. */
  public static Crdt<?> fromProto(CrdtValue envelope) throws CrdtDecodeException {
    int version = envelope.getFormatVersion();
    if (version != FORMAT_VERSION && version != FORMAT_VERSION_TYPED) {
      throw new CrdtDecodeException(
          "unsupported CRDT format version " + Integer.toUnsignedString(version)
              + "; this node reads versions " + FORMAT_VERSION_TYPED + " and " + FORMAT_VERSION);
    }
    if (version == FORMAT_VERSION_TYPED && envelope.getStateCase() == CrdtValue.StateCase.LIVES) {
      throw new CrdtDecodeException("a version-1 envelope cannot hold lives");
    }
    return switch (envelope.getStateCase()) {
      case PN_COUNTER -> PnCounter.fromProto(envelope.getPnCounter());
      case OR_SET -> OrSet.fromProto(envelope.getOrSet());
      case LWW_REGISTER -> LwwRegister.fromProto(envelope.getLwwRegister());
      case LIVES -> Lives.fromProto(envelope.getLives());
      case STATE_NOT_SET -> throw new CrdtDecodeException("CRDT envelope holds no state");
    };
  }

  /** The opaque bytes of a causal context, as a read hands it to a client. */
  public static ByteString encodeContext(CausalContext context) {
    return context.toProto().toByteString();
  }

  /** Decodes the causal context a client sent back with a remove. */
  public static CausalContext decodeContext(ByteString bytes) throws CrdtDecodeException {
    CodedInputStream input = bytes.newCodedInput();
    input.setRecursionLimit(RECURSION_LIMIT);
    try {
      return CausalContext.fromProto(CausalContextState.parseFrom(input)).context();
    } catch (java.io.IOException e) {
      throw new CrdtDecodeException("malformed causal context: " + e.getMessage(), e);
    }
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  });

  /** The first 8 bytes of the SHA-256 of {@code canonical}, as a long. */
  public static long digest(byte[] canonical) {
    return digest(canonical, 0, canonical.length);
  }

  /** The digest of {@code length} bytes of {@code bytes} from {@code offset}. */
  public static long digest(byte[] bytes, int offset, int length) {
    MessageDigest sha = SHA256.get();
    sha.reset();
    sha.update(bytes, offset, length);
    return ByteBuffer.wrap(sha.digest()).getLong();
  }
}
