package io.latticekv.client;

import com.google.protobuf.ByteString;
import java.util.List;

/** An OR-Set as read: its elements, sorted by unsigned bytes, and the context of the read. */
public record SetValue(List<ByteString> elements, SetContext context) {

  public SetValue {
    elements = List.copyOf(elements);
  }

  /** The elements decoded as UTF-8. */
  public List<String> elementsAsStrings() {
    return elements.stream().map(ByteString::toStringUtf8).toList();
  }

  public boolean contains(String element) {
    return elements.contains(ByteString.copyFromUtf8(element));
  }

  static SetValue of(io.latticekv.proto.SetValue proto) {
    return new SetValue(proto.getElementsList(), new SetContext(proto.getContext()));
  }
}
