package io.latticekv.server.api;

import io.latticekv.core.crdt.CrdtType;
import io.latticekv.core.storage.KeyState;
import io.latticekv.core.storage.Store;
import io.latticekv.proto.ErrorCode;
import io.latticekv.proto.ScanRequest;
import io.latticekv.proto.ScanResponse;
import io.latticekv.proto.ScannedKey;
import java.util.Optional;

/**
 * Walks the keys a node stores by segments of its Merkle tree (Redis's SCAN). A key's segment is
 * fixed by its hash, so a cursor that names the next segment skips nothing that stayed stored
 * while the walk went on, whatever was written or deleted around it; whole segments are returned
 * (about 61 keys each at a million keys), as Redis returns whole hash buckets. Deleted keys and
 * empty sets are skipped: they read as no key.
 */
final class KeyScans {

  /** Keys a call returns when the request names no count (Redis's default). */
  static final int COUNT_DEFAULT = 10;
  /** Most keys a call may ask for, so that one answer stays small. */
  static final int COUNT_MAX = 10_000;
  /**
   * Segments one call visits at most, per key asked for: an empty or sparse store answers an empty
   * page with a cursor to go on from instead of reading all 16,384 segments in one call.
   */
  static final int SEGMENTS_PER_KEY = 10;

  private KeyScans() {}

  static ScanResponse scan(Store store, ScanRequest request) {
    int segments = store.tree().segments();
    long cursor = request.getCursor();
    if (cursor < 0 || cursor >= segments) {
      throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "invalid cursor " + Long.toUnsignedString(cursor)
          + ": a scan cursor is 0 or one a scan answered");
    }
    int count = request.getCount() == 0 ? COUNT_DEFAULT : request.getCount();
    if (count < 0 || count > COUNT_MAX) {
      throw new RequestProcessor.Refusal(ErrorCode.BAD_REQUEST, "a scan of " + Integer.toUnsignedString(count)
          + " keys was asked for; at most " + COUNT_MAX + " per call");
    }
    long visitMax = (long) Math.max(16, count) * SEGMENTS_PER_KEY;
    ScanResponse.Builder out = ScanResponse.newBuilder();
    int segment = (int) cursor;
    for (int visited = 0; segment < segments && out.getKeysCount() < count && visited < visitMax; visited++) {
      for (KeyState entry : store.segmentStates(segment)) {
        Optional<CrdtType> type = entry.state().visibleType();
        // A deleted key, and a set whose every element was removed, read as no key (as in Redis).
        if (type.isPresent() && (type.get() != CrdtType.OR_SET || entry.state().elementCount() > 0)) {
          out.addKeys(ScannedKey.newBuilder().setKey(entry.key()).setType(type.get().displayName()));
        }
      }
      segment++;
    }
    return out.setCursor(segment >= segments ? 0 : segment).build();
  }
}
