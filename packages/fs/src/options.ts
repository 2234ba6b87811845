import {
  DEFAULT_MAX_RECORD_BYTES,
  ErrorCode,
  FRAME_HEADER_SIZE,
  MARK_RECORD_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEGMENT_BYTES_LIMIT,
  MIN_BATCH_BYTES,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  WalError,
} from '@wal/codec';
import { z } from 'zod';
import { nodeFs } from './node-fs.js';
import { isWalFs, WAL_FS_METHODS, type WalFs } from './wal-fs.js';

/** When appended records are made durable. */
export type SyncMode = 'always' | 'interval' | 'none';

const walFs = z.custom<WalFs>(isWalFs, {
  message: `expected a WalFs with methods ${WAL_FS_METHODS.join(', ')}`,
});

/** Smallest segment that holds a header, the smallest batch frame, two marks and a seal. */
export const MIN_SEGMENT_BYTES =
  SEGMENT_HEADER_SIZE +
  FRAME_HEADER_SIZE +
  MIN_BATCH_BYTES +
  2 * (FRAME_HEADER_SIZE + MARK_RECORD_SIZE) +
  SEAL_FRAME_SIZE;

const schema = z.strictObject({
  dir: z.string().min(1),
  sync: z.enum(['always', 'interval', 'none']).default('always'),
  syncIntervalMs: z.int().min(1).max(3_600_000).default(100),
  maxSegmentBytes: z
    .int()
    .min(MIN_SEGMENT_BYTES)
    .max(MAX_SEGMENT_BYTES_LIMIT)
    .default(64 * 1024 * 1024),
  maxRecordBytes: z
    .int()
    .min(MIN_BATCH_BYTES)
    .max(MAX_RECORD_BYTES_LIMIT)
    .default(DEFAULT_MAX_RECORD_BYTES),
  maxSegments: z.int().min(1).optional(),
  preallocateBytes: z
    .int()
    .min(0)
    .max(MAX_SEGMENT_BYTES_LIMIT)
    .default(1024 * 1024),
  fs: walFs.default(nodeFs),
});

/** Options for {@link Wal.open}. Only `dir` is required. */
export interface WalOptions {
  /** The log's directory. Created if missing. */
  dir: string;
  /**
   * `'always'` (default): a resolved append has been fdatasync'ed.
   * `'interval'`: synced within `syncIntervalMs`, and on rotate and close.
   * `'none'`: synced only by `sync()`, rotate and close.
   * In every mode a resolved append has reached the operating system.
   */
  sync?: SyncMode;
  /** How often `'interval'` syncs, in ms. Default 100. */
  syncIntervalMs?: number;
  /**
   * Rotate once the active segment would exceed this many bytes (its seal
   * included). Default 64 MiB, at most 2 GiB. A record larger than this gets
   * a segment of its own.
   */
  maxSegmentBytes?: number;
  /** Largest record (one put, delete or batch, encoded). Default 16 MiB. */
  maxRecordBytes?: number;
  /**
   * Count-based retention (as the Rust WAL @wal replaces had it): after each
   * rotation, delete the oldest sealed segments beyond this count. LOSSY: it
   * deletes data that may not be flushed anywhere else. Prefer
   * `truncateThrough`. Default: unlimited.
   */
  maxSegments?: number;
  /**
   * Zeros written ahead of the frames in the active segment, this many bytes
   * at a time (never past `maxSegmentBytes`). An fdatasync of bytes written
   * over them has no file size to journal, which makes it cheaper on most
   * file systems. Readers take zeros after the last frame of the last
   * segment as free space; a seal cuts them off. Default 1 MiB; 0 turns it
   * off (each sync then also journals the new size).
   */
  preallocateBytes?: number;
  /**
   * File-system implementation. Default: `node:fs`, every sync, read and
   * large write on libuv's thread pool.
   */
  fs?: WalFs;
}

/** {@link WalOptions} after validation, with every default filled in. */
export type ResolvedOptions = z.output<typeof schema>;

/** Validates options before any I/O; throws `WAL_INVALID_OPTIONS` with the zod error as cause. */
export function parseOptions(input: unknown): ResolvedOptions {
  const result = schema.safeParse(typeof input === 'string' ? { dir: input } : input);
  if (result.success) return result.data;
  const found = result.error.issues
    .map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`)
    .join('; ');
  throw new WalError(ErrorCode.INVALID_OPTIONS, `expected valid Wal options, found ${found}`, {
    cause: result.error,
  });
}
