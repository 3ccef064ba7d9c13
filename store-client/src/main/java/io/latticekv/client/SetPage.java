package io.latticekv.client;

import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Optional;

/**
 * A page of a set's elements, sorted by unsigned bytes: {@code size} is how many the whole set
 * holds, {@code next} where the next page starts (empty after the last page).
 */
public record SetPage(List<ByteString> elements, long size, Optional<SetCursor> next) {

  public SetPage {
    elements = List.copyOf(elements);
  }

  /** The elements decoded as UTF-8. */
  public List<String> elementsAsStrings() {
    return elements.stream().map(ByteString::toStringUtf8).toList();
  }
}
