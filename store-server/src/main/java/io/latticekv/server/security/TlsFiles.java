package io.latticekv.server.security;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a node's TLS material lives, as PEM files: its certificate (chain), its private key
 * (PKCS#8, unencrypted), and the cluster's CA certificate that every peer's and client
 * certificate must chain to.
 */
public record TlsFiles(Path cert, Path key, Path ca) {

  public TlsFiles {
    for (Path p : new Path[] {cert, key, ca}) {
      if (p == null) {
        throw new IllegalArgumentException("TLS needs all of --tls-cert, --tls-key and --tls-ca");
      }
      if (!Files.isReadable(p)) {
        throw new IllegalArgumentException("TLS file " + p + " does not exist or cannot be read");
      }
    }
  }
}
