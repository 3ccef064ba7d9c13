package io.latticekv.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthenticatorTest {

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();
  private final List<Authenticator> opened = new ArrayList<>();

  @AfterEach
  void close() {
    opened.forEach(Authenticator::close);
  }

  private AuthFile.User user(String name, Role role, String password) {
    return new AuthFile.User(name, role, password == null ? null
        : PasswordHash.of(password.toCharArray(), random, PasswordHash.ITERATIONS_MIN));
  }

  private Authenticator open(AuthFile users) throws Exception {
    Path file = dir.resolve("users");
    users.save(file);
    Authenticator auth = Authenticator.open(file);
    opened.add(auth);
    return auth;
  }

  private static Authenticator.Principal login(Authenticator auth, String user, String password) throws Exception {
    try {
      return auth.login(user, password.toCharArray()).get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  private static String refusal(Authenticator auth, String user, String password) {
    AuthException e = assertThrows(AuthException.class, () -> login(auth, user, password));
    assertEquals(AuthException.Kind.UNAUTHENTICATED, e.kind());
    return e.getMessage();
  }

  @Test
  void aPasswordLogsInItsUserWithTheirRole() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(user("alice", Role.WRITE, "pw"))
        .with(user("backup", Role.ADMIN, null)));
    assertEquals(new Authenticator.Principal("alice", Role.WRITE, "password"), login(auth, "alice", "pw"));
    assertEquals("wrong password for user 'alice'", refusal(auth, "alice", "PW"));
    assertEquals("unknown user 'mallory'", refusal(auth, "mallory", "pw"));
    assertEquals("user 'backup' logs in with a client certificate only", refusal(auth, "backup", "pw"));
    assertEquals(new Authenticator.Principal("backup", Role.ADMIN, "certificate"), auth.certificate("backup"));
    assertNull(auth.certificate("mallory"));
    assertNull(auth.certificate(null));
  }

  @Test
  void aVerifiedPasswordIsNotHashedAgainButAWrongOneIs() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random)))); // the real cost: the second login must not pay it
    login(auth, "alice", "pw");
    CompletableFuture<Authenticator.Principal> again = auth.login("alice", "pw".toCharArray());
    assertTrue(again.isDone(), "a remembered password was hashed again");
    CompletableFuture<Authenticator.Principal> wrong = auth.login("alice", "px".toCharArray());
    assertTrue(!wrong.isDone() || wrong.isCompletedExceptionally(), "a wrong password was taken as remembered");
    assertEquals("wrong password for user 'alice'", refusal(auth, "alice", "pw2"));
  }

  @Test
  void aFloodOfLoginsIsRefusedBeyondTheQueue() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random))));
    List<CompletableFuture<Authenticator.Principal>> guesses = new ArrayList<>();
    // Two checks run, LOGINS_WAITING_MAX wait; well before the first ends (600,000 iterations) the
    // queue is full and the next guesses are refused at once.
    for (int i = 0; i < Authenticator.LOGINS_WAITING_MAX + 10; i++) {
      guesses.add(auth.login("alice", ("guess" + i).toCharArray()));
    }
    CompletableFuture<Authenticator.Principal> last = guesses.get(guesses.size() - 1);
    assertTrue(last.isCompletedExceptionally(), "the queue of slow checks has no bound");
    ExecutionException e = assertThrows(ExecutionException.class, last::get);
    assertEquals(Authenticator.LOGINS_WAITING_MAX + " logins are being checked already; try again",
        e.getCause().getMessage());
  }

  @Test
  void aPoolLoggingInAtOnceSharesOneCheck() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random))));
    List<CompletableFuture<Authenticator.Principal>> logins = new ArrayList<>();
    for (int i = 0; i < 3 * Authenticator.LOGINS_WAITING_MAX; i++) { // more than may wait: they must share
      logins.add(auth.login("alice", "pw".toCharArray()));
    }
    for (CompletableFuture<Authenticator.Principal> login : logins) {
      assertEquals("alice", login.get(30, TimeUnit.SECONDS).user());
    }
  }

  @Test
  void aChangedFileIsReloadedAndForgetsRememberedPasswords() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(user("alice", Role.READ, "old")));
    login(auth, "alice", "old");
    AuthFile.empty().with(user("alice", Role.ADMIN, "new")).with(user("bob", Role.READ, "b")).save(dir.resolve("users"));
    assertTrue(await(() -> auth.certificate("bob") != null, 15_000), "the changed file was not reloaded");
    assertEquals("wrong password for user 'alice'", refusal(auth, "alice", "old"));
    assertEquals(Role.ADMIN, login(auth, "alice", "new").role());
  }

  @Test
  void aFileThatNoLongerParsesKeepsTheUsers() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(user("alice", Role.READ, "pw")));
    Files.writeString(dir.resolve("users"), "alice sudo cert\n");
    auth.reload(); // what SIGHUP does
    assertEquals(Role.READ, login(auth, "alice", "pw").role());
  }

  @Test
  void aMissingFileIsAClearError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Authenticator.open(dir.resolve("nope")));
    assertEquals("auth file " + dir.resolve("nope") + " does not exist (create it with lattice user add)",
        e.getMessage());
  }

  private static boolean await(BooleanSupplier condition, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(20); // polling with a deadline
    }
    return condition.getAsBoolean();
  }
}
