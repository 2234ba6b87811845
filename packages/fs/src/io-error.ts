import { ErrorCode, WalError } from '@wal/codec';

/** Wraps an error from the file system as `WAL_IO_ERROR`, keeping it as `cause`. */
export function ioError(action: string, path: string, cause: unknown): WalError {
  const code = (cause as { code?: unknown })?.code;
  const found = cause instanceof Error ? cause.message : String(cause);
  return new WalError(
    ErrorCode.IO_ERROR,
    `expected to ${action} ${path}, found ${typeof code === 'string' ? `${code}: ` : ''}${found}`,
    { cause },
  );
}

/** Runs a file-system call, turning any error into `WAL_IO_ERROR`. */
export function io<T>(action: string, path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw ioError(action, path, error);
  }
}
