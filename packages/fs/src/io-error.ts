import { ErrorCode, WalError } from '@wal/codec';

/** Wraps an error from the file system as `WAL_IO_ERROR`, keeping it as `cause`. */
export function ioError(action: string, path: string, cause: unknown): WalError {
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  // Node's messages already start with the code ("EACCES: permission denied, ...").
  const found =
    typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
  return new WalError(ErrorCode.IO_ERROR, `expected to ${action} ${path}, found ${found}`, {
    cause,
  });
}

/**
 * Runs a file-system call. Any error it throws becomes `WAL_IO_ERROR` with
 * the original as `cause` (a @wal error passes through): an unreadable file
 * is never mistaken for damage, so it is never "repaired" (RocksDB #6288).
 */
export function io<T>(action: string, path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (WalError.isInstance(error)) throw error;
    throw ioError(action, path, error);
  }
}
