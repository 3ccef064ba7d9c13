package io.latticekv.core.storage;

/** A failure of the storage engine itself: I/O, RocksDB, a damaged or foreign directory. */
public class StorageException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
