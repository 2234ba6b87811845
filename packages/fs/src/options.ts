import {
  DEFAULT_MAX_RECORD_BYTES,
  describeValue,
  FRAME_HEADER_SIZE,
  MARK_RECORD_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEGMENT_BYTES_LIMIT,
  MIN_BATCH_BYTES,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import {
  integer,
  invalidOptions,
  oneOf,
  option,
  parseOptions as parseTable,
  pathString,
  problem,
  type ResolvedOptions as Resolved,
  required,
} from '@wal/codec/internal';
import { nodeFs } from './node-fs.js';
import { isWalFs, WAL_FS_METHODS, type WalFs } from './wal-fs.js';

/** When appended records are made durable. */
export type SyncMode = 'always' | 'interval' | 'none';

/** Smallest segment that holds a header, the smallest batch frame, two marks and a seal. */
export const MIN_SEGMENT_BYTES =
  SEGMENT_HEADER_SIZE +
  FRAME_HEADER_SIZE +
  MIN_BATCH_BYTES +
  2 * (FRAME_HEADER_SIZE + MARK_RECORD_SIZE) +
  SEAL_FRAME_SIZE;

const table = {
  dir: required(pathString),
  sync: option(oneOf(['always', 'interval', 'none']), 'always'),
  syncIntervalMs: option(integer(1, 3_600_000), 100),
  maxSegmentBytes: option(integer(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES_LIMIT), 64 * 1024 * 1024),
  maxRecordBytes: option(
    integer(MIN_BATCH_BYTES, MAX_RECORD_BYTES_LIMIT),
    DEFAULT_MAX_RECORD_BYTES,
  ),
  maxSegments: option(integer(1)),
  preallocateBytes: option(integer(0, MAX_SEGMENT_BYTES_LIMIT), 1024 * 1024),
  fs: option(
    { expected: `a WalFs with methods ${WAL_FS_METHODS.join(', ')}`, test: isWalFs },
    nodeFs,
  ),
};

/** Options for {@link Wal.open}. Only `dir` is required. */
export interface WalOptions {
  /** The log's directory. Created if missing. */
  dir: string;
  /**
   * `'always'` (default): a resolved append is durable. Its group was
   *   written on a handle opened `O_DSYNC` (`WalFs` flag `'r+dsync'`), whose
   *   write returns once its bytes are on stable storage: one call, where a
   *   write and an fdatasync are two. A write that fails there may have
   *   failed in its sync, so it fails the writer as a failed fdatasync
   *   does, whatever its code (ENOSPC too); its bytes are cut first.
   * `'interval'`: synced within `syncIntervalMs`, and on rotate and close.
   * `'none'`: synced only by `sync()`, rotate and close.
   * In every mode a resolved append has reached the operating system.
   */
  sync?: SyncMode | undefined;
  /** How often `'interval'` syncs, in ms. Default 100. */
  syncIntervalMs?: number | undefined;
  /**
   * Rotate once the active segment would exceed this many bytes (its seal
   * included). Default 64 MiB, at most 2 GiB. A record larger than this gets
   * a segment of its own.
   */
  maxSegmentBytes?: number | undefined;
  /** Largest record (one put, delete or batch, encoded). Default 16 MiB. */
  maxRecordBytes?: number | undefined;
  /**
   * Count-based retention (as the Rust WAL @wal replaces had it): after each
   * rotation, delete the oldest sealed segments beyond this count. LOSSY: it
   * deletes data that may not be flushed anywhere else. Prefer
   * `truncateThrough`. A deletion that fails leaves the rotation done,
   * rejects the `rotate()` that asked for it and shows in
   * `Wal.retentionError` (a rotation for a full segment rejects no append);
   * the next rotation tries again. Default: unlimited.
   */
  maxSegments?: number | undefined;
  /**
   * Zeros written ahead of the frames in the active segment, this many bytes
   * at a time (never past `maxSegmentBytes`). An fdatasync of bytes written
   * over them has no file size to journal, which makes it cheaper on most
   * file systems. Readers take zeros after the last frame of the last
   * segment as free space; a seal cuts them off. Default 1 MiB; 0 turns it
   * off (each sync then also journals the new size).
   */
  preallocateBytes?: number | undefined;
  /**
   * File-system implementation. Default: `node:fs`, every sync, read and
   * large write on libuv's thread pool.
   */
  fs?: WalFs | undefined;
}

/** {@link WalOptions} after validation, with every default filled in. */
export type ResolvedOptions = Resolved<typeof table>;

/** Validates options before any I/O; throws `WAL_INVALID_OPTIONS`. A string is `{ dir }`. */
export function parseOptions(input: unknown): ResolvedOptions {
  return parseTable('Wal', table, typeof input === 'string' ? { dir: input } : input);
}

/** The error for `Wal.open` called with more than its one argument. */
export function extraArguments(count: number) {
  return invalidOptions('Wal', [
    problem(
      'arguments',
      'one (a directory, or an options object such as { dir, sync })',
      `${count}: the options after the directory would be ignored`,
    ),
  ]);
}

/**
 * What is wrong with an optional options argument's shape, given the keys
 * left once the known ones are taken out: not an object, or unknown keys.
 * Undefined when nothing is.
 */
export function optionsShapeProblem(options: unknown, rest: object): string | undefined {
  if (typeof options !== 'object' && options !== undefined) {
    return `options: expected an object, found ${describeValue(options)}`;
  }
  const unknown = Object.keys(rest);
  return unknown.length > 0 ? `options: unknown keys ${unknown.join(', ')}` : undefined;
}
