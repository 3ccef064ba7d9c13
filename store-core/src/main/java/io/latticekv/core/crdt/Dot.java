package io.latticekv.core.crdt;

/**
 * One event of one replica: the {@code counter}-th add that {@code replica} made. Dots name OR-Set
 * adds; a causal context is a set of dots.
 */
public record Dot(NodeId replica, long counter) implements Comparable<Dot> {

  public Dot {
    if (replica == null) {
      throw new NullPointerException("replica");
    }
    if (counter < 1) {
      throw new IllegalArgumentException("dot counters start at 1, got " + counter);
    }
  }

  @Override
  public int compareTo(Dot other) {
    int byReplica = replica.compareTo(other.replica);
    return byReplica != 0 ? byReplica : Long.compare(counter, other.counter);
  }

  @Override
  public String toString() {
    return replica + ":" + counter;
  }
}
