package io.latticekv.core.storage;

import io.latticekv.core.crdt.CrdtType;

/** An operation of one CRDT type on a key that holds another. Keys never change type. */
public final class TypeMismatchException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final CrdtType stored;
  private final CrdtType requested;

  public TypeMismatchException(String key, CrdtType stored, CrdtType requested) {
    super("key " + key + " holds a " + stored.displayName() + ", not a " + requested.displayName());
    this.stored = stored;
    this.requested = requested;
  }

  public CrdtType stored() {
    return stored;
  }

  public CrdtType requested() {
    return requested;
  }
}
