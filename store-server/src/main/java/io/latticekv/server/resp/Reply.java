package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A reply, written in RESP2 or RESP3 as the connection chose ({@code HELLO}): RESP3's maps, sets,
 * nulls, booleans and verbatim strings fall back to their RESP2 forms (flat arrays, null bulks,
 * integers, bulk strings), as Redis writes them.
 */
sealed interface Reply {

  Reply OK = new Simple("OK");
  Reply NULL = new Null();
  Reply EMPTY_ARRAY = new Array(List.of());

  void write(ByteBuf out, int protocol);

  static Reply bulk(String text) {
    return new Bulk(ByteString.copyFromUtf8(text));
  }

  static Reply bulk(ByteString bytes) {
    return new Bulk(bytes);
  }

  static Reply integer(long n) {
    return new Int(n);
  }

  static Reply error(String line) {
    return new Error(line);
  }

  /** Simple string: {@code +OK}. */
  record Simple(String text) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      out.writeByte('+');
      out.writeCharSequence(text, StandardCharsets.UTF_8);
      crlf(out);
    }
  }

  /** An error line, its code first: {@code -WRONGTYPE Operation against...}. Never holds CR or LF. */
  record Error(String line) implements Reply {
    public Error {
      line = line.replace('\r', ' ').replace('\n', ' ');
    }

    @Override
    public void write(ByteBuf out, int protocol) {
      out.writeByte('-');
      out.writeCharSequence(line, StandardCharsets.UTF_8);
      crlf(out);
    }
  }

  record Int(long value) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      out.writeByte(':');
      number(out, value);
    }
  }

  record Bulk(ByteString bytes) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      out.writeByte('$');
      number(out, bytes.size());
      out.writeBytes(bytes.asReadOnlyByteBuffer());
      crlf(out);
    }
  }

  /** RESP3 {@code _}; a null bulk in RESP2. */
  record Null() implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      out.writeCharSequence(protocol >= 3 ? "_\r\n" : "$-1\r\n", StandardCharsets.US_ASCII);
    }
  }

  /** RESP3 {@code #t}/{@code #f}; 1 and 0 in RESP2. */
  record Bool(boolean value) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      if (protocol >= 3) {
        out.writeCharSequence(value ? "#t\r\n" : "#f\r\n", StandardCharsets.US_ASCII);
      } else {
        new Int(value ? 1 : 0).write(out, protocol);
      }
    }
  }

  /** RESP3 verbatim text ({@code =}, format {@code txt}); a bulk string in RESP2. */
  record Verbatim(String text) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      if (protocol >= 3) {
        out.writeByte('=');
        number(out, bytes.length + 4);
        out.writeCharSequence("txt:", StandardCharsets.US_ASCII);
      } else {
        out.writeByte('$');
        number(out, bytes.length);
      }
      out.writeBytes(bytes);
      crlf(out);
    }
  }

  record Array(List<Reply> items) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      aggregate(out, '*', items.size(), items, protocol);
    }
  }

  /** RESP3 {@code ~}; an array in RESP2. */
  record Set(List<Reply> items) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      aggregate(out, protocol >= 3 ? '~' : '*', items.size(), items, protocol);
    }
  }

  /** RESP3 {@code %}, keys and values alternating; a flat array of them in RESP2. */
  record Map(List<Reply> keysAndValues) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      if (protocol >= 3) {
        aggregate(out, '%', keysAndValues.size() / 2, keysAndValues, protocol);
      } else {
        aggregate(out, '*', keysAndValues.size(), keysAndValues, protocol);
      }
    }
  }

  /** A reply after which the connection is closed (QUIT; the last of too many failed logins). */
  record Closing(Reply reply) implements Reply {
    @Override
    public void write(ByteBuf out, int protocol) {
      reply.write(out, protocol);
    }
  }

  /** An aggregate: its type byte, its count, then its items. */
  private static void aggregate(ByteBuf out, char type, int count, List<Reply> items, int protocol) {
    out.writeByte(type);
    number(out, count);
    for (Reply r : items) {
      r.write(out, protocol);
    }
  }

  private static void number(ByteBuf out, long n) {
    out.writeCharSequence(Long.toString(n), StandardCharsets.US_ASCII);
    crlf(out);
  }

  private static void crlf(ByteBuf out) {
    out.writeByte('\r');
    out.writeByte('\n');
  }
}
