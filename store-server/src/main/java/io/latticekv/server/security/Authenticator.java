package io.latticekv.server.security;

import io.latticekv.core.clock.Clock;
import io.latticekv.core.util.RateLimitedLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs clients in against the {@link AuthFile}: with a password, checked against its slow hash on
 * a small pool of its own (never on an event loop), or with a client certificate whose common name
 * is a user's name. Thread-safe.
 *
 * <p>What the slow hash costs, and who may make the node pay it:
 *
 * <ul>
 *   <li>A password that verified is remembered as an HMAC under a key drawn at start, so the node
 *       pays the hash once per user and password, not once per connection. Logins with the same
 *       user and password that arrive while one is being checked share that check (a connection
 *       pool logging in at once).
 *   <li>A wrong password is remembered the same way for {@link #WRONG_REMEMBERED_MS}: a client that
 *       retries it does not pay the hash again.
 *   <li>At most {@link #LOGINS_WAITING_MAX} checks wait at once, and at most {@link
 *       #LOGINS_PER_SOURCE_MAX} of them for one source address; more are refused at once. (Each
 *       connection may have one login in flight, and is closed after a few failures: {@code
 *       Session}.)
 * </ul>
 *
 * <p>The file is reread when it changes (checked every {@link #RELOAD_CHECK_MS}) or on {@link
 * #reload()} (SIGHUP); a file that does not parse leaves the users as they were, with an error in
 * the log. A reload applies to connections already logged in ({@link #current}): a removed user,
 * or a password login whose password changed, is refused from its next request on.
 */
public final class Authenticator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
  /** Failed logins, at most one line per kind per 10 s: a guessing attack shows without flooding the log. */
  private static final RateLimitedLog failures = new RateLimitedLog(log, Clock.system(), 10_000);

  /**
   * Who a connection is logged in as, and how. {@code credential} is the password hash the login
   * checked ({@code null} for a certificate): a password login ends when the hash changes.
   */
  public record Principal(String user, Role role, String method, String credential) {
    public Principal(String user, Role role, String method) {
      this(user, role, method, null);
    }
  }

  /** Everyone is an admin when no auth file is configured (a node on a trusted network). */
  public static final Principal ANYONE = new Principal("", Role.ADMIN, "none");

  static final long RELOAD_CHECK_MS = 2_000;
  /** Slow hash checks waiting at once: about ten seconds of logins at the hash's cost on 2 threads. */
  static final int LOGINS_WAITING_MAX = 64;
  /** Slow checks one source address may have waiting: one host cannot take the whole queue. */
  static final int LOGINS_PER_SOURCE_MAX = 8;
  /** How long a wrong password is answered without hashing it again. */
  static final long WRONG_REMEMBERED_MS = 10_000;
  /** Wrong passwords remembered at most (the oldest are forgotten first): a bound on a guesser's memory. */
  static final int WRONG_REMEMBERED_MAX = 4_096;
  /** The longest password taken: longer ones are refused before any work. */
  public static final int PASSWORD_CHARS_MAX = 1_024;

  private final Path file;
  private final byte[] cacheKey = new byte[32];
  private final ThreadPoolExecutor hashing;
  private final ScheduledExecutorService watcher;
  private final Object lock = new Object();

  // Guarded by lock for writes (reload, remembering a check's result); read without it.
  private volatile AuthFile users;
  private volatile FileStamp loaded;
  private final Map<String, byte[]> verified = new ConcurrentHashMap<>();
  /** Recent wrong passwords: HMAC (hex) to when they may be hashed again. Guarded by lock. */
  private final LinkedHashMap<String, Long> wrong = new LinkedHashMap<>();
  /** Checks running, by user and HMAC of the password. */
  private final Map<String, CompletableFuture<Principal>> checking = new ConcurrentHashMap<>();
  /** Checks waiting or running per source address; an entry goes when its count reaches zero. */
  private final Map<String, AtomicInteger> perSource = new ConcurrentHashMap<>();
  /** Logins refused since start, said in the log lines (the lattice_errors metric counts them too). */
  private final AtomicLong failed = new AtomicLong();

  private Authenticator(Path file) throws IOException {
    this.file = file;
    new SecureRandom().nextBytes(cacheKey);
    FileStamp stamp = FileStamp.of(file); // before reading: a change after it is seen at the next check
    this.users = AuthFile.load(file);
    this.loaded = stamp;
    this.hashing = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(LOGINS_WAITING_MAX),
        r -> daemon(r, "lattice-auth"));
    hashing.allowCoreThreadTimeOut(true);
    this.watcher = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "lattice-auth-watch"));
    watcher.scheduleWithFixedDelay(this::reloadIfChanged, RELOAD_CHECK_MS, RELOAD_CHECK_MS, TimeUnit.MILLISECONDS);
    log.info("client logins required: {} users in {}", users.size(), file);
  }

  /** Reads {@code file} and watches it; fails with a clear message when it does not parse. */
  public static Authenticator open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("auth file " + file + " does not exist (create it with lattice user add)");
    }
    return new Authenticator(file);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private void reloadIfChanged() {
    try {
      if (!FileStamp.of(file).equals(loaded)) {
        reload();
      }
    } catch (IOException e) {
      log.error("cannot check auth file {}: {}", file, e.getMessage());
    }
  }

  /**
   * Rereads the file now; keeps the current users if it does not parse. Remembered passwords of
   * users whose hash is unchanged stay remembered (a reload does not make every client pay the
   * hash again); the others are forgotten.
   */
  public void reload() {
    synchronized (lock) {
      try {
        FileStamp stamp = FileStamp.of(file);
        AuthFile next = AuthFile.load(file);
        AuthFile before = users;
        users = next;
        loaded = stamp;
        verified.keySet().removeIf(name -> !sameHash(before.user(name), next.user(name)));
        wrong.clear();
        log.info("reloaded auth file {}: {} users", file, next.size());
      } catch (IOException | IllegalArgumentException e) {
        log.error("auth file {} not reloaded, the users stay as they were: {}", file, e.getMessage());
      }
    }
  }

  private static boolean sameHash(AuthFile.User a, AuthFile.User b) {
    return a != null && b != null && Objects.equals(text(a.hash()), text(b.hash()));
  }

  private static String text(PasswordHash hash) {
    return hash == null ? null : hash.toString();
  }

  /**
   * Logs in with a password; fails with an {@link AuthException} saying why.
   *
   * @param source the client's address, for the per-source limit
   */
  public CompletableFuture<Principal> login(String user, char[] password, String source) {
    try {
      return check(user, password, source == null ? "?" : source);
    } finally {
      PasswordHash.wipe(password); // what check needs later it has taken a copy of
    }
  }

  private CompletableFuture<Principal> check(String user, char[] password, String source) {
    if (!AuthFile.isName(user)) {
      return refused("bad-name", "a user name is 1 to 64 letters, digits or ._@-");
    }
    if (password.length > PASSWORD_CHARS_MAX) {
      return refused("long-password", "a password is at most " + PASSWORD_CHARS_MAX + " characters");
    }
    AuthFile.User u = users.user(user);
    if (u == null) {
      return refused("unknown-user", "unknown user '" + user + "'");
    }
    if (u.hash() == null) {
      return refused("cert-only", "user '" + user + "' logs in with a client certificate only");
    }
    byte[] mac = mac(user, password);
    byte[] known = verified.get(user);
    if (known != null && MessageDigest.isEqual(known, mac)) {
      return CompletableFuture.completedFuture(new Principal(user, u.role(), "password", u.hash().toString()));
    }
    String key = user + "/" + HexFormat.of().formatHex(mac);
    synchronized (lock) {
      Long until = wrong.get(key);
      if (until != null && until > System.currentTimeMillis()) {
        return wrongPassword(user);
      }
    }
    CompletableFuture<Principal> result = new CompletableFuture<>();
    CompletableFuture<Principal> running = checking.putIfAbsent(key, result);
    if (running != null) {
      return running;
    }
    AtomicInteger mine = perSource.compute(source, (s, n) -> n == null ? new AtomicInteger(1) : incremented(n));
    if (mine.get() > LOGINS_PER_SOURCE_MAX) {
      release(source);
      checking.remove(key, result);
      refused("source-busy", LOGINS_PER_SOURCE_MAX + " logins from " + source + " are being checked already; try "
          + "again").whenComplete((p, e) -> result.completeExceptionally(e)); // and whoever joined this check
      return result;
    }
    char[] copy = password.clone();
    try {
      hashing.execute(() -> {
        try {
          boolean right = u.hash().matches(copy);
          boolean changed;
          Principal who = null;
          synchronized (lock) { // atomic with reload: the result is remembered only for the hash checked
            AuthFile.User now = users.user(user);
            changed = !sameHash(u, now);
            if (!changed && right) {
              verified.put(user, mac);
              who = new Principal(user, now.role(), "password", now.hash().toString());
            } else if (!changed) {
              rememberWrong(key);
            }
          }
          // Before the result is known: a login that comes after it must not join this check, which
          // may have been of a hash a reload has replaced since (it would pass an old password).
          checking.remove(key, result);
          if (changed) {
            result.completeExceptionally(new AuthException(AuthException.Kind.UNAUTHENTICATED,
                "user '" + user + "' changed while the login was checked; log in again"));
          } else if (right) {
            result.complete(who);
          } else {
            wrongPassword(user).whenComplete((p, e) -> result.completeExceptionally(e));
          }
        } catch (RuntimeException e) {
          checking.remove(key, result);
          result.completeExceptionally(e);
        } finally {
          checking.remove(key, result); // again, for an Error that passed the catch
          release(source);
          PasswordHash.wipe(copy);
        }
      });
    } catch (RejectedExecutionException busy) {
      checking.remove(key, result);
      release(source);
      PasswordHash.wipe(copy);
      refused("busy", LOGINS_WAITING_MAX + " logins are being checked already; try again")
          .whenComplete((p, e) -> result.completeExceptionally(e));
    }
    return result;
  }

  private static AtomicInteger incremented(AtomicInteger n) {
    n.incrementAndGet();
    return n;
  }

  private void release(String source) {
    perSource.computeIfPresent(source, (s, n) -> n.decrementAndGet() <= 0 ? null : n);
  }

  private void rememberWrong(String key) { // under lock
    if (wrong.size() >= WRONG_REMEMBERED_MAX) {
      wrong.remove(wrong.keySet().iterator().next()); // the oldest
    }
    wrong.put(key, System.currentTimeMillis() + WRONG_REMEMBERED_MS);
  }

  private CompletableFuture<Principal> wrongPassword(String user) {
    return refused("wrong-password", "wrong password for user '" + user + "'");
  }

  private CompletableFuture<Principal> refused(String kind, String why) {
    failures.warn(kind, "login refused: {} ({} refusals)", why, failed.incrementAndGet());
    return CompletableFuture.failedFuture(new AuthException(AuthException.Kind.UNAUTHENTICATED, why));
  }

  /**
   * {@code who} as the file says now, with their current role. Asked for every request, so a
   * reload takes effect on connections already logged in.
   *
   * @throws AuthException when the user was removed, or logged in with a password that changed since
   */
  public Principal current(Principal who) {
    AuthFile.User u = users.user(who.user());
    if (u == null) {
      throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "user '" + who.user()
          + "' is no longer a user of this node");
    }
    if (who.credential() != null && !who.credential().equals(text(u.hash()))) {
      throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "the password of user '" + who.user()
          + "' changed since this connection logged in; log in again");
    }
    return u.role() == who.role() ? who : new Principal(who.user(), u.role(), who.method(), who.credential());
  }

  /** The user a client certificate with this common name logs in as, or null when none is listed. */
  public Principal certificate(String commonName) {
    AuthFile.User u = commonName == null ? null : users.user(commonName);
    return u == null ? null : new Principal(u.name(), u.role(), "certificate");
  }

  private byte[] mac(String user, char[] password) {
    try {
      Mac hmac = Mac.getInstance("HmacSHA256");
      hmac.init(new SecretKeySpec(cacheKey, "HmacSHA256"));
      hmac.update(user.getBytes(StandardCharsets.UTF_8));
      hmac.update((byte) 0);
      ByteBuffer bytes = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
      hmac.update(bytes);
      if (bytes.hasArray()) {
        java.util.Arrays.fill(bytes.array(), (byte) 0);
      }
      return hmac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no HmacSHA256", e);
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    hashing.shutdownNow();
  }
}
