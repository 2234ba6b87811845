import path from 'node:path';
import {
  decodeAll,
  decodeSegmentHeader,
  ErrorCode,
  isBadSegmentHeader,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  sequencesOf,
  WalError,
} from '@wal/codec';
import {
  instanceOf,
  integer,
  option,
  parseOptions,
  pathString,
  required,
} from '@wal/codec/internal';
import { isWalFs, nodeFs, type WalFs } from '@wal/fs';
import { errnoOf, io, ioError, syncDirectoryState } from '@wal/fs/internal';
import { fsyncDirOf, segmentFileName, writeFileDurably } from '@wal/fs/segments';
import { checkArchiveList, isArchiveTarget, sha256 } from './archive-check.js';
import type { ArchivedSegment, ArchiveTarget } from './archive-target.js';

/** Options of {@link restoreLog}. */
export interface RestoreOptions {
  /** Where the segments are archived. */
  target: ArchiveTarget;
  /** The log directory to create. It must not exist: restore never writes over a log. */
  dir: string;
  /**
   * Restore up to this sequence (point in time): the segments before the
   * one holding it whole, and that one up to the end of the record holding
   * it (a batch is never split, so the log may end a few sequences later).
   * Default: every archived segment.
   */
  toSequence?: number;
  /** File-system implementation for `dir`. Default `nodeFs`. */
  fs?: WalFs;
  /** Aborts between segments: rejects with the signal's reason (`dir` is not created). */
  signal?: AbortSignal;
}

/** What {@link restoreLog} rebuilt. */
export interface RestoreResult {
  /** The log directory (absolute). */
  dir: string;
  /** The archived segments restored, in order. */
  segments: ArchivedSegment[];
  /** The first sequence the restored log holds. */
  firstSequence: number;
  /** The sequence a writer continues from (`Wal.open` on `dir`). */
  nextSequence: number;
  /** The last sequence restored, or null when the segments hold none. */
  lastSequence: number | null;
  /** Bytes written. */
  bytes: number;
  /**
   * Null when every segment was restored whole (each is byte for byte the
   * archived one); else where the last one was cut for `toSequence` (the
   * restored file is that prefix of the archived one, unsealed).
   */
  cut: { segment: number; offset: number } | null;
}

const restoreTable = {
  target: required({ expected: 'an ArchiveTarget (put, get and list)', test: isArchiveTarget }),
  dir: required(pathString),
  toSequence: option(integer(0, MAX_SEQUENCE)),
  fs: option({ expected: 'a WalFs with every method', test: isWalFs }, nodeFs),
  signal: option(instanceOf(AbortSignal, 'an AbortSignal')),
};

/**
 * Rebuilds a log directory from an archive. Every segment is checked before
 * it is written: its bytes against the archive's checksum and length, its
 * header (number, first sequence, one log id), every frame (CRC, sequences
 * continuing) and its seal (next sequence, length); and the archive's list
 * for continuity: contiguous numbers, each segment starting where the
 * previous one ends. A missing segment is `WAL_ARCHIVE_GAP`, bad bytes
 * `WAL_ARCHIVE_CORRUPT`: never a skip.
 *
 * The segments are written durably into `<dir>.restoring` (emptied first if
 * an earlier restore left it), which is renamed to `dir` only once every
 * one is written: `dir` exists only as a complete restore, whatever fails
 * or crashes midway. `Wal.open(dir)` then continues from
 * `result.nextSequence`.
 *
 * Restoring to a point and writing on forks the log: the archive holds
 * other records for the later sequences, under the same log id. Archive the
 * restored log to a new target.
 */
