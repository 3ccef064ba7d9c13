package io.latticekv.server.cli;

import io.latticekv.client.LatticeClient;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code lattice status}: the node's id, its members and its rumor counters. */
@Command(name = "status", description = "Show the node's id, each member's state, and rumor counters.")
final class StatusCommand implements Callable<Integer> {

  @ParentCommand Lattice root;

  @Override
  public Integer call() {
    try (LatticeClient client = root.client()) {
      StatusResponse status = client.status();
      var out = root.spec.commandLine().getOut();
      out.println(root.json ? Json.write(asJson(status)) : table(status));
      return ExitCode.OK;
    }
  }

  static Map<String, Object> asJson(StatusResponse s) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("node_id", s.getNodeId());
    out.put("peer_address", s.getPeerAddress());
    out.put("sync", s.getSync());
    out.put("keys_estimated", s.getKeysEstimated());
    out.put("warnings", new ArrayList<>(s.getWarningsList()));
    out.put("restricted", s.getRestricted());
    List<Object> members = new ArrayList<>();
    for (MemberInfo m : s.getMembersList()) {
      Map<String, Object> member = memberJson(m);
      member.put("last_heard_ms_ago", m.getLastHeardMsAgo());
      members.add(member);
    }
    out.put("members", members);
    Map<String, Object> rumors = new LinkedHashMap<>();
    rumors.put("queue", s.getRumorQueue());
    rumors.put("sent", s.getRumorsSent());
    rumors.put("received", s.getRumorsReceived());
    rumors.put("new", s.getRumorsNew());
    rumors.put("dropped", s.getRumorsDropped());
    out.put("rumors", rumors);
    Map<String, Object> ae = new LinkedHashMap<>();
    ae.put("merkle_root", s.getMerkleRoot());
    ae.put("converged", io.latticekv.server.metrics.NodeMetrics.converged(s) == 1);
    ae.put("exchanges_run", s.getExchangesRun());
    ae.put("keys_repaired", s.getKeysRepaired());
    ae.put("set_parts_sent", s.getSetPartsSent());
    ae.put("bytes_sent", s.getAntiEntropyBytesSent());
    out.put("peer_messages_sent", s.getPeerMessagesSent());
    out.put("peer_bytes_sent", s.getPeerBytesSent());
    out.put("peer_connections_accepted", s.getPeerConnectionsAccepted());
    out.put("replicas", s.getReplicas());
    out.put("snapshot_age_ms", s.getSnapshotAgeMs());
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("client_input_bytes", s.getClientInputBytes());
    limits.put("client_input_evictions", s.getClientInputEvictions());
    limits.put("peer_input_bytes", s.getPeerInputBytes());
    limits.put("peer_messages_dropped", s.getPeerMessagesDropped());
    limits.put("peer_connections_refused", s.getPeerConnectionsRefused());
    limits.put("storage_tasks_refused", s.getStorageTasksRefused());
    limits.put("peer_states_refused", new java.util.TreeMap<>(s.getPeerStatesRefusedMap()));
    out.put("limits", limits);
    List<Object> exchanges = new ArrayList<>();
    for (io.latticekv.proto.ExchangeInfo e : s.getExchangesList()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("peer", e.getPeer());
      x.put("address", e.getAddress());
      x.put("matched", e.getMatched());
      x.put("ago_ms", e.getAgoMs());
      x.put("segments_different", e.getSegmentsDifferent());
      x.put("keys_repaired", e.getKeysRepaired());
      x.put("keys_pushed", e.getKeysPushed());
      x.put("detail", e.getDetail());
      exchanges.add(x);
    }
    ae.put("last_exchanges", exchanges);
    out.put("anti_entropy", ae);
    if (s.hasLifecycle()) {
      out.put("lifecycle", lifecycleJson(s.getLifecycle()));
    }
    if (s.hasCatchUp()) {
      io.latticekv.proto.CatchUp c = s.getCatchUp();
      Map<String, Object> catchUp = new LinkedHashMap<>();
      catchUp.put("peer", c.getPeer());
      catchUp.put("address", c.getAddress());
      catchUp.put("streaming", c.getStreaming());
      catchUp.put("segments_total", c.getSegmentsTotal());
      catchUp.put("segments_left", c.getSegmentsLeft());
      catchUp.put("keys_received", c.getKeysReceived());
      catchUp.put("bytes_received", c.getBytesReceived());
      catchUp.put("keys_per_second", Math.round(c.getKeysPerSecond()));
      catchUp.put("eta_ms", c.getEtaMs());
      out.put("catch_up", catchUp);
    }
    return out;
  }

  /** A progress bar of a catch-up: how many of the differing segments are done, the rate, the time left. */
  static String progressBar(io.latticekv.proto.CatchUp c) {
    int width = 30;
    int total = Math.max(1, c.getSegmentsTotal());
    int done = total - c.getSegmentsLeft();
    int filled = (int) ((long) width * done / total);
    return String.format("catching up from %s: [%s%s] %d%% of %d segments, %,d keys (%.1f MB) at %,.0f keys/s, %s%n",
        c.getAddress(), "#".repeat(filled), ".".repeat(width - filled), 100L * done / total, c.getSegmentsTotal(),
        c.getKeysReceived(), c.getBytesReceived() / 1e6, c.getKeysPerSecond(),
        c.getEtaMs() < 0 ? "time left unknown" : "about " + Math.max(1, c.getEtaMs() / 1000) + " s left");
  }

  static Map<String, Object> lifecycleJson(io.latticekv.proto.Lifecycle l) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("epoch", l.getEpoch());
    out.put("participants", l.getParticipants());
    out.put("waiting_for", new ArrayList<>(l.getWaitingForList()));
    List<Object> removed = new ArrayList<>();
    l.getRemovedList().forEach(m -> removed.add(memberJson(m)));
    out.put("removed_members", removed);
    out.put("tombstones", l.getTombstones());
    out.put("retired_marks", l.getRetiredMarks());
    out.put("retired_to_prune", l.getRetiredToPrune());
    out.put("keys_collected", l.getKeysCollected());
    out.put("keys_discarded", l.getKeysDiscarded());
    out.put("fenced_messages", l.getFencedMessages());
    out.put("fenced_rumors", l.getFencedRumors());
    out.put("epochs_advanced", l.getEpochsAdvanced());
    out.put("sweep_passes", l.getSweepPasses());
    out.put("decommission", l.getDecommission());
    out.put("removed_self", l.getRemovedSelf());
    return out;
  }

  private static String lifecycleLine(io.latticekv.proto.Lifecycle l) {
    StringBuilder out = new StringBuilder(String.format("%nlifecycle: epoch %d, %d participants%s; last sweep found %d "
            + "tombstones, %d retired marks; %d keys collected, %d replica ids being pruned%n", l.getEpoch(),
        l.getParticipants(), l.getWaitingForCount() == 0 ? "" : ", waiting for " + l.getWaitingForList(),
        l.getTombstones(), l.getRetiredMarks(), l.getKeysCollected(), l.getRetiredToPrune()));
    if (l.getFencedMessages() + l.getFencedRumors() > 0) {
      out.append(String.format("fenced: %d messages, %d rumors from nodes two epochs behind or removed%n",
          l.getFencedMessages(), l.getFencedRumors()));
    }
    for (MemberInfo m : l.getRemovedList()) {
      out.append(String.format("removed member %s at %s%n", m.getNodeId(), m.getAddress()));
    }
    if (!l.getDecommission().isEmpty()) {
      out.append("decommission: ").append(l.getDecommission()).append('\n');
    }
    if (l.getRemovedSelf()) {
      out.append("WARNING: this node was removed from the cluster; it takes no part any more\n");
    }
    if (l.getKeysDiscarded() > 0) {
      out.append(String.format("WARNING: %d keys of a too old backup were discarded (docs/lifecycle.md)%n",
          l.getKeysDiscarded()));
    }
    return out.toString();
  }

  /** A member as the JSON of {@code status} and {@code members} shows it. */
  static Map<String, Object> memberJson(MemberInfo m) {
    Map<String, Object> member = new LinkedHashMap<>();
    member.put("node_id", m.getNodeId());
    member.put("address", m.getAddress());
    member.put("status", m.getStatus());
    member.put("incarnation", m.getIncarnation());
    return member;
  }

  static String table(StatusResponse s) {
    StringBuilder out = new StringBuilder();
    out.append("node      ").append(s.getNodeId()).append('\n');
    out.append("peers on  ").append(s.getRestricted() ? "(cluster details are shown to admin users only)"
        : s.getPeerAddress().isEmpty() ? "(no cluster)" : s.getPeerAddress()).append('\n');
    out.append("sync      ").append(s.getSync()).append("    keys (estimate) ").append(s.getKeysEstimated()).append('\n');
    for (String warning : s.getWarningsList()) {
      out.append("WARNING: ").append(warning).append('\n');
    }
    if (s.getMembersCount() > 0) {
      out.append(String.format("%n%-32s  %-21s  %-7s  %11s  %s%n", "MEMBER", "ADDRESS", "STATE", "INCARNATION", "LAST HEARD"));
      for (MemberInfo m : s.getMembersList()) {
        String heard = m.getLastHeardMsAgo() < 0 ? "(this node)" : m.getLastHeardMsAgo() + " ms ago";
        out.append(String.format("%-32s  %-21s  %-7s  %11d  %s%n", m.getNodeId(), m.getAddress(), m.getStatus(),
            m.getIncarnation(), heard));
      }
      out.append(String.format("%nrumors: %d queued, %d sent, %d received (%d new), %d dropped%n",
          s.getRumorQueue(), s.getRumorsSent(), s.getRumorsReceived(), s.getRumorsNew(), s.getRumorsDropped()));
      out.append(String.format("converged: %s (every reachable peer's last exchange found equal trees)%n",
          io.latticekv.server.metrics.NodeMetrics.converged(s) == 1 ? "yes" : "no"));
      out.append(String.format("merkle root %s; %d exchanges started, %d keys repaired here, %d bytes sent%n",
          s.getMerkleRoot(), s.getExchangesRun(), s.getKeysRepaired(), s.getAntiEntropyBytesSent()));
      out.append(String.format("peer traffic: %d messages, %d bytes sent; %d replicas count for quorum and all%n",
          s.getPeerMessagesSent(), s.getPeerBytesSent(), s.getReplicas()));
      long refused = s.getPeerStatesRefusedMap().values().stream().mapToLong(Long::longValue).sum();
      if (refused + s.getPeerConnectionsRefused() + s.getStorageTasksRefused() + s.getClientInputEvictions() > 0) {
        out.append(String.format("refused: %d peer states %s, %d peer connections, %d storage tasks, %d client frames "
            + "over the input budget%n", refused, s.getPeerStatesRefusedMap(), s.getPeerConnectionsRefused(),
            s.getStorageTasksRefused(), s.getClientInputEvictions()));
      }
      if (s.getSnapshotAgeMs() > 1_000) {
        out.append(String.format("WARNING: the cluster status is %d ms old: the protocol thread is stalled%n",
            s.getSnapshotAgeMs()));
      }
      for (io.latticekv.proto.ExchangeInfo e : s.getExchangesList()) {
        out.append(String.format("  last exchange with %s: %s, %d ms ago (%s)%n", e.getAddress(),
            e.getMatched() ? "trees matched" : "trees differed", e.getAgoMs(), e.getDetail()));
      }
    }
    if (s.hasLifecycle() && !s.getRestricted()) {
      out.append(lifecycleLine(s.getLifecycle()));
    }
    if (s.hasCatchUp() && !s.getRestricted() && s.getCatchUp().getSegmentsLeft() > 0) {
      out.append(progressBar(s.getCatchUp()));
    }
    return out.toString().stripTrailing();
  }
}
