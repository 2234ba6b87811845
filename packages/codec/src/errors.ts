/** Stable error codes. They never change once released. */
export const ErrorCode = {
  CORRUPTION: 'WAL_CORRUPTION',
  RECORD_TOO_LARGE: 'WAL_RECORD_TOO_LARGE',
  INVALID_ARGUMENT: 'WAL_INVALID_ARGUMENT',
  INVALID_OPTIONS: 'WAL_INVALID_OPTIONS',
  IO_ERROR: 'WAL_IO_ERROR',
  LOCKED: 'WAL_LOCKED',
  CLOSED: 'WAL_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Short, stable reasons a region of a log could not be decoded. */
export type DamageReason =
  | 'truncated'
  | 'checksum-mismatch'
  | 'bad-length'
  | 'unknown-type'
  | 'zero-fill'
  | 'bad-header'
  | 'bad-sequence';

// A registered symbol, so `isInstance` works across duplicate copies of this package.
const brand = Symbol.for('@wal/codec.WalError');

/** Options accepted by every {@link WalError}. */
export interface WalErrorOptions {
  cause?: unknown;
}

/**
 * The base of every error @wal throws. `code` is stable; `message` says what
 * was expected and what was found; `cause` holds the underlying error, if any.
 */
export class WalError extends Error {
  /** Stable: match on this, never on `message`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: WalErrorOptions) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  override get name(): string {
    return 'WalError';
  }

  /**
   * True for any @wal error, also one thrown by another copy of the package.
   * With `code`, only for errors with that code.
   */
  static isInstance(value: unknown, code?: ErrorCode): value is WalError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true &&
      (code === undefined || (value as WalError).code === code)
    );
  }
}

/** Where damage was found, and why. */
export interface CorruptionDetails {
  /** The segment file, when known. */
  file?: string;
  /** Byte offset of the damage within the file. */
  offset: number;
  /** How many bytes the damage covers (to the next valid frame or end of file). */
  bytes: number;
  reason: DamageReason;
}

/** `WAL_CORRUPTION`: the bytes on disk are not a valid log at this point. */
export class CorruptionError extends WalError {
  /** The segment file, when known. */
  readonly file: string | undefined;
  /** Byte offset of the damage within the file. */
  readonly offset: number;
  /** How many bytes the damage covers. */
  readonly bytes: number;
  /** Why the bytes are not a valid log, e.g. `checksum-mismatch`. */
  readonly reason: DamageReason;

  constructor(message: string, details: CorruptionDetails, options?: WalErrorOptions) {
    super(ErrorCode.CORRUPTION, message, options);
    this.file = details.file;
    this.offset = details.offset;
    this.bytes = details.bytes;
    this.reason = details.reason;
  }

  override get name(): string {
    return 'CorruptionError';
  }
}

/** Describes a value for an error message: its type, and its size where that helps. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value;
}
