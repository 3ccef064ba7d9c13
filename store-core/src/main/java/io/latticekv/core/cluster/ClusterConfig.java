package io.latticekv.core.cluster;

import io.latticekv.core.antientropy.AntiEntropyConfig;
import io.latticekv.core.gossip.RumorConfig;
import io.latticekv.core.lifecycle.LifecycleConfig;
import io.latticekv.core.membership.MembershipConfig;
import io.latticekv.core.replication.ReplicationConfig;

/**
 * The settings of one node's cluster protocols.
 *
 * @param rumors null turns rumor mongering off (anti-entropy alone spreads writes; for tests)
 * @param antiEntropy null turns anti-entropy off (rumors alone; for tests)
 */
public record ClusterConfig(MembershipConfig membership, RumorConfig rumors, AntiEntropyConfig antiEntropy,
    ReplicationConfig replication, LifecycleConfig lifecycle) {

  public static final ClusterConfig DEFAULTS = new ClusterConfig(MembershipConfig.DEFAULTS, RumorConfig.DEFAULTS,
      AntiEntropyConfig.DEFAULTS, ReplicationConfig.DEFAULTS, LifecycleConfig.DEFAULTS);

  public ClusterConfig {
    java.util.Objects.requireNonNull(membership, "membership");
    java.util.Objects.requireNonNull(replication, "replication");
    java.util.Objects.requireNonNull(lifecycle, "lifecycle");
  }

  public ClusterConfig(MembershipConfig membership, RumorConfig rumors, AntiEntropyConfig antiEntropy,
      ReplicationConfig replication) {
    this(membership, rumors, antiEntropy, replication, LifecycleConfig.DEFAULTS);
  }

  public ClusterConfig withRumors(RumorConfig config) {
    return new ClusterConfig(membership, config, antiEntropy, replication, lifecycle);
  }

  public ClusterConfig withAntiEntropy(AntiEntropyConfig config) {
    return new ClusterConfig(membership, rumors, config, replication, lifecycle);
  }

  public ClusterConfig withMembership(MembershipConfig config) {
    return new ClusterConfig(config, rumors, antiEntropy, replication, lifecycle);
  }

  public ClusterConfig withLifecycle(LifecycleConfig config) {
    return new ClusterConfig(membership, rumors, antiEntropy, replication, config);
  }
}
