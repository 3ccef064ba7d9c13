package io.latticekv.server.security;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Salted, slow password hashes: PBKDF2 with HMAC-SHA256 from the JDK, written as {@code
 * pbkdf2-sha256$ITERATIONS$SALT$HASH} (salt and hash in base64). 600,000 iterations is OWASP's
 * recommendation for PBKDF2-HMAC-SHA256 (2023): a guess costs an attacker who stole the file
 * about as much as one login costs the node (a few hundred milliseconds), which {@link
 * Authenticator} pays once per user and password, not once per connection.
 */
public final class PasswordHash {

  public static final int ITERATIONS = 600_000;
  /** Fewer makes a stolen file cheap to attack; a file asking for fewer is refused. */
  static final int ITERATIONS_MIN = 10_000;
  /** More makes each login a denial of service (about a minute of CPU at 600,000 per 0.3 s); refused too. */
  static final int ITERATIONS_MAX = 100_000_000;
  private static final int SALT_BYTES = 16;
  private static final int HASH_BYTES = 32;
  private static final String SCHEME = "pbkdf2-sha256";

  private final int iterations;
  private final byte[] salt;
  private final byte[] hash;

  private PasswordHash(int iterations, byte[] salt, byte[] hash) {
    this.iterations = iterations;
    this.salt = salt;
    this.hash = hash;
  }

  /** A new hash of {@code password} with a fresh random salt. */
  public static PasswordHash of(char[] password, SecureRandom random) {
    return of(password, random, ITERATIONS);
  }

  /** With another iteration count: for tests, where the slow hash only costs time. */
  static PasswordHash of(char[] password, SecureRandom random, int iterations) {
    byte[] salt = new byte[SALT_BYTES];
    random.nextBytes(salt);
    return new PasswordHash(iterations, salt, derive(password, salt, iterations));
  }

  /** Parses the written form; a malformed one is a clear error naming what is wrong. */
  public static PasswordHash parse(String text) {
    String[] parts = text.split("\\$");
    if (parts.length != 4 || !parts[0].equals(SCHEME)) {
      throw new IllegalArgumentException("a password hash is " + SCHEME + "$ITERATIONS$SALT$HASH");
    }
    int iterations;
    try {
      iterations = Integer.parseInt(parts[1]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("the iteration count '" + parts[1] + "' is not a number");
    }
    if (iterations < ITERATIONS_MIN || iterations > ITERATIONS_MAX) {
      throw new IllegalArgumentException("an iteration count of " + iterations + " is out of range");
    }
    try {
      return new PasswordHash(iterations, Base64.getDecoder().decode(parts[2]), Base64.getDecoder().decode(parts[3]));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the salt or hash is not base64");
    }
  }

  /** Whether {@code password} is the one hashed; in constant time over the hash. */
  public boolean matches(char[] password) {
    return MessageDigest.isEqual(hash, derive(password, salt, iterations));
  }

  @Override
  public String toString() {
    return SCHEME + "$" + iterations + "$" + Base64.getEncoder().encodeToString(salt) + "$"
        + Base64.getEncoder().encodeToString(hash);
  }

  private static byte[] derive(char[] password, byte[] salt, int iterations) {
    PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BYTES * 8);
    try {
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no PBKDF2WithHmacSHA256", e);
    } finally {
      spec.clearPassword();
    }
  }

  /** Clears a password held in memory. */
  public static void wipe(char[] password) {
    Arrays.fill(password, '\0');
  }
}
