package io.latticekv.server.cli;

import io.latticekv.client.LatticeClient;
import io.latticekv.proto.MemberInfo;
import io.latticekv.proto.StatusResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code lattice members}: the members this node knows, one per line. */
@Command(name = "members", description = "List the cluster's members as this node sees them.")
final class MembersCommand implements Callable<Integer> {

  @ParentCommand Lattice root;

  @Override
  public Integer call() {
    try (LatticeClient client = root.client()) {
      StatusResponse status = client.status();
      var out = root.spec.commandLine().getOut();
      if (root.json && status.getRestricted()) {
        throw new io.latticekv.client.LatticeException(io.latticekv.proto.ErrorCode.FORBIDDEN,
            "members are shown to admin users only");
      } else if (root.json) {
        List<Object> members = new ArrayList<>();
        for (MemberInfo m : status.getMembersList()) {
          members.add(StatusCommand.memberJson(m));
        }
        out.println(Json.write(members));
      } else if (status.getRestricted()) {
        out.println("(members are shown to admin users only)");
      } else if (status.getMembersCount() == 0) {
        out.println("(no cluster: this node runs alone)");
      } else {
        for (MemberInfo m : status.getMembersList()) {
          out.printf("%s  %-21s  %-7s  incarnation %d%s%n", m.getNodeId(), m.getAddress(), m.getStatus(),
              m.getIncarnation(), m.getLastHeardMsAgo() < 0 ? "  (this node)" : "");
        }
      }
      return ExitCode.OK;
    }
  }
}
