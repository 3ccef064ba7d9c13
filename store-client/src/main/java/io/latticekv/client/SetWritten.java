package io.latticekv.client;

import java.util.Optional;

/**
 * The answer to a set update: how many elements the set holds after it, and the set itself when
 * the update asked for it and the set was no larger than asked ({@link LatticeClient#updateSetAsync}).
 */
public record SetWritten(long size, Optional<SetValue> set) {}
