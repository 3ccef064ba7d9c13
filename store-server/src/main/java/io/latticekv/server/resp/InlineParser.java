package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits an inline command line into words as Redis's {@code sdssplitargs} does: words are
 * separated by spaces; {@code "..."} takes the escapes {@code \n \r \t \b \a \\ \" \xHH}, {@code
 * '...'} takes {@code \'}; a closing quote must be followed by a space or the end. The line arrives
 * as ISO-8859-1, one char per byte, so the words keep their bytes.
 */
final class InlineParser {

  private InlineParser() {}

  static List<ByteString> split(String line) {
    int nul = line.indexOf('\0');
    if (nul >= 0) {
      line = line.substring(0, nul); // a C string ends there, as Redis reads it
    }
    List<ByteString> words = new ArrayList<>();
    int i = 0;
    int n = line.length();
    while (true) {
      while (i < n && isSpace(line.charAt(i))) {
        i++;
      }
      if (i >= n) {
        return words;
      }
      ByteArrayOutputStream word = new ByteArrayOutputStream();
      boolean inDouble = false;
      boolean inSingle = false;
      boolean done = false;
      while (!done) {
        char c = i < n ? line.charAt(i) : 0;
        if (inDouble) {
          if (i >= n) {
            throw new RespProtocolException("unbalanced quotes in request");
          }
          if (c == '\\' && i + 3 < n && line.charAt(i + 1) == 'x' && hex(line.charAt(i + 2)) >= 0
              && hex(line.charAt(i + 3)) >= 0) {
            word.write(hex(line.charAt(i + 2)) * 16 + hex(line.charAt(i + 3)));
            i += 3;
          } else if (c == '\\' && i + 1 < n) {
            i++;
            char e = line.charAt(i);
            word.write(switch (e) {
              case 'n' -> '\n';
              case 'r' -> '\r';
              case 't' -> '\t';
              case 'b' -> '\b';
              case 'a' -> 7;
              default -> e;
            });
          } else if (c == '"') {
            if (i + 1 < n && !isSpace(line.charAt(i + 1))) {
              throw new RespProtocolException("unbalanced quotes in request");
            }
            done = true;
          } else {
            word.write(c);
          }
        } else if (inSingle) {
          if (i >= n) {
            throw new RespProtocolException("unbalanced quotes in request");
          }
          if (c == '\\' && i + 1 < n && line.charAt(i + 1) == '\'') {
            i++;
            word.write('\'');
          } else if (c == '\'') {
            if (i + 1 < n && !isSpace(line.charAt(i + 1))) {
              throw new RespProtocolException("unbalanced quotes in request");
            }
            done = true;
          } else {
            word.write(c);
          }
        } else if (i >= n || isSpace(c)) {
          done = true;
        } else if (c == '"') {
          inDouble = true;
        } else if (c == '\'') {
          inSingle = true;
        } else {
          word.write(c);
        }
        if (i < n) {
          i++;
        }
      }
      words.add(ByteString.copyFrom(word.toByteArray()));
    }
  }

  /** C's isspace, as sdssplitargs uses it. */
  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == '\f';
  }

  private static int hex(char c) {
    return Character.digit(c, 16);
  }
}
