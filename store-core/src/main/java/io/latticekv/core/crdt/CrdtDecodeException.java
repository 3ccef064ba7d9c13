package io.latticekv.core.crdt;

/**
 * Bytes that are not a valid encoded CRDT state: malformed protobuf, an unknown format version, or
 * a state that breaks an invariant (an unsorted list, a dot outside its context, a zero total).
 * The message says what was wrong, for a person.
 */
public final class CrdtDecodeException extends Exception {

  private static final long serialVersionUID = 1L;

  public CrdtDecodeException(String message) {
    super(message);
  }

  public CrdtDecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
