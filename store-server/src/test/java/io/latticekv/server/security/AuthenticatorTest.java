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
      return auth.login(user, password.toCharArray(), "10.0.0.1").get(10, TimeUnit.SECONDS);
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
    Authenticator.Principal alice = login(auth, "alice", "pw");
    assertEquals(List.of("alice", Role.WRITE, "password"), List.of(alice.user(), alice.role(), alice.method()));
    assertEquals("wrong password for user 'alice'", refusal(auth, "alice", "PW"));
    assertEquals("unknown user 'mallory'", refusal(auth, "mallory", "pw"));
    assertEquals("user 'backup' logs in with a client certificate only", refusal(auth, "backup", "pw"));
    assertEquals(new Authenticator.Principal("backup", Role.ADMIN, "certificate"), auth.certificate("backup"));
    assertNull(auth.certificate("mallory"));
    assertNull(auth.certificate(null));
    assertEquals("a user name is 1 to 64 letters, digits or ._@-", refusal(auth, "al\nice", "pw"));
    assertEquals("a password is at most 1024 characters", refusal(auth, "alice", "x".repeat(1025)));
  }

  @Test
  void aVerifiedPasswordIsNotHashedAgainButAWrongOneIs() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random)))); // the real cost: the second login must not pay it
    login(auth, "alice", "pw");
    CompletableFuture<Authenticator.Principal> again = auth.login("alice", "pw".toCharArray(), "10.0.0.1");
    assertTrue(again.isDone() && !again.isCompletedExceptionally(), "a remembered password was hashed again");
    CompletableFuture<Authenticator.Principal> wrong = auth.login("alice", "px".toCharArray(), "10.0.0.1");
    assertTrue(!wrong.isDone() || wrong.isCompletedExceptionally(), "a wrong password was taken as remembered");
    assertEquals("wrong password for user 'alice'", refusal(auth, "alice", "pw2"));
    CompletableFuture<Authenticator.Principal> retried = auth.login("alice", "pw2".toCharArray(), "10.0.0.1");
    assertTrue(retried.isCompletedExceptionally(), "a wrong password retried at once was hashed again");
  }

  @Test
  void aFloodOfLoginsIsRefusedBeyondTheQueueAndBeyondEachSourcesShare() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random))));
    // Two checks run, LOGINS_WAITING_MAX wait; well before the first ends (600,000 iterations) the
    // queue is full and the next guesses are refused at once. One source may have only its share.
    List<CompletableFuture<Authenticator.Principal>> fromOne = new ArrayList<>();
    for (int i = 0; i <= Authenticator.LOGINS_PER_SOURCE_MAX; i++) {
      fromOne.add(auth.login("alice", ("one" + i).toCharArray(), "10.0.0.1"));
    }
    CompletableFuture<Authenticator.Principal> overShare = fromOne.get(fromOne.size() - 1);
    assertTrue(overShare.isCompletedExceptionally(), "one source took more than its share of the queue");
    assertEquals(Authenticator.LOGINS_PER_SOURCE_MAX + " logins from 10.0.0.1 are being checked already; try again",
        assertThrows(ExecutionException.class, overShare::get).getCause().getMessage());
    CompletableFuture<Authenticator.Principal> last = null;
    for (int i = 0; i < Authenticator.LOGINS_WAITING_MAX + 10; i++) {
      last = auth.login("alice", ("guess" + i).toCharArray(), "10.0.1." + i);
    }
    assertTrue(last.isCompletedExceptionally(), "the queue of slow checks has no bound");
    assertEquals(Authenticator.LOGINS_WAITING_MAX + " logins are being checked already; try again",
        assertThrows(ExecutionException.class, last::get).getCause().getMessage());
  }

  @Test
  void aPoolLoggingInAtOnceSharesOneCheck() throws Exception {
    Authenticator auth = open(AuthFile.empty().with(new AuthFile.User("alice", Role.READ,
        PasswordHash.of("pw".toCharArray(), random))));
    List<CompletableFuture<Authenticator.Principal>> logins = new ArrayList<>();
    for (int i = 0; i < 3 * Authenticator.LOGINS_WAITING_MAX; i++) { // more than may wait: they must share
      logins.add(auth.login("alice", "pw".toCharArray(), "10.0.0.1"));
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
  void aReloadKeepsRememberedPasswordsOfUnchangedUsersAndEndsLoginsWhosePasswordChanged() throws Exception {
    AuthFile.User alice = new AuthFile.User("alice", Role.READ, PasswordHash.of("pw".toCharArray(), random));
    AuthFile.User bob = user("bob", Role.READ, "old");
    Authenticator auth = open(AuthFile.empty().with(alice).with(bob));
    login(auth, "alice", "pw");
    Authenticator.Principal bobsLogin = login(auth, "bob", "old");
    AuthFile.empty().with(alice).with(user("bob", Role.READ, "new")).save(dir.resolve("users"));
    auth.reload();
    CompletableFuture<Authenticator.Principal> again = auth.login("alice", "pw".toCharArray(), "10.0.0.1");
    assertTrue(again.isDone() && !again.isCompletedExceptionally(), "a reload made an unchanged user pay the hash");
    assertEquals("alice", auth.current(again.get()).user());
    AuthException ended = assertThrows(AuthException.class, () -> auth.current(bobsLogin));
    assertEquals("the password of user 'bob' changed since this connection logged in; log in again",
        ended.getMessage());
    assertEquals("wrong password for user 'bob'", refusal(auth, "bob", "old"));
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
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000); // polling with a deadline
    }
    return condition.getAsBoolean();
  }
}
