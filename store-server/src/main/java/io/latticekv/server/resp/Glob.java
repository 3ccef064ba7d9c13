package io.latticekv.server.resp;

import com.google.protobuf.ByteString;

/**
 * Redis's glob patterns (SCAN, SSCAN and CONFIG GET's MATCH), byte for byte as its {@code
 * stringmatchlen}: {@code *} any run, {@code ?} one byte, {@code [abc]}, {@code [^a]}, {@code
 * [a-z]}, {@code \x} a literal x. Iterative with one backtrack point, so a hostile pattern costs
 * at most length times length, not an exponential.
 */
final class Glob {

  private Glob() {}

  static boolean matches(ByteString pattern, ByteString s) {
    return matches(pattern.toByteArray(), s.toByteArray());
  }

  static boolean matches(byte[] p, byte[] s) {
    int pi = 0;
    int si = 0;
    int starP = -1;
    int starS = 0;
    while (si < s.length) {
      if (pi < p.length && p[pi] == '*') {
        while (pi < p.length && p[pi] == '*') {
          pi++;
        }
        if (pi == p.length) {
          return true;
        }
        starP = pi;
        starS = si;
        continue;
      }
      int next = pi < p.length ? single(p, pi, s[si]) : -1;
      if (next >= 0) {
        pi = next;
        si++;
      } else if (starP >= 0) {
        pi = starP;
        si = ++starS;
      } else {
        return false;
      }
    }
    while (pi < p.length && p[pi] == '*') {
      pi++;
    }
    return pi == p.length;
  }

  /** Where the pattern goes on if its element at {@code pi} matches byte {@code c}; -1 if it does not. */
  private static int single(byte[] p, int pi, byte c) {
    switch (p[pi]) {
      case '?':
        return pi + 1;
      case '[': {
        int i = pi + 1;
        boolean not = i < p.length && p[i] == '^';
        if (not) {
          i++;
        }
        boolean match = false;
        while (i < p.length && p[i] != ']') {
          if (p[i] == '\\' && i + 1 < p.length) {
            i++;
            match |= p[i] == c;
          } else if (i + 2 < p.length && p[i + 1] == '-' && p[i + 2] != ']') {
            int lo = p[i] & 0xff;
            int hi = p[i + 2] & 0xff;
            if (lo > hi) {
              int t = lo;
              lo = hi;
              hi = t;
            }
            match |= (c & 0xff) >= lo && (c & 0xff) <= hi;
            i += 2;
          } else {
            match |= p[i] == c;
          }
          i++;
        }
        if (i >= p.length) {
          i = p.length - 1; // an unclosed class ends the pattern, as in Redis
        }
        return match != not ? i + 1 : -1;
      }
      case '\\':
        if (pi + 1 < p.length) {
          return p[pi + 1] == c ? pi + 2 : -1;
        }
        return p[pi] == c ? pi + 1 : -1;
      default:
        return p[pi] == c ? pi + 1 : -1;
    }
  }
}
