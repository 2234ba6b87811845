import { ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';

/**
 * Runs a file-system call. Any error it throws becomes `WAL_IO_ERROR` with
 * the original as `cause`: an unreadable file is never mistaken for damage,
 * so it is never counted as corruption and never "repaired" (RocksDB #6288).
 */
export function io<T>(action: string, path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (WalError.isInstance(error)) throw error;
    throw ioError(action, path, error);
  }
}

export function ioError(action: string, path: string, cause: unknown): WalError {
  const code = (cause as { code?: unknown })?.code;
  const found = cause instanceof Error ? cause.message : String(cause);
  return new WalError(
    ErrorCode.IO_ERROR,
    `expected to ${action} ${path}, found ${typeof code === 'string' ? `${code}: ` : ''}${found}`,
    { cause },
  );
}

/**
 * Reads up to `length` bytes at `position` into a new buffer (fewer only at
 * end of file). A new buffer each time: decoded keys and values are views
 * into it, so it must never be reused.
 */
export function readAt(
  fs: WalFs,
  fd: number,
  file: string,
  position: number,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = io('read', file, () => fs.read(fd, out, done, length - done, position + done));
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export function writeFully(
  fs: WalFs,
  fd: number,
  file: string,
  bytes: Uint8Array,
  position: number,
): void {
  for (let done = 0; done < bytes.length; ) {
    const n = io('write', file, () => fs.write(fd, bytes.subarray(done), position + done));
    if (n <= 0)
      throw ioError('write', file, Object.assign(new Error('no progress'), { code: 'EIO' }));
    done += n;
  }
}

/** Closes a handle on a path that is already failing or finished; errors are not interesting. */
export function closeQuietly(fs: WalFs, fd: number): void {
  try {
    fs.close(fd);
  } catch {
    // The caller's own outcome is what gets reported.
  }
}

/**
 * `true` when `dir` is a directory, `false` when nothing is there (an empty
 * log). A file, or a path through a file, is `WAL_INVALID_ARGUMENT`.
 */
export function isDirectory(fs: WalFs, dir: string): boolean {
  let stat: ReturnType<WalFs['stat']>;
  try {
    stat = fs.stat(dir);
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') throw notADirectory(dir, 'a path through a file');
    throw ioError('stat', dir, error);
  }
  if (!stat.isDirectory) throw notADirectory(dir, stat.isFile ? 'a file' : 'something else');
  return true;
}

function notADirectory(dir: string, found: string): WalError {
  return new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${dir} to be a log directory, found ${found}`,
  );
}
