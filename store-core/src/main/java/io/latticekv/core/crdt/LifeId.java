package io.latticekv.core.crdt;

/**
 * The identity of one life of a key: the replica that created it and that replica's sequence
 * number for it. A replica id lives one process life and its sequence starts at 1, so two lives
 * never share an id.
 */
public record LifeId(NodeId replica, long seq) implements Comparable<LifeId> {

  /**
   * The life of {@code type} that typed states join: what a key held before lives existed (a
   * version-1 state), and where a whole typed state merged by a client goes. One fixed id per type,
   * so merging the same typed state at two nodes lands in the same life, as a join must. Created
   * at time 0: any newer life shows before it.
   */
  public static LifeId typed(CrdtType type) {
    return new LifeId(new NodeId(0, LifeCodec.typeNumber(type)), 1);
  }

  public LifeId {
    if (replica == null) {
      throw new NullPointerException("replica");
    }
    if (seq < 1) {
      throw new IllegalArgumentException("life sequence numbers start at 1, got " + seq);
    }
  }

  @Override
  public int compareTo(LifeId other) {
    int byReplica = replica.compareTo(other.replica);
    return byReplica != 0 ? byReplica : Long.compare(seq, other.seq);
  }

  @Override
  public String toString() {
    return replica + "/" + seq;
  }
}
