package io.latticekv.server.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What tells a watched file's versions apart: its modification time, size and file key (the inode
 * on Linux). The key catches a rewrite of the same size within the file system's time granularity,
 * since our writers rename a new file over the old one ({@link AtomicFile}). Equal stamps: the
 * same version, as far as can be told without reading it.
 */
record FileStamp(long modifiedMillis, long size, Object fileKey) {

  static FileStamp of(Path file) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
    return new FileStamp(a.lastModifiedTime().toMillis(), a.size(), a.fileKey());
  }
}
