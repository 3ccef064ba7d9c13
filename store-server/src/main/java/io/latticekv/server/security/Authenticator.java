package io.latticekv.server.security;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs clients in against the {@link AuthFile}: with a password, checked against its slow hash on
 * a small pool of its own (never on an event loop), or with a client certificate whose common name
 * is a user's name. A password that verified once is remembered as an HMAC under a key drawn at
 * start, so the node pays the slow hash once per user and password, not once per connection; the
 * memory is cleared whenever the file is reloaded. Logins with the same user and password that
 * arrive while one is being checked share that check (a connection pool logging in at once). At
 * most {@link #LOGINS_WAITING_MAX} slow checks wait at once; more are refused (a flood of guesses
 * cannot queue without end).
 *
 * <p>The file is reread when it changes (checked every {@link #RELOAD_CHECK_MS}) or on {@link
 * #reload()} (SIGHUP); a file that does not parse leaves the users as they were, with an error in
 * the log. Thread-safe.
 */
public final class Authenticator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
  /** Failed logins, at most one line per kind per 10 s: a guessing attack shows without flooding the log. */
  private static final io.latticekv.core.util.RateLimitedLog failures =
      new io.latticekv.core.util.RateLimitedLog(log, io.latticekv.core.clock.Clock.system(), 10_000);

  /** Who a connection is logged in as, and how. */
  public record Principal(String user, Role role, String method) {}

  /** Everyone is an admin when no auth file is configured (a node on a trusted network). */
  public static final Principal ANYONE = new Principal("", Role.ADMIN, "none");

  static final long RELOAD_CHECK_MS = 2_000;
  /** Slow hash checks waiting at once: a few seconds of logins at the hash's cost. */
  static final int LOGINS_WAITING_MAX = 64;

  private final Path file;
  private volatile AuthFile users;
  private volatile long loadedModified;
  private volatile long loadedSize;
  private final Map<String, byte[]> verified = new ConcurrentHashMap<>();
  /** Checks running, by file generation, user and HMAC of the password: at most the hash queue's worth. */
  private final Map<String, CompletableFuture<Principal>> checking = new ConcurrentHashMap<>();
  /** Bumped by every reload. */
  private volatile long generation;
  /** Logins refused since start, said in the log lines (the lattice_errors metric counts them too). */
  private final java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
  private final byte[] cacheKey = new byte[32];
  private final ThreadPoolExecutor hashing;
  private final java.util.concurrent.ScheduledExecutorService watcher;

  private Authenticator(Path file) throws IOException {
    this.file = file;
    new SecureRandom().nextBytes(cacheKey);
    this.users = AuthFile.load(file);
    remember(file);
    this.hashing = new ThreadPoolExecutor(1, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(LOGINS_WAITING_MAX),
        r -> daemon(r, "lattice-auth"));
    this.watcher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "lattice-auth-watch"));
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

  private void remember(Path f) throws IOException {
    loadedModified = Files.getLastModifiedTime(f).toMillis();
    loadedSize = Files.size(f);
  }

  private void reloadIfChanged() {
    try {
      if (Files.getLastModifiedTime(file).toMillis() != loadedModified || Files.size(file) != loadedSize) {
        reload();
      }
    } catch (IOException e) {
      log.error("cannot check auth file {}: {}", file, e.getMessage());
    }
  }

  /** Rereads the file now; keeps the current users if it does not parse. */
  public synchronized void reload() {
    try {
      AuthFile next = AuthFile.load(file);
      remember(file);
      users = next;
      generation++;
      verified.clear();
      log.info("reloaded auth file {}: {} users", file, next.size());
    } catch (IOException | IllegalArgumentException e) {
      log.error("auth file {} not reloaded, the users stay as they were: {}", file, e.getMessage());
    }
  }

  /** Logs in with a password; fails with an {@link AuthException} saying why. */
  public CompletableFuture<Principal> login(String user, char[] password) {
    AuthFile.User u = users.user(user);
    if (u == null) {
      PasswordHash.wipe(password);
      return refused("unknown-user", "unknown user '" + user + "'");
    }
    if (u.hash() == null) {
      PasswordHash.wipe(password);
      return refused("cert-only", "user '" + user + "' logs in with a client certificate only");
    }
    byte[] mac = mac(user, password);
    byte[] known = verified.get(user);
    if (known != null && MessageDigest.isEqual(known, mac)) {
      PasswordHash.wipe(password);
      return CompletableFuture.completedFuture(new Principal(user, u.role(), "password"));
    }
    // A pool of connections logs in at once with one user and password: they share one check
    // rather than each paying the slow hash (and filling the queue).
    long started = generation;
    String key = started + "/" + user + "/" + java.util.HexFormat.of().formatHex(mac);
    CompletableFuture<Principal> result = new CompletableFuture<>();
    CompletableFuture<Principal> running = checking.putIfAbsent(key, result);
    if (running != null) {
      PasswordHash.wipe(password);
      return running;
    }
    try {
      hashing.execute(() -> {
        try {
          if (u.hash().matches(password)) {
            if (generation == started) { // a check begun before a reload must not vouch for the old password
              verified.put(user, mac);
            }
            result.complete(new Principal(user, u.role(), "password"));
          } else {
            failures.warn("wrong-password", "login refused: wrong password for user '{}' ({} refusals)", user,
                failed.incrementAndGet());
            result.completeExceptionally(new AuthException(AuthException.Kind.UNAUTHENTICATED,
                "wrong password for user '" + user + "'"));
          }
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        } finally {
          checking.remove(key, result);
          PasswordHash.wipe(password);
        }
      });
    } catch (RejectedExecutionException busy) {
      checking.remove(key, result);
      PasswordHash.wipe(password);
      refused("busy", LOGINS_WAITING_MAX + " logins are being checked already; try again")
          .whenComplete((p, e) -> result.completeExceptionally(e)); // and whoever joined this check
    }
    return result;
  }

  private CompletableFuture<Principal> refused(String kind, String why) {
    failures.warn(kind, "login refused: {} ({} refusals)", why, failed.incrementAndGet());
    return CompletableFuture.failedFuture(new AuthException(AuthException.Kind.UNAUTHENTICATED, why));
  }

  /**
   * {@code who} as the file says now: with their current role, or null when they were removed.
   * Asked for every request, so a reload takes effect on connections already logged in.
   */
  public Principal current(Principal who) {
    AuthFile.User u = users.user(who.user());
    if (u == null) {
      return null;
    }
    return u.role() == who.role() ? who : new Principal(who.user(), u.role(), who.method());
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
