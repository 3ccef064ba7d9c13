package io.latticekv.core.clock;

/**
 * A source of physical time. Protocol logic and the hybrid logical clock take one of these instead
 * of calling {@code System.currentTimeMillis()}, so that tests and the simulator can drive time.
 */
@FunctionalInterface
public interface Clock {

  /** Milliseconds since the Unix epoch. May go backwards (NTP steps); callers must cope. */
  long millis();

  /** The machine's wall clock. */
  static Clock system() {
    return System::currentTimeMillis;
  }
}
