import { types } from 'node:util';
import { byteLengthOf, isPlainBytes } from './views.js';

/** Stable error codes. They never change once released. */
export const ErrorCode = {
  /** The bytes on disk are not a valid log at some point ({@link CorruptionError}). */
  CORRUPTION: 'WAL_CORRUPTION',
  /** A record is larger than `maxRecordBytes`. */
  RECORD_TOO_LARGE: 'WAL_RECORD_TOO_LARGE',
  /** A call's argument is not what it accepts. */
  INVALID_ARGUMENT: 'WAL_INVALID_ARGUMENT',
  /** An options object is not what the call accepts; nothing was done. */
  INVALID_OPTIONS: 'WAL_INVALID_OPTIONS',
  /** A file-system call failed; `cause` holds it. The log is as it was, or as the message says. */
  IO_ERROR: 'WAL_IO_ERROR',
  /** Another writer holds the log's lock. */
  LOCKED: 'WAL_LOCKED',
  /** The writer is closing or closed. */
  CLOSED: 'WAL_CLOSED',
  /** The writer failed (a sync failed, or a failed write could not be undone): reopen the log. */
  FAILED: 'WAL_FAILED',
  /** The log directory (or file) does not exist. */
  NOT_FOUND: 'WAL_NOT_FOUND',
  /** The next sequence would pass `MAX_SEQUENCE`. */
  SEQUENCE_EXHAUSTED: 'WAL_SEQUENCE_EXHAUSTED',
  /** A reader asked for sequences that retention already deleted. */
  TRUNCATED: 'WAL_TRUNCATED',
  /** The log's sequences end at or below a checkpoint that claims later ones. */
  SEQUENCE_REWOUND: 'WAL_SEQUENCE_REWOUND',
  /** An archive already holds this segment with other bytes (another checksum). */
  ARCHIVE_CONFLICT: 'WAL_ARCHIVE_CONFLICT',
  /** An archive lacks a segment (or sequences) that shipping or a restore needs. */
  ARCHIVE_GAP: 'WAL_ARCHIVE_GAP',
  /** An archived segment's bytes are not what the archive lists (checksum, length, header, seal, frames). */
  ARCHIVE_CORRUPT: 'WAL_ARCHIVE_CORRUPT',
  /** A segment hold passed its byte bound and was dropped: retention may delete what it kept. */
  HOLD_EXCEEDED: 'WAL_HOLD_EXCEEDED',
  /** Another writer got to a replication stream first: its history is not this log's. */
  FENCED: 'WAL_FENCED',
  /** A replication or archive service refused or failed a request; `cause` holds its error. */
  REMOTE_ERROR: 'WAL_REMOTE_ERROR',
  /** Something else changed a table while a call filling it ran (replay); that call applied nothing. */
  CONCURRENT_CHANGE: 'WAL_CONCURRENT_CHANGE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Short, stable reasons a region of a log is damaged:
 * - `truncated`: a frame cut short by the end of the file;
 * - `checksum-mismatch`: a frame's CRC does not hold;
 * - `bad-length`: a length field out of range, or ops that do not fill their record;
 * - `unknown-type`: a record or op type this version does not know;
 * - `zero-fill`: zero bytes where a frame should be;
 * - `bad-header`: a segment header that is missing, invalid, from another log, or not the file's;
 * - `bad-sequence`: an intact frame or segment whose sequences do not continue the log;
 * - `bad-seal`: a segment that should be sealed and is not, or whose seal disagrees with it;
 * - `missing-segment`: segment numbers skip.
 */
export type DamageReason =
  | 'truncated'
  | 'checksum-mismatch'
  | 'bad-length'
  | 'unknown-type'
  | 'zero-fill'
  | 'bad-header'
  | 'bad-sequence'
  | 'bad-seal'
  | 'missing-segment';

/** A damaged region of a log: the one shape every package reports damage in. */
export interface Damage {
  /** Path of the segment file. */
  file: string;
  /** Segment number (from the file name). */
  segment: number;
  /** Offset of the first damaged byte in the file. */
  offset: number;
  /** Length of the region: to the next valid frame, or to the end of the file. */
  bytes: number;
  reason: DamageReason;
  /** What was expected and what was found. */
  detail: string;
}

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

/** `WAL_CORRUPTION`: the bytes on disk are not a valid log at this point. */
export class CorruptionError extends WalError {
  /** Where, and why. */
  readonly damage: Damage;

  constructor(message: string, damage: Damage, options?: WalErrorOptions) {
    super(ErrorCode.CORRUPTION, message, options);
    this.damage = damage;
  }

  /** The segment file. */
  get file(): string {
    return this.damage.file;
  }

  /** Byte offset of the damage within the file. */
  get offset(): number {
    return this.damage.offset;
  }

  /** Why the bytes are not a valid log, e.g. `checksum-mismatch`. */
  get reason(): DamageReason {
    return this.damage.reason;
  }

  override get name(): string {
    return 'CorruptionError';
  }
}

/**
 * Describes a value for an error message: its type, and its size or content
 * where that helps. A Proxy is named as one, without reading through it.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (types.isProxy(value)) return 'a Proxy';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (types.isUint8Array(value)) {
    const bytes = byteLengthOf(value);
    if (isPlainBytes(value)) return `a Uint8Array of ${bytes} bytes`;
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } }).constructor
      ?.name;
    return `a Uint8Array subclass (${name ?? 'anonymous'}) of ${bytes} bytes`;
  }
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') {
    return value.length <= 40
      ? `the string ${JSON.stringify(value)}`
      : `a string of length ${value.length}`;
  }
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value;
}
