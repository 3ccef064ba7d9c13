package io.latticekv.server.resp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import com.google.protobuf.ByteString;
import io.latticekv.proto.wire.FrameTimeoutException;
import io.latticekv.proto.wire.InputBudget;
import io.latticekv.proto.wire.InputBudgetExceededException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RespDecoderTest {

  private static EmbeddedChannel channel(int argsMax, int bulkMax, int commandMax, InputBudget budget, long timeoutMs) {
    return new EmbeddedChannel(new RespDecoder(argsMax, bulkMax, commandMax, budget, timeoutMs));
  }

  private static EmbeddedChannel channel() {
    return channel(16, 1 << 20, 4 << 20, InputBudget.unlimited(), 0);
  }

  private static ByteBuf bytes(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }

  private static List<String> words(RespCommand c) {
    List<String> out = new ArrayList<>();
    c.args().forEach(a -> out.add(a.toString(StandardCharsets.ISO_8859_1)));
    return out;
  }

  private static List<List<String>> drain(EmbeddedChannel ch) {
    List<List<String>> out = new ArrayList<>();
    for (RespCommand c; (c = ch.readInbound()) != null; ) {
      out.add(words(c));
    }
    return out;
  }

  private static byte[] multibulk(List<byte[]> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("*" + args.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (byte[] a : args) {
      out.writeBytes(("$" + a.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.writeBytes(a);
      out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    return out.toByteArray();
  }

  @Test
  void pipelinedMultibulkAndInlineCommands() {
    EmbeddedChannel ch = channel();
    ch.writeInbound(bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"
        + "SET \"a b\" 'it\\'s' \"\\x41\\n\"\r\n\r\n*0\r\n*-1\r\n"));
    assertEquals(List.of(List.of("GET", "k"), List.of("PING"), List.of("SET", "", "a\r\nb"),
        List.of("SET", "a b", "it's", "A\n")), drain(ch), "an empty line, *0 and *-1 are no commands");
  }

  @Test
  void theBytesOfEachCommandAreCounted() {
    EmbeddedChannel ch = channel();
    String get = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    ch.writeInbound(bytes(get + "PING\r\n"));
    assertEquals(get.length(), ((RespCommand) ch.readInbound()).bytes());
    assertEquals("PING\r\n".length(), ((RespCommand) ch.readInbound()).bytes());
  }

  /** However the stream is cut into reads, the same commands come out, with the same byte counts. */
  @Test
  void anySplitOfTheStreamDecodesTheSame() {
    qt().withExamples(300).forAll(
        lists().of(lists().of(integers().between(0, 300)).ofSizeBetween(1, 6)).ofSizeBetween(1, 8),
        lists().of(integers().between(1, 40)).ofSizeBetween(1, 50))
        .checkAssert((commands, cuts) -> {
          ByteArrayOutputStream stream = new ByteArrayOutputStream();
          List<List<String>> expected = new ArrayList<>();
          for (List<Integer> lengths : commands) {
            List<byte[]> args = new ArrayList<>();
            List<String> words = new ArrayList<>();
            for (int len : lengths) {
              byte[] a = new byte[len];
              for (int i = 0; i < len; i++) {
                a[i] = (byte) ("\r\n*$ab".charAt((len + i) % 6));
              }
              args.add(a);
              words.add(new String(a, StandardCharsets.ISO_8859_1));
            }
            stream.writeBytes(multibulk(args));
            expected.add(words);
          }
          byte[] all = stream.toByteArray();
          EmbeddedChannel ch = channel(16, 1 << 20, 4 << 20, new InputBudget(1 << 20), 0);
          int at = 0;
          for (int i = 0; at < all.length; i++) {
            int n = Math.min(all.length - at, cuts.get(i % cuts.size()));
            ch.writeInbound(Unpooled.wrappedBuffer(all, at, n));
            at += n;
          }
          assertEquals(expected, drain(ch));
          ch.finishAndReleaseAll();
        });
  }

  @Test
  void limitsAreCheckedAtTheHeaderBeforeAnyBytesAreBuffered() {
    assertRefused(channel(), "*17\r\n", "invalid multibulk length: 17 arguments");
    assertRefused(channel(16, 100, 4 << 20, InputBudget.unlimited(), 0), "*1\r\n$101\r\n", "invalid bulk length: 101");
    assertRefused(channel(), "*1\r\n$-5\r\n", "invalid bulk length");
    assertRefused(channel(), "*x\r\n", "invalid multibulk length");
    assertRefused(channel(), "*1\r\n$1x\r\n", "invalid bulk length");
    assertRefused(channel(), "*1\r\n+OK\r\n", "expected '$', got '+'");
    assertRefused(channel(), "*1\r\n$2\r\nabcd", "not followed by CRLF");
    assertRefused(channel(), "*" + "1".repeat(40) + "\r\n", "too long multibulk count line");
    assertRefused(channel(), "GET " + "a".repeat(RespDecoder.INLINE_BYTES_MAX) + "\r\n", "too long inline command line");
    assertRefused(channel(), "GET \"abc\r\n", "unbalanced quotes");
    assertRefused(channel(16, 1 << 20, 64, InputBudget.unlimited(), 0),
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$60\r\n" + "v".repeat(60) + "\r\n", "a command of more than 64 bytes");
  }

  @Test
  void headerNumbersAreReadAsRedisReadsThemWholeOrSplit() {
    for (String bad : new String[] {"*1\r\n$+1\r\n", "*+1\r\n", "*1\r\n$-\r\n", "*\r\n", "*1\r\n$\r\n",
        "*9999999999999999999\r\n", "*1\r\n$1 \r\n", "*1\r\n$ 1\r\n"}) {
      String error = bad.indexOf('$') >= 0 ? "invalid bulk length" : "invalid multibulk length";
      assertRefused(channel(), bad, error);
      EmbeddedChannel split = channel(); // the header's line in two reads: read through a string
      split.writeInbound(bytes(bad.substring(0, bad.length() - 2)));
      assertRefused(split, "\r\n", error);
    }
    EmbeddedChannel ch = channel();
    ch.writeInbound(bytes("*2\n$3\nGET\r\n$1\r\nk\r\n*-1\r\n*0\r\n"));
    RespCommand get = ch.readInbound();
    assertEquals(List.of(ByteString.copyFromUtf8("GET"), ByteString.copyFromUtf8("k")), get.args());
    assertNull(ch.readInbound(), "*-1 and *0 are no command");
  }

  private static void assertRefused(EmbeddedChannel ch, String input, String message) {
    RespProtocolException e = assertThrows(RespProtocolException.class, () -> ch.writeInbound(bytes(input)));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    ch.writeInbound(bytes("PING\r\n"));
    assertNull(ch.readInbound(), "after a refusal nothing more is decoded: the stream is not trusted");
  }

  @Test
  void aBulkStillArrivingReservesTheBudgetBeforeItsBufferIsAllocated() {
    InputBudget budget = new InputBudget(1_000);
    EmbeddedChannel first = channel(16, 1 << 20, 4 << 20, budget, 0);
    first.writeInbound(bytes("*2\r\n$3\r\nGET\r\n$900\r\nabc"));
    assertTrue(budget.used() >= 900, "reserved " + budget.used());
    // A newer command that does not fit evicts the oldest one still arriving, with its connection.
    EmbeddedChannel second = channel(16, 1 << 20, 4 << 20, budget, 0);
    second.writeInbound(bytes("*1\r\n$500\r\nxyz"));
    first.runPendingTasks();
    assertThrows(InputBudgetExceededException.class, first::checkException);
    first.writeInbound(bytes("d".repeat(897) + "\r\n"));
    assertNull(first.readInbound(), "the evicted command is dropped");
    second.writeInbound(bytes("d".repeat(497) + "\r\n"));
    assertEquals(List.of("xyz" + "d".repeat(497)), words(second.readInbound()));
    assertEquals(0, budget.used(), "a complete command's reservation ends (the handler holds it until answered)");
    // One that does not fit even with every other evicted is refused at its header.
    EmbeddedChannel third = channel(16, 1 << 20, 4 << 20, budget, 0);
    assertThrows(InputBudgetExceededException.class, () -> third.writeInbound(bytes("*1\r\n$2000\r\nxyz")));
  }

  @Test
  void aCommandThatTricklesInIsCutOffAtTheDeadline() {
    EmbeddedChannel ch = channel(16, 1 << 20, 4 << 20, InputBudget.unlimited(), 500);
    ch.freezeTime();
    ch.writeInbound(bytes("*2\r\n$3\r\nGET\r\n"));
    ch.advanceTimeBy(400, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    ch.writeInbound(bytes("$1\r\n"));
    ch.advanceTimeBy(200, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    FrameTimeoutException e = assertThrows(FrameTimeoutException.class, ch::checkException);
    assertTrue(e.getMessage().contains("500 ms"), e.getMessage());
    ch.writeInbound(bytes("k\r\n"));
    assertNull(ch.readInbound());
  }

  @Test
  void noCommandSpanningTwoReadsLeavesTheDeadlineBehind() {
    EmbeddedChannel ch = channel(16, 1 << 20, 4 << 20, InputBudget.unlimited(), 500);
    ch.freezeTime();
    ch.writeInbound(bytes("*"));
    ch.writeInbound(bytes("0\r\n")); // no command, but it began in one read and ended in the next
    ch.advanceTimeBy(400, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    ch.writeInbound(bytes("*1\r\n$4\r\nPI")); // a new command: a deadline of its own, 500 ms from now
    ch.advanceTimeBy(300, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    ch.checkException(); // not cut off by the old deadline
    ch.advanceTimeBy(300, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThrows(FrameTimeoutException.class, ch::checkException, "and cut off by its own");
  }

  @Test
  void aBulkThatCannotFitTheCommandLimitIsRefusedAtItsHeader() {
    EmbeddedChannel ch = channel(16, 1 << 20, 1_000, new InputBudget(1 << 20), 0);
    assertThrows(RespProtocolException.class, () -> ch.writeInbound(bytes("*2\r\n$3\r\nGET\r\n$5000\r\n")));
  }

  @Test
  void inlineWordsSplitAsRedisSplitsThem() {
    assertEquals(List.of(ByteString.copyFromUtf8("a"), ByteString.copyFromUtf8("b c"), ByteString.copyFromUtf8("")),
        InlineParser.split("  a \"b c\" ''  "));
    assertEquals(List.of(ByteString.copyFrom(new byte[] {(byte) 0xff, 't', '\t'})),
        InlineParser.split("\"\\xfft\\t\""));
    assertThrows(RespProtocolException.class, () -> InlineParser.split("\"a\"b"));
    assertThrows(RespProtocolException.class, () -> InlineParser.split("'a"));
    assertEquals(List.of(ByteString.copyFromUtf8("a\u001fb")), InlineParser.split("a\u001fb"), "only C's spaces split");
    assertEquals(List.of(ByteString.copyFromUtf8("get")), InlineParser.split("get\0 k"), "a NUL ends the line");
  }
}
