import { describeValue, ErrorCode, isIndex, WalError } from '@wal/codec';

/** Default flush threshold: 64 MiB, as RocksDB's `write_buffer_size`. */
export const DEFAULT_MAX_SIZE_BYTES = 64 * 1024 * 1024;

/** Options for {@link Memtable}. */
export interface MemtableOptions {
  /**
   * `shouldFlush()` turns true once `sizeBytes` reaches this. A positive safe
   * integer; default 64 MiB. The table never refuses writes beyond it.
   */
  maxSizeBytes?: number;
  /**
   * The sequence the table already holds everything up to, for a table
   * restored from a checkpoint: replay then skips entries at or below it.
   * A non-negative safe integer, or null (default) for none.
   */
  lastSequence?: number | null;
}

/** {@link MemtableOptions} with the defaults filled in. */
export interface ResolvedMemtableOptions {
  maxSizeBytes: number;
  lastSequence: number | null;
}

const KNOWN = new Set(['maxSizeBytes', 'lastSequence']);

/**
 * Validates options; throws `WAL_INVALID_OPTIONS`. Unknown keys are refused,
 * as in the other @wal packages, so a misspelt option is not silently ignored.
 */
export function parseOptions(input: unknown): ResolvedMemtableOptions {
  if (input === undefined) return { maxSizeBytes: DEFAULT_MAX_SIZE_BYTES, lastSequence: null };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('options', 'an object', describeValue(input));
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) throw invalid(key, `one of ${[...KNOWN].join(', ')}`, 'an unknown option');
  }
  const { maxSizeBytes = DEFAULT_MAX_SIZE_BYTES, lastSequence = null } = input as MemtableOptions;
  if (!Number.isSafeInteger(maxSizeBytes) || maxSizeBytes < 1) {
    throw invalid('maxSizeBytes', 'a positive safe integer', describeValue(maxSizeBytes));
  }
  if (lastSequence !== null && !isIndex(lastSequence)) {
    throw invalid(
      'lastSequence',
      'null or a non-negative safe integer',
      describeValue(lastSequence),
    );
  }
  return { maxSizeBytes, lastSequence };
}

/**
 * The `WAL_INVALID_OPTIONS` error for option `name` of a `what` call, in the
 * form the other @wal packages use: "expected valid X options, found name: …".
 */
export function invalidOptions(
  what: string,
  name: string,
  expected: string,
  found: string,
): WalError {
  return new WalError(
    ErrorCode.INVALID_OPTIONS,
    `expected valid ${what} options, found ${name}: expected ${expected}, found ${found}`,
  );
}

function invalid(name: string, expected: string, found: string): WalError {
  return invalidOptions('Memtable', name, expected, found);
}
