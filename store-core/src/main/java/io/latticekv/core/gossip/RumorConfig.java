package io.latticekv.core.gossip;

/**
 * Rumor mongering's knobs.
 *
 * @param gossipIntervalMs one round per interval. Shorter spreads faster, with more, smaller
 *     messages
 * @param fanout peers each hot rumor is pushed to per round. More spreads faster and leaves a
 *     smaller residue, at fanout messages per round
 * @param feedbackLimit k of Demers et al.'s "feedback, counter" variant: a rumor cools after k
 *     rounds' worth of contacts answered "not news" (k * fanout answers). With one push per round
 *     the residue — the fraction of nodes the rumor never reaches — is s = e^-(k+1)(1-s): 0.20,
 *     0.06, 0.02, 0.007 for k = 1..4, which our simulation reproduces; with fanout 3 it is far
 *     smaller (docs/gossip.md). Anti-entropy repairs the residue, so k trades repair work against
 *     rumor traffic
 * @param retransmitMult a hard bound as well: a rumor is pushed in at most {@code retransmitMult *
 *     ceil(log10(n + 1))} rounds (memberlist's limit), so it stops even if no feedback comes
 * @param batchBytesMax most bytes of deltas in one pushed batch
 * @param queueCapacity most hot rumors held; past it the oldest are dropped and counted
 */
public record RumorConfig(
    long gossipIntervalMs, int fanout, int feedbackLimit, int retransmitMult, int batchBytesMax, int queueCapacity,
    Mode mode) {

  /** Demers et al.'s variants: who starts an exchange, and which way rumors flow in it. */
  public enum Mode {
    /** The node with a hot rumor sends it. */
    PUSH,
    /** Each round a node sends its digest and receives the hot rumors it lacks. */
    PULL,
    /** Both in one exchange: the pushed batch carries the pusher's digest. */
    PUSH_PULL;

    public static Mode parse(String text) {
      return switch (text.trim().toLowerCase()) {
        case "push" -> PUSH;
        case "pull" -> PULL;
        case "push-pull", "pushpull", "push_pull" -> PUSH_PULL;
        default -> throw new IllegalArgumentException("gossip mode must be push, pull or push-pull, not '" + text + "'");
      };
    }
  }

  /** Push-pull converged fastest for its traffic in our measurements (docs/gossip.md). */
  public static final long GOSSIP_INTERVAL_MS = 50;
  public static final int FANOUT = 3;
  public static final int FEEDBACK_LIMIT = 3;
  public static final String MODE = "push-pull";

  public static final RumorConfig DEFAULTS = new RumorConfig(GOSSIP_INTERVAL_MS, FANOUT, FEEDBACK_LIMIT, 4,
      256 * 1024, 100_000, Mode.parse(MODE));

  public RumorConfig(long gossipIntervalMs, int fanout, int feedbackLimit, int retransmitMult, int batchBytesMax,
      int queueCapacity) {
    this(gossipIntervalMs, fanout, feedbackLimit, retransmitMult, batchBytesMax, queueCapacity, Mode.PUSH);
  }

  public RumorConfig withMode(Mode newMode) {
    return new RumorConfig(gossipIntervalMs, fanout, feedbackLimit, retransmitMult, batchBytesMax, queueCapacity, newMode);
  }

  public RumorConfig {
    java.util.Objects.requireNonNull(mode, "mode");
    if (gossipIntervalMs <= 0 || fanout < 1 || feedbackLimit < 1 || retransmitMult < 1
        || batchBytesMax < 1024 || queueCapacity < 1) {
      throw new IllegalArgumentException("rumor settings out of range");
    }
  }
}
