package io.latticekv.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class PasswordHashTest {

  private final SecureRandom random = new SecureRandom();

  @Test
  void theWrittenFormParsesBackAndMatchesOnlyItsPassword() {
    PasswordHash hash = PasswordHash.of("s3cret".toCharArray(), random, PasswordHash.ITERATIONS_MIN);
    PasswordHash parsed = PasswordHash.parse(hash.toString());
    assertEquals(hash.toString(), parsed.toString());
    assertTrue(parsed.matches("s3cret".toCharArray()));
    assertFalse(parsed.matches("s3cret ".toCharArray()));
    assertFalse(parsed.matches("".toCharArray()));
  }

  @Test
  void theDefaultIsSlowAndEverySaltIsFresh() {
    PasswordHash a = PasswordHash.of("same".toCharArray(), random);
    PasswordHash b = PasswordHash.of("same".toCharArray(), random);
    assertTrue(a.toString().startsWith("pbkdf2-sha256$600000$"), a.toString());
    assertNotEquals(a.toString(), b.toString(), "two hashes of one password must differ (salt)");
    assertTrue(b.matches("same".toCharArray()));
  }

  @Test
  void aMalformedHashSaysWhatIsWrong() {
    assertEquals("a password hash is pbkdf2-sha256$ITERATIONS$SALT$HASH",
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse("md5$abc")).getMessage());
    assertEquals("the iteration count 'many' is not a number",
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse("pbkdf2-sha256$many$AA==$AA=="))
            .getMessage());
    assertEquals("an iteration count of 1000 is out of range",
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse("pbkdf2-sha256$1000$AA==$AA=="))
            .getMessage());
    assertEquals("the salt or hash is not base64",
        assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse("pbkdf2-sha256$20000$!!$AA=="))
            .getMessage());
  }

  @Test
  void wipeClearsThePassword() {
    char[] password = "secret".toCharArray();
    PasswordHash.wipe(password);
    assertEquals(new String(new char[6]), new String(password));
  }
}
