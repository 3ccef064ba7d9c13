package io.latticekv.client;

import com.google.protobuf.ByteString;
import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.function.Function;

/** Every element of a set, read a page at a time as the iteration moves on ({@link LatticeClient#iterateElements}). */
final class SetIterator implements Iterator<ByteString> {

  private final Function<SetCursor, SetPage> read;
  private Iterator<ByteString> page = Collections.emptyIterator();
  private Optional<SetCursor> next = Optional.of(SetCursor.START);

  SetIterator(Function<SetCursor, SetPage> read) {
    this.read = read;
  }

  @Override
  public boolean hasNext() {
    // Bounded: each page moves the cursor past its last element; an empty page names no next one.
    while (!page.hasNext() && next.isPresent()) {
      SetPage p = read.apply(next.get());
      page = p.elements().iterator();
      next = p.elements().isEmpty() ? Optional.empty() : p.next();
    }
    return page.hasNext();
  }

  @Override
  public ByteString next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return page.next();
  }
}
