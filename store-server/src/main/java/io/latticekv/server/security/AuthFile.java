package io.latticekv.server.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The users of a node (the {@code --auth-file}): one per line, {@code NAME ROLE HASH}, where HASH is
 * a {@link PasswordHash} or the word {@code cert} for a user who logs in only with a client
 * certificate naming them. Blank lines and lines starting with {@code #} are ignored. Any user may
 * also log in with a client certificate signed by the cluster's CA whose common name is their name.
 *
 * <pre>
 * # LatticeKV users: NAME ROLE (read | write | admin) HASH (pbkdf2-sha256$... or cert)
 * alice admin pbkdf2-sha256$600000$3q2+7w==$...
 * reports read pbkdf2-sha256$600000$...$...
 * backup admin cert
 * </pre>
 *
 * <p>Immutable once loaded; a node reloads the file into a new instance when it changes.
 */
public final class AuthFile {

  /** A user: their role, and their password hash, or null when they log in by certificate only. */
  public record User(String name, Role role, PasswordHash hash) {}

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
  /** Users in one file, at most: a node keeps them all in memory. */
  static final int USERS_MAX = 10_000;

  private final Map<String, User> users;

  private AuthFile(Map<String, User> users) {
    this.users = Collections.unmodifiableMap(users);
  }

  public static AuthFile empty() {
    return new AuthFile(new TreeMap<>());
  }

  /**
   * Reads {@code file}.
   *
   * @throws IllegalArgumentException naming the line that does not parse
   */
  public static AuthFile load(Path file) throws IOException {
    Map<String, User> users = new TreeMap<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] w = line.split("\\s+");
      String where = file + " line " + (n + 1);
      if (w.length != 3) {
        throw new IllegalArgumentException(where + ": expected NAME ROLE HASH, got " + w.length + " fields");
      }
      checkName(w[0], where);
      Role role;
      PasswordHash hash;
      try {
        role = Role.parse(w[1]);
        hash = w[2].equals("cert") ? null : PasswordHash.parse(w[2]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
      if (users.put(w[0], new User(w[0], role, hash)) != null) {
        throw new IllegalArgumentException(where + ": user '" + w[0] + "' is listed twice");
      }
      if (users.size() > USERS_MAX) {
        throw new IllegalArgumentException(file + " lists more than " + USERS_MAX + " users");
      }
    }
    return new AuthFile(users);
  }

  /** Whether {@code name} is a valid user name (checked before it goes into a log line or an answer). */
  static boolean isName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  static void checkName(String name, String where) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(where + ": a user name is 1 to 64 letters, digits or ._@-, not '" + name + "'");
    }
  }

  public User user(String name) {
    return users.get(name);
  }

  public int size() {
    return users.size();
  }

  /** This file with {@code user} added or replaced. */
  public AuthFile with(User user) {
    checkName(user.name(), "user");
    Map<String, User> next = new TreeMap<>(users);
    next.put(user.name(), user);
    return new AuthFile(next);
  }

  /**
   * Writes the file atomically (a temporary file renamed over it), readable by its owner only:
   * the hashes are slow to attack, not impossible.
   */
  public void save(Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add("# LatticeKV users: NAME ROLE (read | write | admin) HASH (pbkdf2-sha256$... or cert)");
    for (User u : users.values()) {
      lines.add(u.name() + " " + u.role().label() + " " + (u.hash() == null ? "cert" : u.hash().toString()));
    }
    AtomicFile.write(file, StandardCharsets.UTF_8, true, out -> {
      for (String line : lines) {
        out.write(line);
        out.write('\n');
      }
    });
  }
}
