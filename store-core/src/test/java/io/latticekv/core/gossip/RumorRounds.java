package io.latticekv.core.gossip;

import com.google.protobuf.ByteString;
import io.latticekv.core.crdt.Crdt;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.crdt.PnCounter;
import io.latticekv.core.membership.Member;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.transport.PeerMessage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Rumor mongering among n nodes that all know each other, in synchronous rounds: every node ticks
 * once per round, and every message sent in a round (and its answers) arrives before the next.
 * Measures how many rounds one rumor takes to reach everyone, how many nodes it misses when it
 * stops, and what it costs in messages.
 */
final class RumorRounds {

  /** {@code rumorsSent}: rumors in all batches sent, a rumor sent to two peers counting twice. */
  record Outcome(int reached, int roundsToAll, int roundsToQuiet, long messages, long rumorsSent) {}

  static Outcome spreadOne(long seed, int n, RumorConfig config, double lossRate) {
    Random random = new Random(seed);
    long[] now = {1_000_000};
    List<Member> members = new ArrayList<>();
    Map<String, Integer> byAddress = new HashMap<>();
    for (int i = 0; i < n; i++) {
      members.add(new Member(NodeId.random(random), "node-" + i, 1, MemberStatus.ALIVE, 0, 0));
      byAddress.put("node-" + i, i);
    }
    ArrayDeque<Object[]> mail = new ArrayDeque<>();
    long[] messages = {0};
    List<RumorMonger> nodes = new ArrayList<>();
    List<Map<ByteString, Crdt<?>>> replicas = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int self = i;
      List<Member> peers = new ArrayList<>(members);
      peers.remove(self);
      Map<ByteString, Crdt<?>> replica = new HashMap<>();
      replicas.add(replica);
      nodes.add(new RumorMonger(members.get(i).id(), config, () -> now[0], new Random(random.nextLong()),
          (to, message) -> {
            messages[0]++;
            if (random.nextDouble() >= lossRate) {
              mail.add(new Object[] {byAddress.get(to), message});
            }
          },
          () -> peers, () -> n,
          RumorMonger.Sink.oneByOne((key, delta) -> {
            Crdt<?> current = replica.get(key);
            Crdt<?> next = current == null ? delta : Crdt.join(current, delta);
            if (next.equals(current)) {
              return false;
            }
            replica.put(key, next);
            return true;
          })));
    }
    ByteString key = ByteString.copyFromUtf8("k");
    PnCounter delta = PnCounter.empty().addDelta(members.get(0).id(), 1);
    replicas.get(0).put(key, delta);
    nodes.get(0).hot(key, delta);
    int roundsToAll = -1;
    int round = 0;
    while (round < 1_000) {
      round++;
      for (RumorMonger node : nodes) {
        node.tick();
      }
      while (!mail.isEmpty()) {
        Object[] m = mail.poll();
        nodes.get((Integer) m[0]).receive((PeerMessage) m[1]);
      }
      now[0] += config.gossipIntervalMs();
      int reached = (int) replicas.stream().filter(r -> r.containsKey(key)).count();
      if (roundsToAll < 0 && reached == n) {
        roundsToAll = round;
      }
      if (nodes.stream().allMatch(node -> node.queueLength() == 0)) {
        break;
      }
    }
    int reached = (int) replicas.stream().filter(r -> r.containsKey(key)).count();
    return new Outcome(reached, roundsToAll, round, messages[0],
        nodes.stream().mapToLong(RumorMonger::rumorsSent).sum());
  }

  private RumorRounds() {}
}
