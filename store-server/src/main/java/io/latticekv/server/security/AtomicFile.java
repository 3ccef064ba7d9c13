package io.latticekv.server.security;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.Charset;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes a file the way a node watching it needs: to a temporary file beside it, then renamed over
 * it, so a reader sees the old file or the new one, never half of one. A secret (a key, the users)
 * is created readable by its owner only, not made so after its bytes are on disk.
 */
final class AtomicFile {

  /** What goes into the file. */
  interface Content {
    void writeTo(Writer out) throws IOException;
  }

  private AtomicFile() {}

  static void write(Path file, Charset charset, boolean secret, Content content) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp;
    try {
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp", PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
    } catch (UnsupportedOperationException notPosix) {
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp"); // permissions are the operator's there
    }
    try {
      try (Writer out = Files.newBufferedWriter(tmp, charset)) {
        content.writeTo(out);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
