package io.latticekv.server.api;

import java.util.concurrent.CompletableFuture;

/**
 * The admin requests about the cluster's members: removing a dead member for good, and
 * decommissioning this node. The answer is a sentence for the person who asked; a refusal is a
 * failed future carrying the reason.
 */
public interface MemberAdmin {

  /** Marks member {@code nodeIdHex} removed (it must be dead or stopped). */
  CompletableFuture<String> removeMember(String nodeIdHex);

  /** Hands everything this node holds to another member, leaves for good, and stops. */
  CompletableFuture<String> decommission();

  /** A node without a cluster: nothing to remove, nowhere to hand its data. */
  MemberAdmin ALONE = new MemberAdmin() {
    @Override
    public CompletableFuture<String> removeMember(String nodeIdHex) {
      return CompletableFuture.failedFuture(new RequestProcessor.Refusal(io.latticekv.proto.ErrorCode.BAD_REQUEST,
          "this node runs alone: it has no members to remove"));
    }

    @Override
    public CompletableFuture<String> decommission() {
      return CompletableFuture.failedFuture(new RequestProcessor.Refusal(io.latticekv.proto.ErrorCode.BAD_REQUEST,
          "this node runs alone: there is no other member to hand its data to"));
    }
  };
}
