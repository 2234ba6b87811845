import { CorruptionError, type DecodedRecord, ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { listSegmentFiles, readFrames, readSegmentInfo } from '@wal/fs/segments';
import { encodeRecordMessage, opsOf, type RecordMessage } from './message.js';

/** Where the local log ended when catch-up began: records below `nextSequence`, bytes below `size` of `segment`. */
export interface LogEnd {
  segment: number;
  size: number;
  nextSequence: number;
}

/**
 * The batch and hole records of the log in `dir` below `end`, in order,
 * from the segment holding `from` on (sealed segments wholly below it are
 * skipped by their seals), with the file each is in. A bad header or
 * damage throws (`intact` says which records were expected); it never
 * skips.
 */
async function* recordsFrom(
  fs: WalFs,
  dir: string,
  from: number,
  end: LogEnd,
  intact: (file: string) => string,
  signal?: AbortSignal,
): AsyncGenerator<{ file: string; record: BatchOrHole }> {
  for (const { file, segment } of await listSegmentFiles(fs, dir)) {
    if (segment > end.segment) break;
    const info = await readSegmentInfo(fs, file, segment);
    if (!info.header) {
      throw new WalError(
        ErrorCode.CORRUPTION,
        `expected a valid segment header in ${file}, found ${info.headerDetail}`,
      );
    }
    if (info.seal && info.seal.nextSequence <= from) continue;
    const last = segment === end.segment;
    for await (const event of readFrames(fs, info, last ? { last, size: end.size } : { last })) {
      signal?.throwIfAborted();
      if (event.kind === 'damage') {
        throw new CorruptionError(
          `expected intact records ${intact(file)}, found ${event.damage.reason} at offset ${event.damage.offset}: ${event.damage.detail}`,
          event.damage,
        );
      }
      if (event.kind !== 'frames') continue;
      for (const { record } of event.frames) {
        if (record.type === 'batch' || record.type === 'hole') yield { file, record };
      }
    }
  }
}

type BatchOrHole = Extract<DecodedRecord, { type: 'batch' | 'hole' }>;

const replicating = (file: string) => `to replicate from ${file}`;
const comparing = (file: string) => `in ${file} to compare with the stream's`;

/**
 * The records of the log in `dir` from `fromSequence` (a record boundary;
 * null: its first record) to `end`, as stream messages, in order, one segment read at a time. These are
 * the records a writer that crashed had not yet seen acknowledged: the
 * catch-up after a restart. Damage throws; it never skips.
 */
export async function* localRecords(
  fs: WalFs,
  dir: string,
  logId: string,
  fromSequence: number | null,
  end: LogEnd,
  signal?: AbortSignal,
): AsyncGenerator<RecordMessage> {
  if (fromSequence !== null && fromSequence >= end.nextSequence) return;
  let expected = fromSequence ?? -1;
  for await (const { file, record } of recordsFrom(fs, dir, expected, end, replicating, signal)) {
    if (record.type === 'hole') {
      if (record.nextSequence <= expected) continue;
      throw new WalError(
        ErrorCode.TRUNCATED,
        `expected record ${expected} in ${file} to replicate, found a hole (repair incident ${record.incident}) for sequences ${record.firstSequence} to ${record.nextSequence - 1}: those entries are lost, and the stream cannot skip them`,
      );
    }
    const next = record.firstSequence + record.entries.length;
    if (expected === -1) expected = record.firstSequence;
    if (next <= expected) continue;
    if (record.firstSequence > expected) throw gone(dir, expected, end);
    if (record.firstSequence < expected) {
      throw new WalError(
        ErrorCode.FENCED,
        `expected a record of ${file} to start at sequence ${expected} (after the stream's last), found one spanning ${record.firstSequence} to ${next - 1}: this log and the stream have diverged`,
      );
    }
    if (record.firstSequence >= end.nextSequence) return;
    yield encodeRecordMessage(logId, record.firstSequence, opsOf(record.entries));
    expected = next;
  }
  if (expected !== -1 && expected < end.nextSequence) throw gone(dir, expected, end);
}

function gone(dir: string, expected: number, end: LogEnd): WalError {
  return new WalError(
    ErrorCode.TRUNCATED,
    `expected the log in ${dir} to hold sequences ${expected} to ${end.nextSequence - 1} for the stream, found them gone: retention deleted them before they were replicated`,
  );
}

/** What the local log holds where a record of the stream lies (see {@link localRecordAt}). */
export type LocalRecordAt =
  /** A record starting there: its message, to compare with the stream's. */
  | { kind: 'record'; message: RecordMessage }
  /** A record reaching past `firstSequence` that does not start there (other boundaries). */
  | { kind: 'spanning'; firstSequence: number; nextSequence: number }
  /** Nothing to compare with: retention deleted it, or a repair's hole stands for it. */
  | { kind: 'gone' };

/**
 * The local log's record holding `firstSequence` (below `end`), read from
 * the one segment that holds it (sealed segments before it are skipped by
 * their seals): what open compares the stream's last record with. Damage
 * throws, as in {@link localRecords}.
 */
export async function localRecordAt(
  fs: WalFs,
  dir: string,
  logId: string,
  firstSequence: number,
  end: LogEnd,
): Promise<LocalRecordAt> {
  for await (const { record } of recordsFrom(fs, dir, firstSequence, end, comparing)) {
    const next =
      record.type === 'batch' ? record.firstSequence + record.entries.length : record.nextSequence;
    if (next <= firstSequence) continue;
    // The first record reaching past it: a hole, or one after it (those before deleted), has nothing to compare.
    if (record.type === 'hole' || record.firstSequence > firstSequence) return { kind: 'gone' };
    if (record.firstSequence < firstSequence) {
      return { kind: 'spanning', firstSequence: record.firstSequence, nextSequence: next };
    }
    return {
      kind: 'record',
      message: encodeRecordMessage(logId, record.firstSequence, opsOf(record.entries)),
    };
  }
  return { kind: 'gone' };
}
