package io.latticekv.core.crdt;

/** The replicated data types a key can hold. A key's type is fixed by its first write. */
public enum CrdtType {
  PN_COUNTER("counter"),
  OR_SET("set"),
  LWW_REGISTER("register"),
  /** Not a type a key holds but the whole state of a key: its lives, each of one of the types above. */
  KEY("key");

  private final String displayName;

  CrdtType(String displayName) {
    this.displayName = displayName;
  }

  /** The short name users see in errors and in the command line ("counter", "set", ...). */
  public String displayName() {
    return displayName;
  }
}
