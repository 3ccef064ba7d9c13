package io.latticekv.server.resp;

import com.google.protobuf.ByteString;
import io.latticekv.proto.wire.FrameTimeoutException;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.InputBudgetExceededException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits a RESP byte stream into {@link RespCommand}s: multibulk commands ({@code *N\r\n} then N
 * times {@code $len\r\n<bytes>\r\n}, what every client library sends) and inline commands (a line
 * of words, what a person types into telnet), as Redis's own server reads them.
 *
 * <p>Every length is checked against the port's limits as soon as its header is read, before any
 * of its bytes are buffered: argument count, bulk length, header line length, inline line length,
 * and the bytes of the whole command. A command still arriving holds a reservation on the port's
 * {@link InputBudget} for what it has buffered (taken before a bulk's buffer is allocated), and
 * must arrive whole within {@code partialTimeoutMs}. Any of these broken throws a {@link
 * RespProtocolException} (or the budget's and timeout's own exceptions) to the handler, which
 * answers and closes; after that the decoder drops all further input.
 *
 * <p>Incremental: the arguments of a command that spans reads are kept as they complete, so a
 * large command arriving in many small reads is parsed once, not once per read. Not sharable: one
 * per connection, touched by its event loop only.
 */
final class RespDecoder extends ChannelInboundHandlerAdapter {

  /** Longest inline command line: Redis's PROTO_INLINE_MAX_SIZE. */
  static final int INLINE_BYTES_MAX = 64 << 10;
  /** Longest {@code *N} or {@code $N} header line: a sign and 19 digits are plenty. */
  private static final int HEADER_BYTES_MAX = 32;

  private final int argsMax;
  private final int bulkBytesMax;
  private final int commandBytesMax;
  private final InputBudget budget;
  private final long partialTimeoutMs;

  private final ByteBuf line = io.netty.buffer.Unpooled.buffer(64);
  private List<ByteString> args; // the multibulk command being read, null between commands
  private int argsLeft;
  private int bulkLength = -1; // the length of the bulk whose bytes come next, -1 when a header comes next
  private byte[] bulk; // a bulk arriving over several reads
  private int bulkFilled;
  private int commandBytes;
  private final List<InputBudget.Reservation> reservations = new ArrayList<>();
  private long reserved;
  private ScheduledFuture<?> deadline;
  private boolean failed;

  /**
   * @param argsMax most arguments of one command, its name included
   * @param bulkBytesMax longest argument (a key, a value, a set element)
   * @param commandBytesMax most bytes of one command on the wire
   * @param partialTimeoutMs a command must arrive whole within this long of its first byte; 0 for no limit
   */
  RespDecoder(int argsMax, int bulkBytesMax, int commandBytesMax, InputBudget budget, long partialTimeoutMs) {
    this.argsMax = argsMax;
    this.bulkBytesMax = bulkBytesMax;
    this.commandBytesMax = commandBytesMax;
    this.budget = budget;
    this.partialTimeoutMs = partialTimeoutMs;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      while (in.isReadable() && !failed) {
        RespCommand command = next(ctx, in);
        if (command != null) {
          completed();
          ctx.fireChannelRead(command);
        } else if (!partial()) {
          completed(); // *0, *-1 or an empty line: no command, and nothing held
        }
      }
      if (!failed && partial()) {
        hold(ctx, heldBytes());
        startDeadline(ctx);
      }
    } catch (RuntimeException e) {
      fail();
      throw e;
    } finally {
      in.release();
    }
  }

  /** Consumes input towards the next command; returns it once complete, else null (more input needed). */
  private RespCommand next(ChannelHandlerContext ctx, ByteBuf in) {
    if (args == null) {
      if (line.readableBytes() == 0 && in.getByte(in.readerIndex()) != '*') {
        return inline(in);
      }
      if (line.readableBytes() > 0 && line.getByte(line.readerIndex()) != '*') {
        return inline(in);
      }
      long count = header(in, "multibulk count", "invalid multibulk length");
      if (count == INCOMPLETE) {
        return null;
      }
      if (count <= 0) {
        commandBytes = 0;
        return null; // *0 and *-1 are no command; Redis ignores them too
      }
      if (count > argsMax) {
        throw new RespProtocolException("invalid multibulk length: " + count + " arguments, over the limit of "
            + argsMax);
      }
      args = new ArrayList<>((int) count);
      argsLeft = (int) count;
    }
    while (argsLeft > 0 && in.isReadable()) {
      if (bulkLength < 0) {
        if (line.readableBytes() == 0 && in.getByte(in.readerIndex()) != '$') {
          throw new RespProtocolException("expected '$', got '" + printable(in.getByte(in.readerIndex())) + "'");
        }
        long length = header(in, "bulk length", "invalid bulk length");
        if (length == INCOMPLETE) {
          return null;
        }
        if (length < 0 || length > bulkBytesMax) {
          throw new RespProtocolException("invalid bulk length: " + length + " bytes, over the limit of "
              + bulkBytesMax + " for one argument");
        }
        if (commandBytes + length + 2 > commandBytesMax) {
          throw new RespProtocolException("a command of more than " + commandBytesMax + " bytes, the limit");
        }
        bulkLength = (int) length;
      }
      if (!bulk(ctx, in)) {
        return null;
      }
    }
    if (argsLeft > 0) {
      return null;
    }
    RespCommand command = new RespCommand(args, commandBytes);
    args = null;
    return command;
  }

  /** Reads the current bulk's bytes and its CRLF; true once the argument is complete. */
  private boolean bulk(ChannelHandlerContext ctx, ByteBuf in) {
    int need = bulkLength + 2;
    if (bulk == null && in.readableBytes() >= need) {
      if (in.getByte(in.readerIndex() + bulkLength) != '\r' || in.getByte(in.readerIndex() + bulkLength + 1) != '\n') {
        throw new RespProtocolException("a bulk of " + bulkLength + " bytes is not followed by CRLF");
      }
      countBytes(need);
      args.add(ByteString.copyFrom(in.nioBuffer(in.readerIndex(), bulkLength)));
      in.skipBytes(need);
      endArg();
      return true;
    }
    if (bulk == null) {
      hold(ctx, heldBytes() + need); // before the allocation: a budget that cannot hold it refuses here
      bulk = new byte[need];
      bulkFilled = 0;
    }
    int take = Math.min(in.readableBytes(), need - bulkFilled);
    countBytes(take);
    in.readBytes(bulk, bulkFilled, take);
    bulkFilled += take;
    if (bulkFilled < need) {
      return false;
    }
    if (bulk[bulkLength] != '\r' || bulk[bulkLength + 1] != '\n') {
      throw new RespProtocolException("a bulk of " + bulkLength + " bytes is not followed by CRLF");
    }
    args.add(ByteString.copyFrom(bulk, 0, bulkLength));
    bulk = null;
    endArg();
    return true;
  }

  private void endArg() {
    bulkLength = -1;
    argsLeft--;
  }

  /** An inline command: one line of words, quoted as Redis's sdssplitargs reads them. */
  private RespCommand inline(ByteBuf in) {
    String text = readLine(in, INLINE_BYTES_MAX, "inline command");
    if (text == null) {
      return null;
    }
    int bytes = commandBytes;
    commandBytes = 0;
    List<ByteString> words = InlineParser.split(text);
    if (words.isEmpty()) {
      return null; // an empty line: Redis ignores it
    }
    if (words.size() > argsMax) {
      throw new RespProtocolException("an inline command of " + words.size() + " words, over the limit of " + argsMax);
    }
    return new RespCommand(words, bytes);
  }

  /**
   * The next line without its line end, consuming it; null while it is incomplete (its bytes so far
   * are kept). Lines end with LF; a CR before it is dropped. Longer than {@code max}: refused.
   */
  private String readLine(ByteBuf in, int max, String what) {
    int eol = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
    int available = eol < 0 ? in.readableBytes() : eol - in.readerIndex();
    if (line.readableBytes() + available > max + 1) {
      throw new RespProtocolException("too long " + what + " line: more than " + max + " bytes");
    }
    if (eol < 0) {
      countBytes(in.readableBytes());
      line.writeBytes(in);
      return null;
    }
    countBytes(available + 1);
    String text;
    if (line.readableBytes() == 0) {
      text = in.toString(in.readerIndex(), available, java.nio.charset.StandardCharsets.ISO_8859_1);
    } else {
      line.writeBytes(in, in.readerIndex(), available);
      text = line.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
      line.clear();
    }
    in.readerIndex(eol + 1);
    if (line.capacity() > 1024) {
      line.capacity(64); // an inline line grew it: do not keep 64 KiB per idle connection
    }
    return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
  }

  /** What {@link #header} answers while the line has not all arrived. */
  private static final long INCOMPLETE = Long.MIN_VALUE;

  /**
   * The number of a header line ({@code *N} or {@code $N}) after its one-byte prefix, consuming the
   * line; {@link #INCOMPLETE} while it has not all arrived. A line all in {@code in} is read in
   * place, without a string; one split across reads goes through {@link #readLine}.
   */
  private long header(ByteBuf in, String what, String error) {
    if (line.readableBytes() == 0) {
      int start = in.readerIndex();
      int eol = in.indexOf(start, Math.min(in.writerIndex(), start + HEADER_BYTES_MAX + 2), (byte) '\n');
      if (eol >= 0) {
        int end = eol > start && in.getByte(eol - 1) == '\r' ? eol - 1 : eol;
        long n = digits(in, start + 1, end, error);
        countBytes(eol + 1 - start);
        in.readerIndex(eol + 1);
        return n;
      }
    }
    String text = readLine(in, HEADER_BYTES_MAX, what);
    if (text == null) {
      return INCOMPLETE;
    }
    byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1); // as readLine decoded it
    return digits(io.netty.buffer.Unpooled.wrappedBuffer(bytes), 1, bytes.length, error);
  }

  /**
   * The decimal in {@code in}'s bytes {@code [from, to)}: an optional minus and 1 to 19 characters
   * in all, ASCII digits only (no plus sign, as Redis's string2ll).
   */
  private static long digits(ByteBuf in, int from, int to, String error) {
    int length = to - from;
    if (length <= 0 || length > 19) {
      throw new RespProtocolException(error);
    }
    boolean negative = in.getByte(from) == '-';
    int i = negative ? from + 1 : from;
    if (i == to) {
      throw new RespProtocolException(error);
    }
    long n = 0;
    for (; i < to; i++) {
      int d = in.getByte(i) - '0';
      if (d < 0 || d > 9 || n > (Long.MAX_VALUE - d) / 10) {
        throw new RespProtocolException(error);
      }
      n = n * 10 + d;
    }
    return negative ? -n : n;
  }



  private void countBytes(int n) {
    commandBytes += n;
    if (commandBytes > commandBytesMax || commandBytes < 0) {
      throw new RespProtocolException("a command of more than " + commandBytesMax + " bytes, the limit");
    }
  }

  private boolean partial() {
    return args != null || line.readableBytes() > 0 || bulk != null;
  }

  private long heldBytes() {
    long held = line.readableBytes() + (bulk == null ? 0 : bulk.length);
    if (args != null) {
      for (ByteString a : args) {
        held += a.size();
      }
    }
    return held;
  }

  /** Tops the reservation up to {@code bytes}; the budget refusing closes the connection. */
  private void hold(ChannelHandlerContext ctx, long bytes) {
    if (bytes <= reserved) {
      return;
    }
    long more = bytes - reserved;
    InputBudget.Reservation r = budget.reserve(more, () -> ctx.executor().execute(() -> evicted(ctx)));
    if (r == null) {
      throw new InputBudgetExceededException("the node is holding " + budget.used() + " bytes of input, its limit; "
          + "a command growing by " + more + " bytes does not fit");
    }
    reservations.add(r);
    reserved = bytes;
  }

  private void evicted(ChannelHandlerContext ctx) {
    if (failed || !partial()) {
      return;
    }
    fail();
    ctx.fireExceptionCaught(new InputBudgetExceededException("the node's input budget of " + budget.bytesMax()
        + " bytes ran out; this connection's command still arriving was the oldest"));
  }

  private void startDeadline(ChannelHandlerContext ctx) {
    if (partialTimeoutMs <= 0 || deadline != null) {
      return;
    }
    deadline = ctx.executor().schedule(() -> {
      deadline = null;
      if (!failed && partial()) {
        fail();
        ctx.fireExceptionCaught(new FrameTimeoutException("a command did not arrive whole within " + partialTimeoutMs
            + " ms of its first byte"));
      }
    }, partialTimeoutMs, TimeUnit.MILLISECONDS);
  }

  /** A command completed: its reservation and deadline end (the handler holds its bytes until answered). */
  private void completed() {
    commandBytes = 0;
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
    for (InputBudget.Reservation r : reservations) {
      r.release();
    }
    reservations.clear();
    reserved = 0;
  }

  private void fail() {
    failed = true;
    args = null;
    bulk = null;
    line.clear();
    completed();
  }

  private static String printable(byte b) {
    return b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b & 0xff);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    fail();
    line.release();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail();
    ctx.fireChannelInactive();
  }
}
