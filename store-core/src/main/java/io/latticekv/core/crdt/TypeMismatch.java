package io.latticekv.core.crdt;

/** An update of one type aimed at a key that reads as another: refused, never coerced. */
public final class TypeMismatch extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final CrdtType held;
  private final CrdtType wanted;

  public TypeMismatch(CrdtType held, CrdtType wanted) {
    super("the key holds a " + held.displayName() + ", not a " + wanted.displayName(), null, false, false);
    this.held = held;
    this.wanted = wanted;
  }

  public CrdtType held() {
    return held;
  }

  public CrdtType wanted() {
    return wanted;
  }
}
