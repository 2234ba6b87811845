import { describeValue, ErrorCode, WalError } from '@wal/codec';
import { invalidOptions, problem } from '@wal/codec/internal';
import { type RecoveryStats, type ScanOptions, scanLog } from '@wal/recovery';
import { checkIncidents, incidentsBefore } from './incidents.js';
import { absorb, applyScanned, changes, Memtable } from './memtable.js';

/**
 * Options of {@link replay}: those of `scanLog` (mode, fs, signal, ifMissing)
 * but the sequence bounds. `ifMissing: 'empty'` reads a missing log as an
 * empty one for a table without a checkpoint; under a checkpoint a missing
 * log is `WAL_SEQUENCE_REWOUND`.
 */
export type ReplayOptions = Omit<ScanOptions, 'fromSequence' | 'toSequence' | 'limit'>;

/** What {@link replay} did. */
export interface ReplayResult {
  /** The sequence after the last one read, as recovery found it (past damage, a floor: see `RecoveryStats.nextSequence`). */
  nextSequence: number;
  /** Entries applied to the table. */
  applied: number;
  stats: RecoveryStats;
}

/**
 * Replays the log in `dir` into `table`: puts and deletes in sequence
 * order, batches whole. Replay starts after `table.lastSequence` (a table
 * restored from a checkpoint), so replaying twice is idempotent, and sealed
 * segments wholly below it are not read. It sets `table.logId` to the
 * log's id and `table.incident` to its highest repair incident. A replayed
 * put or delete overwrites what the table holds under its key, also an
 * entry put into the table directly (the log is the truth: put into the
 * table only what you also wrote to the log).
 *
 * It refuses, applying nothing:
 * - `WAL_SEQUENCE_REWOUND` when the log ends at or below the checkpoint:
 *   its sequences went back, and entries written since would be skipped.
 *   Also when the log is missing (`ifMissing: 'empty'`) under a checkpoint:
 *   a writer would start it again at 0. A missing log is an empty one only
 *   for a table without a checkpoint (`lastSequence` null). And when the
 *   table's `logId` names another log than the one in `dir`: a writer
 *   started a new one there, which may already have passed the checkpoint
 *   (also for a table with a `logId` but no checkpoint). And when a repair
 *   from a floor made since the checkpoint (incident above
 *   `table.incident`, see `listIncidents`) continued the log at or below
 *   it, or its manifest is unreadable, or a hole read names an incident
 *   with no manifest: the writer may have issued those sequences again,
 *   and the log may run past the checkpoint;
 * - `WAL_TRUNCATED` when retention deleted entries after the checkpoint,
 *   which the table would silently miss;
 * - `WAL_CONCURRENT_CHANGE` when something else changed `table` while the
 *   log was read: the log's older entries would overwrite newer values.
 *
 * Options that are not an object, or that set a sequence bound, reject
 * with `WAL_INVALID_OPTIONS` before anything is read; the rest are checked
 * as `scanLog` checks them.
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
  // Checked here, not left to scanLog: spreading a non-object below would
  // turn it into no options at all.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOptions('replay', [problem('options', 'an object', describeValue(options))]);
  }
  for (const bound of ['fromSequence', 'toSequence', 'limit'] as const) {
    if (bound in options) {
      // The table's lastSequence says where replay starts; a second say would conflict.
      const expected = 'no bound (replay starts after table.lastSequence)';
      throw invalidOptions('replay', [
        problem(bound, expected, describeValue((options as Record<string, unknown>)[bound])),
      ]);
    }
  }
  const checkpoint = table.lastSequence;
  const unchanged = table[changes];
  const from = checkpoint === null ? 0 : checkpoint + 1;
  const staging = new Memtable({ maxSizeBytes: table.maxSizeBytes, lastSequence: checkpoint });
  const scan = scanLog(dir, { ...options, fromSequence: from });
  const listedBefore = await incidentsBefore(dir, options.fs);
  let applied = 0;
  for await (const batch of scan.batches()) {
    staging[applyScanned](batch);
    applied += batch.length;
  }
  const { stats } = scan;
  if (table[changes] !== unchanged) {
    // Its checkpoint, read at the start, may be stale, and absorbing would
    // overwrite newer values with older ones from the log.
    throw new WalError(
      ErrorCode.CONCURRENT_CHANGE,
      `expected table to stay unchanged while replay read the log in ${dir} (from lastSequence ${checkpoint}), found it changed (now at lastSequence ${table.lastSequence}): nothing was applied`,
    );
  }
  if (checkpoint !== null && stats.missing) {
    throw new WalError(
      ErrorCode.SEQUENCE_REWOUND,
      `expected the log in ${dir} to continue after the table's lastSequence ${checkpoint}, found no log at ${dir}: a writer opened there starts again at sequence 0, so a replay from this checkpoint would skip its first ${checkpoint + 1} entries`,
    );
  }
  const logId = table.logId;
  // A table that names its log refuses another one, checkpoint or not: it
  // would take that log's entries and id as its own.
  if (logId !== null && stats.logId !== null && stats.logId !== logId) {
    throw new WalError(
      ErrorCode.SEQUENCE_REWOUND,
      checkpoint === null
        ? `expected the log in ${dir} to be log ${logId}, which the table is of, found log ${stats.logId}: nothing was applied`
        : `expected the log in ${dir} to be log ${logId}, which the table's checkpoint (lastSequence ${checkpoint}) is of, found log ${stats.logId}: a writer started a new log there, and a replay from this checkpoint would skip its first ${checkpoint + 1} entries`,
    );
  }
  const incident = await checkIncidents(
    dir,
    options.fs,
    { lastSequence: checkpoint, incident: table.incident, logId },
    listedBefore(),
    stats,
  );
  if (checkpoint !== null && !stats.missing && stats.nextSequence <= checkpoint) {
    throw new WalError(
      ErrorCode.SEQUENCE_REWOUND,
      `expected the log in ${dir} to continue after the table's lastSequence ${checkpoint}, found it ending at ${stats.nextSequence - 1}: its sequences went back, so entries written since would be skipped`,
    );
  }
  if (stats.firstSequence !== null && stats.firstSequence > from) {
    throw new WalError(
      ErrorCode.TRUNCATED,
      `expected the log in ${dir} to hold sequence ${from} (after the table's lastSequence), found its earliest sequence at ${stats.firstSequence}: retention deleted entries the table does not have`,
    );
  }
  table[absorb](staging, stats.logId ?? logId, incident);
  return { nextSequence: stats.nextSequence, applied, stats };
}
