import { describeValue, MAX_SEQUENCE } from '@wal/codec';
import {
  boolean,
  integer,
  invalidOptions,
  oneOf,
  option,
  parseOptions,
  problem,
  type ResolvedOptions,
} from '@wal/codec/internal';
import { isWalFs, nodeFs, WAL_FS_METHODS } from '@wal/fs';

// Every WalFs method recovery may call is checked up front, so a bad `fs`
// fails as WAL_INVALID_OPTIONS, not as a TypeError halfway through a repair.
const fs = option(
  { expected: `a WalFs with methods ${WAL_FS_METHODS.join(', ')}`, test: isWalFs },
  nodeFs,
);
const sequence = integer(0, MAX_SEQUENCE);
const abortSignal = {
  expected: 'an AbortSignal',
  test: (value: unknown): value is AbortSignal => value instanceof AbortSignal,
};

const scanTable = {
  fs,
  mode: option(
    oneOf(['strict', 'tolerate-tail', 'point-in-time', 'skip-corrupted']),
    'tolerate-tail',
  ),
  fromSequence: option(sequence, 0),
  toSequence: option(sequence),
  limit: option(integer(0)),
  signal: option(abortSignal),
  ifMissing: option(oneOf(['error', 'empty']), 'error'),
};

const verifyTable = { fs, mode: option(oneOf(['strict', 'tolerate-tail']), 'tolerate-tail') };

const repairTable = { fs, dryRun: option(boolean, false), floor: option(sequence) };
const incidentsTable = { fs };

export type ResolvedScanOptions = ResolvedOptions<typeof scanTable>;
export type ResolvedVerifyOptions = ResolvedOptions<typeof verifyTable>;
export type ResolvedRepairOptions = ResolvedOptions<typeof repairTable>;
export type ResolvedIncidentsOptions = ResolvedOptions<typeof incidentsTable>;

/**
 * Validates scan options before any I/O. A `toSequence` below `fromSequence`
 * is refused: it selects nothing, which is a mistake, not a query.
 */
export function parseScanOptions(input: unknown): ResolvedScanOptions {
  const options = parseOptions('scan', scanTable, input);
  const { fromSequence, toSequence } = options;
  if (toSequence !== undefined && toSequence < fromSequence) {
    const expected = `a sequence of at least fromSequence (${fromSequence})`;
    throw invalidOptions('scan', [problem('toSequence', expected, describeValue(toSequence))]);
  }
  return options;
}
export const parseVerifyOptions = (input: unknown): ResolvedVerifyOptions =>
  parseOptions('verify', verifyTable, input);
export const parseRepairOptions = (input: unknown): ResolvedRepairOptions =>
  parseOptions('repair', repairTable, input);
export const parseIncidentsOptions = (input: unknown): ResolvedIncidentsOptions =>
  parseOptions('listIncidents', incidentsTable, input);
