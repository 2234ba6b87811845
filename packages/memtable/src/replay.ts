import { describeValue, ErrorCode, WalError } from '@wal/codec';
import { type RecoveryStats, type ScanOptions, scanLog } from '@wal/recovery';
import { absorb, Memtable } from './memtable.js';

/** Options of {@link replay}: those of `scanLog` (mode, fs, maxRecordBytes) but `fromSequence`. */
export type ReplayOptions = Omit<ScanOptions, 'fromSequence'>;

/** What {@link replay} did. */
export interface ReplayResult {
  /** The sequence a writer would use next: the log's, as recovery found it. */
  nextSequence: number;
  /** Entries applied to the table. */
  applied: number;
  /** Entries at or below the table's `lastSequence` before replay, so already in it. */
  skipped: number;
  stats: RecoveryStats;
}

/**
 * Replays the log in `dir` into `table`: puts and deletes in sequence order,
 * batches whole (recovery yields them whole). Entries at or below
 * `table.lastSequence` are skipped, so replaying twice, or over a table
 * restored from a checkpoint, is idempotent.
 *
 * Streams the scan; the log is never held in an array. Atomic: entries are
 * applied to a staging table, which `table` absorbs only once the scan has
 * ended, so an error from recovery (`WAL_CORRUPTION` in strict mode,
 * `WAL_IO_ERROR`) passes through with `table` exactly as it was.
 */
export async function replay(
  dir: string,
  table: Memtable,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  if (!(table instanceof Memtable)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected table to be a Memtable, found ${describeValue(table)}`,
    );
  }
  if (typeof options === 'object' && options !== null && 'fromSequence' in options) {
    // The table's lastSequence says where replay starts; a second say would conflict.
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      'expected replay options without fromSequence (replay starts after table.lastSequence), found fromSequence',
    );
  }
  const staging = new Memtable({
    maxSizeBytes: table.maxSizeBytes,
    lastSequence: table.lastSequence,
  });
  const scan = scanLog(dir, options);
  let applied = 0;
  let skipped = 0;
  for await (const entry of scan) {
    if (staging.apply(entry)) applied++;
    else skipped++;
  }
  table[absorb](staging);
  return { nextSequence: scan.stats.nextSequence, applied, skipped, stats: scan.stats };
}
