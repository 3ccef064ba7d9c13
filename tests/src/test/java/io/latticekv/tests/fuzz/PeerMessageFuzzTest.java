package io.latticekv.tests.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.latticekv.core.cluster.ClusterConfig;
import io.latticekv.core.cluster.ClusterNode;
import io.latticekv.core.cluster.StorageRunner;
import io.latticekv.core.crdt.NodeId;
import io.latticekv.core.membership.KnownMember;
import io.latticekv.core.membership.MemberStatus;
import io.latticekv.core.membership.Membership;
import io.latticekv.core.sim.SimReplica;
import io.latticekv.core.transport.PeerMessage;
import io.latticekv.proto.PeerFrame;
import io.latticekv.server.peer.PeerCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The peer message path on any frame: decoding refuses what breaks the structural limits, and a
 * node's protocols take whatever decodes — from a known peer, so that the fuzzer reaches past the
 * sender checks — without throwing, answer only with messages that encode, and keep ticking.
 */
class PeerMessageFuzzTest {

  /** The peer every fuzzed message may claim to be: 16 zero bytes, easy for the fuzzer to produce. */
  private static final NodeId PEER = new NodeId(0, 0);
  private static final NodeId SELF = new NodeId(1, 1);
  private static final PeerCodec.Limits LIMITS = new PeerCodec.Limits(64, 256, 256);

  @FuzzTest
  void anyPeerFrameIsRefusedOrHandled(byte[] bytes) throws Exception {
    PeerMessage message;
    try {
      message = PeerCodec.decode(PeerFrame.parseFrom(bytes), LIMITS);
    } catch (InvalidProtocolBufferException | PeerCodec.BadFrame refused) {
      return; // the connection is closed (PeerRobustnessTest)
    }
    long[] now = {1_700_000_000_000L};
    List<PeerMessage> sent = new ArrayList<>();
    ClusterNode node = new ClusterNode(SELF, "self:1", 1, List.of(), List.of(new KnownMember(PEER, "peer:1", 1)),
        ClusterConfig.DEFAULTS, () -> now[0], new Random(1), (to, m) -> sent.add(m), new SimReplica(),
        StorageRunner.inline(), new Membership.Listener() {
          @Override
          public void changed(io.latticekv.core.membership.Member member, MemberStatus previous) {}
        });
    node.receive(new PeerMessage.Gossip(PEER, List.of(new PeerMessage.MemberUpdate(PEER, "peer:1", 1,
        MemberStatus.ALIVE))));
    node.receive(message);
    for (int i = 0; i < 20; i++) {
      now[0] += 100;
      node.tick();
    }
    for (PeerMessage m : sent) {
      PeerCodec.decode(PeerCodec.encode(m), new PeerCodec.Limits(1024, 4096, 1 << 14)); // what a node sends decodes
    }
  }
}
