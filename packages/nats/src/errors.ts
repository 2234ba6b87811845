import { describeValue, ErrorCode, WalError } from '@wal/codec';

/** `WAL_FENCED`: the stream's history is not this log's. */
export function fenced(stream: string, found: string, cause?: unknown): WalError {
  return new WalError(
    ErrorCode.FENCED,
    `expected stream ${stream} to continue this log's history, found ${found}: another writer got there first; stop writing here`,
    { cause },
  );
}

/** `WAL_REMOTE_ERROR` for a NATS request that failed for good. */
export function remoteError(what: string, cause: unknown): WalError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new WalError(ErrorCode.REMOTE_ERROR, `expected ${what} to succeed, found ${message}`, {
    cause,
  });
}

/** `WAL_REMOTE_ERROR` for a stream that no longer holds records it acknowledged. */
export function streamLost(stream: string, expected: string, found: string): WalError {
  return new WalError(
    ErrorCode.REMOTE_ERROR,
    `expected stream ${stream} to hold ${expected}, found ${found}: the stream lost acknowledged records (see the README on server durability)`,
  );
}

/** `WAL_INVALID_OPTIONS` for the option `name`. */
export function invalidOption(name: string, expected: string, found: unknown): WalError {
  return new WalError(
    ErrorCode.INVALID_OPTIONS,
    `expected ${name} to be ${expected}, found ${describeValue(found)}`,
  );
}