export async function restoreLog(options: RestoreOptions): Promise<RestoreResult> {
  const { target, toSequence, fs, signal } = parseOptions('restore', restoreTable, options);
  const dir = path.resolve(options.dir);
  signal?.throwIfAborted();
  if (await exists(fs, dir)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected nothing at ${dir} (restore creates the log directory), found something there`,
    );
  }
  const selected = select(checkArchiveList(await target.list(signal)), toSequence);
  const staging = `${dir}.restoring`;
  await prepareStaging(fs, staging);
  let logId: string | undefined;
  let bytes = 0;
  let cut: RestoreResult['cut'] = null;
  let nextSequence = 0;
  for (const [i, info] of selected.entries()) {
    signal?.throwIfAborted();
    const data = await target.get(info.segment, signal);
    if (data === undefined) {
      throw new WalError(
        ErrorCode.ARCHIVE_GAP,
        `expected the bytes of archived segment ${info.segment}, found none (listed, but missing)`,
      );
    }
    const checked = checkSegment(info, data, logId);
    logId = checked.header.logId;
    let out = data;
    nextSequence = info.lastSequence + 1;
    if (i === selected.length - 1 && toSequence !== undefined && toSequence < info.lastSequence) {
      const end = recordEnd(checked.frames, toSequence);
      out = data.subarray(0, end.offset);
      nextSequence = end.nextSequence;
      cut = { segment: info.segment, offset: end.offset };
    }
    await writeFileDurably(fs, path.join(staging, segmentFileName(info.segment)), out);
    bytes += out.length;
  }
  await io('rename restored log', staging, () => fs.rename(staging, dir));
  await fsyncDirOf(fs, dir);
  const first = selected[0] as ArchivedSegment;
  return {
    dir,
    segments: selected,
    firstSequence: first.firstSequence,
    nextSequence,
    lastSequence: nextSequence > first.firstSequence ? nextSequence - 1 : null,
    bytes,
    cut,
  };
}

// The archived segments a restore to `toSequence` needs: through the one holding it.
function select(listed: ArchivedSegment[], toSequence: number | undefined): ArchivedSegment[] {
  const first = listed[0];
  const last = listed.at(-1);
  if (!first || !last) {
    throw new WalError(
      ErrorCode.ARCHIVE_GAP,
      'expected archived segments to restore from, found none',
    );
  }
  if (toSequence === undefined) return listed;
  if (toSequence < first.firstSequence || toSequence > last.lastSequence) {
    throw new WalError(
      ErrorCode.ARCHIVE_GAP,
      `expected the archive to hold sequence ${toSequence}, found it holding sequences ${first.firstSequence} to ${last.lastSequence}${toSequence > last.lastSequence ? ' (later ones are in segments not sealed or not archived yet)' : ''}`,
    );
  }
  const k = listed.findIndex((s) => s.lastSequence >= toSequence);
  return listed.slice(0, k + 1);
}

function checkSegment(info: ArchivedSegment, data: Uint8Array, logId: string | undefined) {
  const corrupt = (detail: string) =>
    new WalError(ErrorCode.ARCHIVE_CORRUPT, `archived segment ${info.segment}: ${detail}`);
  if (data.length !== info.bytes) {
    throw corrupt(`expected ${info.bytes} bytes, found ${data.length}`);
  }
  const checksum = sha256(data);
  if (checksum !== info.checksum) {
    throw corrupt(`expected checksum ${info.checksum}, found ${checksum}`);
  }
  const decoded = decodeSegmentHeader(data);
  if (isBadSegmentHeader(decoded))
    throw corrupt(`expected a valid header, found ${decoded.detail}`);
  const header: SegmentHeader = decoded;
  const mismatch =
    header.segment !== info.segment
      ? `expected segment number ${info.segment} in the header, found ${header.segment}`
      : header.firstSequence !== info.firstSequence
        ? `expected first sequence ${info.firstSequence} in the header, found ${header.firstSequence}`
        : logId !== undefined && header.logId !== logId
          ? `expected the log id ${logId} of the segments before, found ${header.logId}`
          : undefined;
  if (mismatch) throw corrupt(mismatch);
  const results = decodeAll(data.subarray(SEGMENT_HEADER_SIZE), {
    salt: header.salt,
    firstSequence: header.firstSequence,
    maxRecordBytes: header.maxRecordBytes,
  });
  const damage = results.find((r) => r.kind === 'damage');
  if (damage) {
    throw corrupt(
      `expected intact frames, found ${damage.reason} at offset ${damage.offset}: ${damage.detail}`,
    );
  }
  const frames = results.flatMap((r) => (r.kind === 'frame' ? [r] : []));
  const seal = frames.at(-1)?.record;
  if (
    seal?.type !== 'seal' ||
    seal.nextSequence !== info.lastSequence + 1 ||
    seal.bytes !== data.length
  ) {
    throw corrupt(
      `expected a seal ending at sequence ${info.lastSequence + 1} and ${data.length} bytes, found ${seal?.type === 'seal' ? `one ending at ${seal.nextSequence} and ${seal.bytes} bytes` : 'none'}`,
    );
  }
  return { header, frames };
}

// Where the record holding `sequence` ends: the restored segment is cut there.
function recordEnd(
  frames: ReturnType<typeof checkSegment>['frames'],
  sequence: number,
): { offset: number; nextSequence: number } {
  for (const f of frames) {
    const { first, next } = sequencesOf(f.record);
    if (first <= sequence && sequence < next)
      return { offset: f.offset + f.size, nextSequence: next };
  }
  // Unreachable after checkSegment: the seal's range covers `sequence`.
  throw new WalError(
    ErrorCode.ARCHIVE_CORRUPT,
    `expected a record holding sequence ${sequence}, found none`,
  );
}

async function exists(fs: WalFs, file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw ioError('stat', file, error);
  }
}

// A staging directory of an earlier restore that failed is ours to empty.
async function prepareStaging(fs: WalFs, staging: string): Promise<void> {
  if (await exists(fs, staging)) {
    for (const name of await io('read directory', staging, () => fs.readdir(staging))) {
      const file = path.join(staging, name);
      await io('remove', file, () => fs.unlink(file));
    }
  } else {
    await io('create directory', staging, () => fs.mkdirp(staging));
  }
  // Staging and every directory above it, durable in its parent: restore
  // may have made dir's parents, here or in an earlier restore killed
  // before it fsynced them.
  await syncDirectoryState(fs, staging);
}
