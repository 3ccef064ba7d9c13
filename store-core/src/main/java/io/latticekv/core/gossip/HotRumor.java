package io.latticekv.core.gossip;

import io.latticekv.core.transport.PeerMessage.Rumor;

/**
 * A queued rumor and its version: the version changes whenever a newer delta is joined in. A
 * joined rumor's encoded size is computed when a take first asks for it, not at every join: a key
 * written all the time joins a delta per write, and encoding the joined delta each time was most
 * of the protocol thread's work (docs/benchmarks.md). Until then its hint bounds it from above.
 */
final class HotRumor {

  private final Rumor rumor;
  private final long version;
  private final long hint;
  private int bytes;

  private HotRumor(Rumor rumor, long version, long hint, int bytes) {
    this.rumor = rumor;
    this.version = version;
    this.hint = hint;
    this.bytes = bytes;
  }

  /** One delta, as it arrived or was written: its size is known at once (it is small). */
  static HotRumor of(Rumor rumor, long version) {
    int bytes = rumor.delta().encode().length + rumor.key().size();
    return new HotRumor(rumor, version, bytes, bytes);
  }

  /** Deltas joined into one, whose parts' sizes add up to {@code hint}. */
  static HotRumor joined(Rumor rumor, long version, long hint) {
    return new HotRumor(rumor, version, hint, -1);
  }

  Rumor rumor() {
    return rumor;
  }

  long version() {
    return version;
  }

  /** Encoded bytes, key included. */
  int bytes() {
    if (bytes < 0) {
      bytes = rumor.delta().encode().length + rumor.key().size();
    }
    return bytes;
  }

  /** Its size if known, else the bound: the sum of its parts' sizes. */
  long sizeHint() {
    return bytes >= 0 ? bytes : hint;
  }
}
