package io.latticekv.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthFileTest {

  @TempDir Path dir;
  private final SecureRandom random = new SecureRandom();

  private PasswordHash hash(String password) {
    return PasswordHash.of(password.toCharArray(), random, PasswordHash.ITERATIONS_MIN);
  }

  @Test
  void savedUsersLoadBackOwnerReadableOnly() throws Exception {
    Path file = dir.resolve("users");
    AuthFile.empty().with(new AuthFile.User("alice", Role.ADMIN, hash("a")))
        .with(new AuthFile.User("backup", Role.READ, null)).save(file);
    AuthFile loaded = AuthFile.load(file);
    assertEquals(2, loaded.size());
    assertEquals(Role.ADMIN, loaded.user("alice").role());
    assertTrue(loaded.user("alice").hash().matches("a".toCharArray()));
    assertNull(loaded.user("backup").hash(), "cert-only user");
    assertNull(loaded.user("mallory"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertTrue(Files.readString(file).contains("backup read cert"), Files.readString(file));
  }

  @Test
  void replacingAUserKeepsTheOthers() throws Exception {
    AuthFile file = AuthFile.empty().with(new AuthFile.User("a", Role.READ, null))
        .with(new AuthFile.User("b", Role.READ, null)).with(new AuthFile.User("a", Role.WRITE, null));
    assertEquals(2, file.size());
    assertEquals(Role.WRITE, file.user("a").role());
  }

  @Test
  void commentsAndBlankLinesAreIgnored() throws Exception {
    Path file = dir.resolve("users");
    Files.writeString(file, "# users\n\n   \nbob  write   " + hash("b") + "  \n# end\n");
    assertEquals(Role.WRITE, AuthFile.load(file).user("bob").role());
  }

  @Test
  void aBadLineIsNamedByNumber() throws Exception {
    Path file = dir.resolve("users");
    String good = "alice admin " + hash("a") + "\n";
    assertRefused(file, good + "bob write\n", "line 2: expected NAME ROLE HASH, got 2 fields");
    assertRefused(file, good + "bob owner cert\n", "line 2: a role is read, write or admin, not 'owner'");
    assertRefused(file, "# x\n" + good + "al/ice read cert\n", "line 3: a user name is 1 to 64 letters");
    assertRefused(file, good + "alice read cert\n", "line 2: user 'alice' is listed twice");
    assertRefused(file, "bob read md5$x\n", "line 1: a password hash is pbkdf2-sha256$");
  }

  private static void assertRefused(Path file, String text, String expected) throws Exception {
    Files.writeString(file, text);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AuthFile.load(file));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void aFileOfTooManyUsersIsRefused() throws Exception {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i <= AuthFile.USERS_MAX; i++) {
      text.append("u").append(i).append(" read cert\n");
    }
    Path file = dir.resolve("users");
    Files.writeString(file, text);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AuthFile.load(file));
    assertTrue(e.getMessage().endsWith("lists more than " + AuthFile.USERS_MAX + " users"), e.getMessage());
  }
}
