package io.latticekv.server.cli;

import io.latticekv.server.security.AuthFile;
import io.latticekv.server.security.PasswordHash;
import io.latticekv.server.security.Role;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lattice user add NAME --role ROLE --auth-file FILE}: adds or replaces a user in a node's
 * auth file, with a salted PBKDF2 hash of a password read from the terminal (asked twice) or from
 * standard input, never from the command line, where other users of the machine could see it. A
 * running node rereads the file within seconds.
 */
@Command(name = "user", description = "Manage the users of an auth file (--auth-file of lattice server).",
    subcommands = {UserCommand.Add.class})
final class UserCommand implements Runnable {

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is needed: add");
  }

  @Command(name = "add", description = "Add a user, or replace one (new role, new password). The password is "
      + "read from the terminal, or from standard input when it is not a terminal.")
  static final class Add implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "NAME", description = "The user's name: 1 to 64 letters, digits or ._@-.")
    String name;

    @Option(names = "--role", required = true, paramLabel = "read|write|admin",
        description = "read: reads; write: reads and writes; admin: also status details, whole-state merges, "
            + "fault injection.")
    String role;

    @Option(names = "--auth-file", required = true, paramLabel = "FILE", description = "The file; created if missing.")
    Path authFile;

    @Option(names = "--cert-only",
        description = "The user logs in only with a client certificate naming them: no password is asked.")
    boolean certOnly;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Role parsed = Role.parse(role);
      AuthFile file = Files.exists(authFile) ? AuthFile.load(authFile) : AuthFile.empty();
      PasswordHash hash = null;
      if (!certOnly) {
        char[] password = readPassword();
        try {
          hash = PasswordHash.of(password, new SecureRandom());
        } finally {
          PasswordHash.wipe(password);
        }
      }
      boolean existed = file.user(name) != null;
      file.with(new AuthFile.User(name, parsed, hash)).save(authFile);
      spec.commandLine().getOut().println((existed ? "replaced" : "added") + " user " + name + " (" + parsed.label()
          + (certOnly ? ", client certificate only" : "") + ") in " + authFile);
      return ExitCode.OK;
    }

    private char[] readPassword() throws IOException {
      Console console = System.console();
      if (console != null) {
        char[] first = console.readPassword("password for %s: ", name);
        char[] again = console.readPassword("the same again: ");
        if (first == null || again == null || !Arrays.equals(first, again)) {
          PasswordHash.wipe(first == null ? new char[0] : first);
          PasswordHash.wipe(again == null ? new char[0] : again);
          throw new IllegalArgumentException("the two passwords differ");
        }
        PasswordHash.wipe(again);
        return checked(first);
      }
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line = in.readLine();
      if (line == null) {
        throw new IllegalArgumentException("no password on standard input");
      }
      return checked(line.toCharArray());
    }

    private static char[] checked(char[] password) {
      if (password.length < 8) {
        PasswordHash.wipe(password);
        throw new IllegalArgumentException("a password needs at least 8 characters");
      }
      return password;
    }
  }
}
