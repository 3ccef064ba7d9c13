package io.latticekv.core.crdt.laws;

import com.google.protobuf.ByteString;
import io.latticekv.core.clock.HlcTimestamp;
import io.latticekv.core.crdt.LwwRegister;
import io.latticekv.core.crdt.NodeId;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The LWW-register in the law suite. Time advances in steps of 0 to 3 ms between updates, so
 * concurrent writes often share a physical millisecond. The reference keeps the assignment with
 * the greatest (timestamp, writer), computed without the register's own code.
 */
public class LwwRegisterModel implements CrdtModel<LwwRegister, ByteString> {

  private static final List<ByteString> VALUES =
      List.of("a", "b", "c", "").stream().map(ByteString::copyFromUtf8).toList();

  @Override
  public String name() {
    return "LWW-register";
  }

  @Override
  public LwwRegister empty() {
    return LwwRegister.empty();
  }

  @Override
  public Gen<ByteString> operations() {
    return Generate.pick(VALUES);
  }

  @Override
  public LwwRegister delta(ByteString value, int at, HlcTimestamp now, World<LwwRegister> world) {
    return world.state(at).assignDelta(world.id(at), now, value);
  }

  @Override
  public LwwRegister apply(ByteString value, int at, HlcTimestamp now, World<LwwRegister> world) {
    return world.state(at).assign(world.id(at), now, value);
  }

  /** An assignment as the reference remembers it. */
  record Write(ByteString value, long timestamp, NodeId writer) {}

  @Override
  public Reference<LwwRegister, ByteString> reference() {
    return new Reference<>() {
      private Write latest;

      @Override
      public void record(
          ByteString value, int at, LwwRegister before, LwwRegister delta, World<LwwRegister> world) {
        Write write = new Write(value, delta.timestamp().packed(), world.id(at));
        if (latest == null || later(write, latest)) {
          latest = write;
        }
      }

      private boolean later(Write a, Write b) {
        int byTime = Long.compareUnsigned(a.timestamp(), b.timestamp());
        return byTime != 0 ? byTime > 0 : a.writer().compareTo(b.writer()) > 0;
      }

      @Override
      public Object expected() {
        return latest;
      }

      @Override
      public Object actual(LwwRegister state) {
        return state.isEmpty() ? null : new Write(state.value(), state.timestamp().packed(), state.writer());
      }
    };
  }
}
