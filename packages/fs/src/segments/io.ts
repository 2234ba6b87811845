import { ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '../wal-fs.js';

/** Wraps an error from the file system as `WAL_IO_ERROR`, keeping it as `cause`. */
export function ioError(action: string, file: string, cause: unknown): WalError {
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  // Node's messages already start with the code ("EACCES: permission denied, ...").
  const found =
    typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
  return new WalError(ErrorCode.IO_ERROR, `expected to ${action} ${file}, found ${found}`, {
    cause,
  });
}

/**
 * Runs a file-system call. Any error it throws becomes `WAL_IO_ERROR` with
 * the thrown error as `cause` (a @wal error passes through): an unreadable file
 * is never mistaken for damage, so it is never "repaired" (RocksDB #6288).
 */
export async function io<T>(action: string, file: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (WalError.isInstance(error)) throw error;
    throw ioError(action, file, error);
  }
}

/** The errno code of a file-system error, if it has one. */
export function errnoOf(error: unknown): string | undefined {
  const cause = WalError.isInstance(error) ? error.cause : error;
  const code = (cause as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(
  fs: WalFs,
  fd: number,
  bytes: Uint8Array,
  position: number,
  file: string,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const n = await io('write', file, () => fs.write(fd, bytes.subarray(done), position + done));
    if (n <= 0) throw ioError('write', file, noProgress());
    done += n;
  }
}

/**
 * Reads `length` bytes at `position` into a new buffer (fewer only at end of
 * file). A new buffer each time: decoded keys and values are views into it.
 */
export async function readAt(
  fs: WalFs,
  fd: number,
  position: number,
  length: number,
  file: string,
): Promise<Uint8Array> {
  // Not zero-filled first (the read fills it; a quarter of a scan's time on
  // large values went to clearing and faulting in fresh buffers), but never
  // handed out with bytes the read did not write: the buffer behind a view is
  // reachable through `.buffer`.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
  let done = 0;
  try {
    while (done < length) {
      const n = await io('read', file, () =>
        fs.read(fd, out, done, length - done, position + done),
      );
      if (n === 0) break;
      done += n;
    }
  } finally {
    if (done < length) out.fill(0, done);
  }
  return done === length ? out : out.subarray(0, done);
}

/** Closes a handle, ignoring errors (used on paths that already failed). */
export async function closeQuietly(fs: WalFs, fd: number): Promise<void> {
  try {
    await fs.close(fd);
  } catch {
    // Nothing useful to do: the original error is what the caller reports.
  }
}

/** The error a write that made no progress stands for. */
export function noProgress(): Error {
  return Object.assign(new Error('write made no progress'), { code: 'EIO' });
}
