package io.latticekv.core.gossip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RumorSpreadTest {

  /**
   * With fanout 3, no loss and 50 members, a rumor reaches everyone within ceil(log2 50) + 3 = 9
   * rounds in at least 99 % of seeds. Prints the distribution of rounds.
   */
  @Test
  void aRumorReachesFiftyMembersWithinNineRoundsInNinetyNinePercentOfSeeds() {
    int seeds = 500;
    int bound = (int) Math.ceil(Math.log(50) / Math.log(2)) + 3;
    TreeMap<Integer, Integer> distribution = new TreeMap<>();
    int within = 0;
    for (long seed = 1; seed <= seeds; seed++) {
      RumorRounds.Outcome o = RumorRounds.spreadOne(seed, 50, RumorConfig.DEFAULTS, 0);
      distribution.merge(o.roundsToAll(), 1, Integer::sum);
      if (o.roundsToAll() > 0 && o.roundsToAll() <= bound) {
        within++;
      }
    }
    System.out.println("rounds until 50 of 50 members have the rumor (fanout 3, " + seeds + " seeds; -1 = never): " + distribution);
    assertTrue(within >= seeds * 99 / 100, within + " of " + seeds + " seeds within " + bound + " rounds: " + distribution);
  }

  @Test
  void aRumorStopsSpreading() {
    RumorRounds.Outcome o = RumorRounds.spreadOne(42, 100, RumorConfig.DEFAULTS, 0);
    assertEquals(100, o.reached());
    assertTrue(o.roundsToQuiet() < 1_000, "the rumor never cooled");
  }

  /** The residue and traffic table of docs/gossip.md, beside Demers' s = e^(-(k+1)(1-s)). */
  @Test
  void residueAndTrafficTable() {
    int n = 100;
    int seeds = 200;
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%n| fanout | k | residue (measured) | Demers' s (fanout 1) | rounds to all (median) | rounds until quiet (mean) | messages per rumor (mean) |%n|---|---|---|---|---|---|---|%n"));
    double previous = 1;
    for (int fanout : new int[] {1, 3}) {
      for (int k = 1; k <= 4; k++) {
        RumorConfig config = new RumorConfig(50, fanout, k, 4, 256 * 1024, 100_000);
        long missed = 0;
        long quiet = 0;
        long messages = 0;
        int[] toAll = new int[seeds];
        for (int seed = 0; seed < seeds; seed++) {
          RumorRounds.Outcome o = RumorRounds.spreadOne(seed * 31L + k, n, config, 0);
          missed += n - o.reached();
          quiet += o.roundsToQuiet();
          messages += o.messages();
          toAll[seed] = o.roundsToAll() < 0 ? Integer.MAX_VALUE : o.roundsToAll();
        }
        java.util.Arrays.sort(toAll);
        double residue = missed / (double) (n * seeds);
        table.append(String.format(Locale.ROOT, "| %d | %d | %.4f | %.3f | %s | %.1f | %.0f |%n",
            fanout, k, residue, demers(k), toAll[seeds / 2] == Integer.MAX_VALUE ? "never" : toAll[seeds / 2],
            quiet / (double) seeds, messages / (double) seeds));
        if (fanout == 1) {
          assertTrue(residue <= previous + 0.01, "residue should fall as k grows");
          previous = residue;
        }
      }
    }
    System.out.println("rumor residue, N = " + n + ", " + seeds + " seeds, push with feedback + counter:" + table);
  }

  /** The three modes at the default settings: spread, residue and cost, for docs/gossip.md. */
  @Test
  void modesCompared() {
    int n = 100;
    int seeds = 200;
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%n| mode | residue | rounds to all (median, p99) | rounds until quiet (mean) | messages per rumor (mean) |%n|---|---|---|---|---|%n"));
    for (RumorConfig.Mode mode : RumorConfig.Mode.values()) {
      RumorConfig config = RumorConfig.DEFAULTS.withMode(mode);
      long missed = 0;
      long quiet = 0;
      long messages = 0;
      int[] toAll = new int[seeds];
      for (int seed = 0; seed < seeds; seed++) {
        RumorRounds.Outcome o = RumorRounds.spreadOne(seed * 17L + 3, n, config, 0);
        missed += n - o.reached();
        quiet += o.roundsToQuiet();
        messages += o.messages();
        toAll[seed] = o.roundsToAll() < 0 ? Integer.MAX_VALUE : o.roundsToAll();
      }
      java.util.Arrays.sort(toAll);
      table.append(String.format(Locale.ROOT, "| %s | %.4f | %s, %s | %.1f | %.0f |%n", mode.name().toLowerCase().replace('_', '-'),
          missed / (double) (n * seeds), show(toAll[seeds / 2]), show(toAll[seeds * 99 / 100]),
          quiet / (double) seeds, messages / (double) seeds));
      assertTrue(mode == RumorConfig.Mode.PULL || missed < n * seeds / 100, mode + " left a residue of " + missed);
    }
    System.out.println("gossip modes, N = " + n + ", fanout 3, k = 3, " + seeds + " seeds:" + table);
  }

  private static String show(int rounds) {
    return rounds == Integer.MAX_VALUE ? "never" : Integer.toString(rounds);
  }

  /** Solves s = e^(-(k+1)(1-s)) for the non-trivial root (Demers et al. 1987, section 3). */
  static double demers(int k) {
    double s = 0.5;
    for (int i = 0; i < 200; i++) {
      s = Math.exp(-(k + 1) * (1 - s));
    }
    return s;
  }
}
