/**
 * Every file operation @wal performs goes through this interface, so a test
 * (or a user) can plug in a fault-injecting or crash-simulating file system.
 *
 * It is asynchronous: the default implementation runs every fsync,
 * fdatasync, read, large write and write on an `'r+dsync'` handle on
 * libuv's thread pool (the fs callback API), so none blocks the event loop;
 * a small write elsewhere is a page-cache copy, made at once.
 *
 * Methods reject with errors that carry a Node-style `code` (`ENOENT`,
 * `EIO`, `ENOSPC`, ...). File handles are plain numbers.
 */
export interface WalFs {
  /**
   * Opens a file: `'r'` to read, `'r+'` to read and write, `'wx+'` to create
   * it for reading and writing (EEXIST if it exists). `'r+dsync'` is `'r+'`
   * whose every write returns only once its bytes (and the size they reach)
   * are durable, as after an fdatasync: `O_DSYNC`, one call where a write
   * and an fdatasync are two. A failed write on such a handle may have
   * failed in its sync: its bytes may be in the page cache, not on disk.
   */
  open(file: string, flags: 'r' | 'r+' | 'wx+' | 'r+dsync'): Promise<number>;
  /** Closes a handle from {@link WalFs.open}. */
  close(fd: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; resolves to bytes read. */
  read(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number>;
  /**
   * Writes `buffer` at `position`; resolves to bytes written (may be short).
   * On a `'r+dsync'` handle those bytes are durable when it resolves.
   */
  write(fd: number, buffer: Uint8Array, position: number): Promise<number>;
  /** Makes the file's data (and the metadata needed to read it) durable. */
  fdatasync(fd: number): Promise<void>;
  /** Makes a directory's entries (created, renamed, deleted files) durable. */
  fsyncDir(dir: string): Promise<void>;
  /** Cuts (or extends with zeros) an open file to `length` bytes. */
  ftruncate(fd: number, length: number): Promise<void>;
  /** Size of an open file. */
  fsize(fd: number): Promise<number>;
  /** What is at `file`; rejects with ENOENT if nothing. */
  stat(file: string): Promise<{ size: number; isFile: boolean; isDirectory: boolean }>;
  /** Renames a file atomically, replacing `to` if it exists (rename(2)). */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. */
  unlink(file: string): Promise<void>;
  /** Names in a directory (not paths), in no particular order. */
  readdir(dir: string): Promise<string[]>;
  /** Creates a directory and any missing parents; no error if it exists. */
  mkdirp(dir: string): Promise<void>;
  /**
   * Takes the exclusive writer lock on directory `dir`, or rejects with an
   * error whose code is `ELOCKED`, naming the holder. A lock held by a
   * process that has died must not block. Resolves to the function that
   * releases it.
   */
  lock(dir: string): Promise<() => Promise<void>>;
}

/** Every method a {@link WalFs} has. */
export const WAL_FS_METHODS = [
  'open',
  'close',
  'read',
  'write',
  'fdatasync',
  'fsyncDir',
  'ftruncate',
  'fsize',
  'stat',
  'rename',
  'unlink',
  'readdir',
  'mkdirp',
  'lock',
] as const satisfies readonly (keyof WalFs)[];

/** True when `value` has every method of a {@link WalFs} (for option validation). */
export function isWalFs(value: unknown): value is WalFs {
  return (
    typeof value === 'object' &&
    value !== null &&
    WAL_FS_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}
