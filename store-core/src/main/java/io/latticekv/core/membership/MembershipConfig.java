package io.latticekv.core.membership;

/**
 * SWIM's timing and fan-out, with memberlist's defaults scaled for a LAN.
 *
 * @param probeIntervalMs one member is probed per interval. Shorter finds failures sooner and
 *     costs more messages (one ping per node per interval)
 * @param probeTimeoutMs how long to wait for a direct ack before asking others to probe; must be
 *     below the interval, above a round trip
 * @param indirectProbes members asked to probe on our behalf (SWIM's k). More tolerates more
 *     lossy paths before a false suspicion
 * @param suspicionMult suspicion lasts {@code suspicionMult * max(1, log10 n) * probeIntervalMs}
 *     (memberlist): long enough for the suspect to hear of it and refute, growing with n because
 *     gossip takes log n rounds to reach it
 * @param retransmitMult membership updates are piggybacked {@code retransmitMult * ceil(log10(n +
 *     1))} times
 * @param gossipPerMessageMax most membership updates piggybacked on one probe
 * @param membersMax most members known, this node included; gossip about more is ignored, with a
 *     log line. Bounds the member table, the full views and the rumor digests that grow with it,
 *     against a flood of invented members; a real cluster larger than it cannot form
 */
public record MembershipConfig(
    long probeIntervalMs,
    long probeTimeoutMs,
    int indirectProbes,
    int suspicionMult,
    int retransmitMult,
    int gossipPerMessageMax,
    int membersMax) {

  public static final int MEMBERS_MAX = 1_024;

  public static final long PROBE_INTERVAL_MS = 500;
  public static final long PROBE_TIMEOUT_MS = 200;

  public static final MembershipConfig DEFAULTS = new MembershipConfig(PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, 3, 4, 4,
      16, MEMBERS_MAX);

  /** The given timing with the default member limit. */
  public MembershipConfig(long probeIntervalMs, long probeTimeoutMs, int indirectProbes, int suspicionMult,
      int retransmitMult, int gossipPerMessageMax) {
    this(probeIntervalMs, probeTimeoutMs, indirectProbes, suspicionMult, retransmitMult, gossipPerMessageMax,
        MEMBERS_MAX);
  }

  public MembershipConfig {
    if (probeIntervalMs <= 0 || probeTimeoutMs <= 0 || probeTimeoutMs >= probeIntervalMs) {
      throw new IllegalArgumentException("need 0 < probe timeout < probe interval");
    }
    if (indirectProbes < 0 || suspicionMult < 1 || retransmitMult < 1 || gossipPerMessageMax < 1 || membersMax < 2) {
      throw new IllegalArgumentException("membership settings out of range");
    }
  }

  /** How long a member stays suspect before it is declared dead, for a cluster of n. */
  public long suspicionTimeoutMs(int n) {
    return (long) (suspicionMult * Math.max(1.0, Math.log10(n)) * probeIntervalMs);
  }
}
