package io.latticekv.core.crdt.laws;

import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.Crdt;
import java.util.ArrayList;
import java.util.List;

/**
 * Executes a {@link History} against a model: updates through the delta-mutators, deltas and
 * states through a lossy, duplicating, reordering network. Collects every state and delta it saw,
 * as material for the algebraic laws.
 */
final class Run<S extends Crdt<S>, O> {

  /** Called at every update with the data the delta-equivalence law needs. */
  interface UpdateObserver<S extends Crdt<S>, O> {
    void updated(O op, int at, HlcTimestamp now, S before, S delta, World<S> world, int other);
  }

  private record Message<S>(int to, S state) {}

  private final CrdtModel<S, O> model;
  private final World<S> world;
  private final CrdtModel.Reference<S, O> reference;
  private final List<Message<S>> inFlight = new ArrayList<>();
  private final List<S> seen = new ArrayList<>();

  Run(CrdtModel<S, O> model, History<O> history, UpdateObserver<S, O> observer) {
    this.model = model;
    this.world = new World<>(history.replicas(), model.empty(), history.idSeed());
    this.reference = model.reference();
    seen.add(model.empty());
    for (History.Step<O> step : history.steps()) {
      execute(step, observer);
    }
  }

  Run(CrdtModel<S, O> model, History<O> history) {
    this(model, history, (op, at, now, before, delta, world, other) -> {});
  }

  private void execute(History.Step<O> step, UpdateObserver<S, O> observer) {
    int n = world.size();
    switch (step.kind()) {
      case UPDATE -> {
        int at = step.a() % n;
        S before = world.state(at);
        HlcTimestamp now = world.now(at);
        S delta = model.delta(step.op(), at, now, world);
        observer.updated(step.op(), at, now, before, delta, world, (at + 1 + step.b()) % n);
        reference.record(step.op(), at, before, delta, world);
        world.setState(at, model.merge(before, delta));
        seen.add(delta);
        seen.add(world.state(at));
        for (int to = 0; to < n; to++) {
          if (to != at) {
            inFlight.add(new Message<>(to, delta));
          }
        }
      }
      case DELIVER, DUPLICATE -> {
        if (!inFlight.isEmpty()) {
          int index = step.a() % inFlight.size();
          Message<S> message =
              step.kind() == History.Kind.DELIVER ? inFlight.remove(index) : inFlight.get(index);
          receive(message);
        }
      }
      case DROP -> {
        if (!inFlight.isEmpty()) {
          inFlight.remove(step.a() % inFlight.size());
        }
      }
      case SEND_STATE -> inFlight.add(new Message<>(step.b() % n, world.state(step.a() % n)));
      case TICK -> world.advanceMillis(step.a());
    }
  }

  private void receive(Message<S> message) {
    S merged = model.merge(world.state(message.to()), message.state());
    world.setState(message.to(), merged);
    seen.add(merged);
  }

  /** One round of full anti-entropy: everyone's state to everyone, through one accumulator. */
  void exchangeEverything() {
    S all = world.state(0);
    for (int i = 1; i < world.size(); i++) {
      all = model.merge(all, world.state(i));
    }
    for (int i = 0; i < world.size(); i++) {
      world.setState(i, model.merge(world.state(i), all));
    }
  }

  World<S> world() {
    return world;
  }

  CrdtModel.Reference<S, O> reference() {
    return reference;
  }

  /** Every state and delta the run produced, the empty state first. */
  List<S> seenStates() {
    return seen;
  }
}
