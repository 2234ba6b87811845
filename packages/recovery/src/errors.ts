import path from 'node:path';
import { CorruptionError, type Damage, ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { readListedInfos, type SegmentInfo } from '@wal/fs/segments';
import type { RecoveryMode } from './types.js';
import type { WalkSource } from './walker.js';

/** The `WAL_CORRUPTION` a scan throws at damage its mode does not accept. */
export function damageError(
  _dir: string,
  mode: RecoveryMode,
  damage: Damage,
  torn: boolean,
): CorruptionError {
  const hint = torn
    ? `it is a torn tail (what a crash leaves), which '${mode}' mode refuses: recover with mode 'tolerate-tail' to drop it, or open the log with Wal.open, which cuts it`
    : `the log cannot be read past it in '${mode}' mode. See every problem with verify(), set the damage aside with repair() (it keeps every byte and every intact record), or read what is intact with mode 'point-in-time' or 'skip-corrupted'`;
  const { file, offset, reason, detail } = damage;
  return new CorruptionError(`${file} at offset ${offset}: ${detail} (${reason}); ${hint}`, damage);
}

/**
 * `WAL_TRUNCATED`: a reader asked for sequences retention already deleted.
 * Names both the sequence it needed and the earliest one left, so a caller
 * decides what to do; a reader never starts later on its own.
 */
export class TruncatedError extends WalError {
  /** The sequence the reader needed. */
  readonly requestedSequence: number;
  /** The earliest sequence the log still holds, or null when no segment is left. */
  readonly earliestSequence: number | null;

  constructor(
    message: string,
    requestedSequence: number,
    earliestSequence: number | null,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.TRUNCATED, message, options);
    this.requestedSequence = requestedSequence;
    this.earliestSequence = earliestSequence;
  }

  override get name(): string {
    return 'TruncatedError';
  }
}

/**
 * `WAL_TRUNCATED`: a segment the reader needed was deleted by retention
 * while it read. It never silently reads on from a later sequence.
 */
export async function truncatedError(
  fs: WalFs,
  source: WalkSource,
  info: SegmentInfo,
  requested: number,
  cause: unknown,
): Promise<WalError> {
  let earliest: number | null = null;
  if ('dir' in source) {
    // Retention may still be deleting: the oldest file listed can go too.
    earliest = (await readListedInfos(fs, source.dir))[0]?.header?.firstSequence ?? null;
  }
  const now =
    earliest === null ? 'no segment is left' : `the earliest sequence left is ${earliest}`;
  return new TruncatedError(
    `expected ${path.basename(info.file)} to hold sequence ${requested}, found it deleted while reading (retention removed it); ${now}`,
    requested,
    earliest,
    { cause },
  );
}
