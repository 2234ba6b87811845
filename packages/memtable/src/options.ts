import { integer, matching, option, orNull, parseOptions as parseTable } from '@wal/codec/internal';

/** Default flush threshold: 64 MiB, as RocksDB's `write_buffer_size`. */
export const DEFAULT_MAX_SIZE_BYTES = 64 * 1024 * 1024;

/** Options for {@link Memtable}. */
export interface MemtableOptions {
  /**
   * `shouldFlush()` turns true once `sizeBytes` reaches this. A positive safe
   * integer; default 64 MiB. The table never refuses writes beyond it.
   */
  maxSizeBytes?: number | undefined;
  /**
   * The sequence the table already holds everything up to, for a table
   * restored from a checkpoint: replay then skips entries at or below it.
   * A non-negative safe integer, or null (default) for none. Persist a
   * checkpoint only once the log holds its entries durably (the writer's
   * `durableSequence` above `lastSequence`, say after `wal.sync()`, or a
   * replay made after `Wal.open`, which syncs what it finds): a power loss
   * can take unsynced entries, the writer then issues their sequences
   * again, and replay skips those new entries as ones the table holds.
   */
  lastSequence?: number | null | undefined;
  /**
   * The id of the log the checkpoint is of (the writer's `wal.logId`, 16
   * hex digits), or null (default). With it, replay refuses another log:
   * one a writer started anew, whose sequences the checkpoint would skip.
   */
  logId?: string | null | undefined;
  /**
   * The highest repair incident of the log when the checkpoint was taken
   * (the table's `incident`), or null (default) for none. Replay refuses a
   * later repair that continued the log at or below `lastSequence`.
   * Without it every repair counts as later, also one the table replayed
   * past, so keep it with the checkpoint.
   */
  incident?: number | null | undefined;
}

/** {@link MemtableOptions} with the defaults filled in. */
export interface ResolvedMemtableOptions {
  maxSizeBytes: number;
  lastSequence: number | null;
  logId: string | null;
  incident: number | null;
}

const table = {
  maxSizeBytes: option(integer(1), DEFAULT_MAX_SIZE_BYTES),
  lastSequence: option(orNull(integer(0)), null),
  logId: option(orNull(matching(/^[0-9a-f]{16}$/, 'a log id (16 hex digits)')), null),
  incident: option(orNull(integer(1)), null),
};

/**
 * Validates options; throws `WAL_INVALID_OPTIONS`. Unknown keys are refused,
 * as in the other @wal packages, so a misspelt option is not silently ignored.
 */
export function parseOptions(input: unknown): ResolvedMemtableOptions {
  return parseTable('Memtable', table, input);
}
