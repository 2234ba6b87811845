import path from 'node:path';
import {
  CorruptionError,
  type DamageReason,
  FrameDecoder,
  isBadSegmentHeader,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';
import { io, ioError } from './io-error.js';
import {
  brokenFilePath,
  listSegments,
  parseSegmentFileName,
  type SegmentFile,
} from './segment-files.js';
import {
  CREATING_SUFFIX,
  closeQuietly,
  copyRangeDurably,
  createSegment,
  readAt,
  readSegmentHeader,
  writeFully,
} from './segment-io.js';
import { type Damage, isTornTail, refuseOversizedRecord } from './tail-policy.js';
import type { WalFs } from './wal-fs.js';

/** What opening cut from the end of the log, and where the bytes were kept. */
export interface TailRepair {
  /** The segment file that was cut (or set aside whole). */
  segment: string;
  /** Offset of the cut. */
  offset: number;
  /** Bytes removed from the segment. */
  bytes: number;
  /** Why the bytes at `offset` could not be read as a record (`truncated`, `zero-fill`, ...). */
  reason: DamageReason;
  /** The file now holding those bytes; null when there were none to keep. */
  keptIn: string | null;
}

/** A segment before the active one. Its last sequence is the next one's first - 1. */
export interface SealedSegment {
  /** The number in the file name and the header. */
  segmentNumber: number;
  /** Absolute path of the segment file. */
  path: string;
  /** Sequence of its first record, from its header. */
  firstSequence: number;
}

/** The segment appends go to. */
export interface ActiveSegment extends SealedSegment {
  /** Open handle, read-write. */
  fd: number;
  /** Bytes in the file, header included: where the next record goes. */
  size: number;
}

/** A log directory made ready for appending by {@link openLog}. */
export interface OpenedLog {
  sealed: SealedSegment[];
  active: ActiveSegment;
  nextSequence: number;
  repairs: TailRepair[];
}

const READ_CHUNK = 1024 * 1024;

/**
 * Brings a log directory to a state where appending is safe: reads every
 * header, scans only the last segment, and cuts a torn tail (keeping the cut
 * bytes in a `.broken` file) so new records never follow garbage.
 *
 * Tail policy, shared with @wal/recovery's `tolerate-tail`: in the last
 * segment, damage is a torn tail when no valid frame follows it, or when it
 * looks like a torn write (zeroed sectors), since frames after a torn write
 * were never synced. Any other damage refuses with `WAL_CORRUPTION`.
 */
export function openLog(fs: WalFs, dir: string, maxRecordBytes: number): OpenedLog {
  const repairs: TailRepair[] = [];
  removeUnfinishedSegments(fs, dir);
  const files = listSegments(fs, dir);
  const headers = files.map((f) => readSegmentHeader(fs, f.path));
  setAsideTornCreation(fs, dir, files, headers, repairs);

  if (files.length === 0) {
    const { fd, path: file } = createSegment(fs, dir, 0, 0);
    const active = {
      segmentNumber: 0,
      path: file,
      firstSequence: 0,
      fd,
      size: SEGMENT_HEADER_SIZE,
    };
    return { sealed: [], active, nextSequence: 0, repairs };
  }

  const sealed = files.map((file, i) => checkHeader(dir, file, headers[i]?.header, files[i - 1]));
  const last = sealed.pop() as SealedSegment;
  const fd = io('open segment', last.path, () => fs.open(last.path, 'r+'));
  try {
    const { size, nextSequence } = scanLastSegment(fs, dir, fd, last, maxRecordBytes, repairs);
    return { sealed, active: { ...last, fd, size }, nextSequence, repairs };
  } catch (error) {
    closeQuietly(fs, fd);
    throw error;
  }
}

function removeUnfinishedSegments(fs: WalFs, dir: string): void {
  for (const name of io('read directory', dir, () => fs.readdir(dir))) {
    if (!name.endsWith(CREATING_SUFFIX)) continue;
    if (parseSegmentFileName(name.slice(0, -CREATING_SUFFIX.length)) === undefined) continue;
    // Its rename never happened, so it never held a record.
    const file = path.join(dir, name);
    io('remove unfinished segment', file, () => fs.unlink(file));
  }
}

// A last segment shorter than a header is a creation that did not finish
// (not by this writer, which renames only after the header is durable).
// It holds no records: keep its bytes aside and drop it.
function setAsideTornCreation(
  fs: WalFs,
  dir: string,
  files: SegmentFile[],
  headers: { size: number }[],
  repairs: TailRepair[],
): void {
  const last = files.at(-1);
  const size = headers.at(-1)?.size ?? SEGMENT_HEADER_SIZE;
  if (!last || size >= SEGMENT_HEADER_SIZE) return;
  if (last.segmentNumber > 0 && files.length === 1) {
    throw corruption(
      dir,
      last.path,
      0,
      size,
      'bad-header',
      'expected a segment header, found a file too short to hold one and no earlier segment to continue from',
    );
  }
  let keptIn: string | null = null;
  if (size > 0) {
    keptIn = brokenFilePath(fs, last.path);
    const target = keptIn;
    io('set aside segment', last.path, () => fs.rename(last.path, target));
  } else {
    io('remove empty segment', last.path, () => fs.unlink(last.path));
  }
  io('fsync directory', dir, () => fs.fsyncDir(dir));
  repairs.push({ segment: last.path, offset: 0, bytes: size, reason: 'bad-header', keptIn });
  files.pop();
  headers.pop();
}

function checkHeader(
  dir: string,
  file: SegmentFile,
  header: SegmentHeader | { reason: 'bad-header'; detail: string } | undefined,
  previous: SegmentFile | undefined,
): SealedSegment {
  if (!header || isBadSegmentHeader(header)) {
    throw corruption(
      dir,
      file.path,
      0,
      SEGMENT_HEADER_SIZE,
      'bad-header',
      header?.detail ?? 'no header',
    );
  }
  if (header.segmentNumber !== file.segmentNumber) {
    const detail = `expected segment number ${file.segmentNumber} (from the file name), found ${header.segmentNumber}`;
    throw corruption(dir, file.path, 0, SEGMENT_HEADER_SIZE, 'bad-header', detail);
  }
  if (previous && previous.segmentNumber + 1 !== file.segmentNumber) {
    const detail = `expected segment ${previous.segmentNumber + 1} after ${previous.name}, found ${file.name}`;
    throw corruption(dir, file.path, 0, 0, 'bad-sequence', detail);
  }
  return {
    segmentNumber: file.segmentNumber,
    path: file.path,
    firstSequence: header.firstSequence,
  };
}

function scanLastSegment(
  fs: WalFs,
  dir: string,
  fd: number,
  segment: SealedSegment,
  maxRecordBytes: number,
  repairs: TailRepair[],
): { size: number; nextSequence: number } {
  const fileSize = io('stat segment', segment.path, () => fs.fsize(fd));
  const decoder = new FrameDecoder({ maxRecordBytes, offset: SEGMENT_HEADER_SIZE });
  let expected = segment.firstSequence;
  let damage: Damage | undefined;
  // Returns false once a frame is found after damage, which decides the tail
  // policy. The decoder reports damage only once its extent is known, so the
  // result after it (now, or after more input) is a frame or nothing.
  const consume = (): boolean => {
    for (const result of decoder) {
      if (result.kind === 'damage') {
        damage = result;
        continue;
      }
      if (damage) return false;
      const { firstSequence, entries } = result.record;
      if (firstSequence !== expected) {
        const detail = `expected a record with sequence ${expected}, found ${firstSequence}`;
        throw corruption(dir, segment.path, result.offset, result.size, 'bad-sequence', detail);
      }
      expected += entries.length;
    }
    return true;
  };
  let position = SEGMENT_HEADER_SIZE;
  let going = true;
  while (going && position < fileSize) {
    const chunk = readAt(fs, fd, position, Math.min(READ_CHUNK, fileSize - position), segment.path);
    if (chunk.length === 0) break;
    position += chunk.length;
    decoder.push(chunk);
    going = consume();
  }
  if (going) {
    decoder.end();
    consume();
  }
  if (!damage) {
    syncScanned(fs, fd, segment.path, fileSize);
    return { size: fileSize, nextSequence: expected };
  }
  if (damage.reason === 'bad-length') {
    refuseOversizedRecord(fs, fd, segment.path, damage.offset, fileSize, maxRecordBytes);
  }

  if (!isTornTail(fs, fd, segment.path, damage, fileSize, maxRecordBytes)) {
    throw corruption(dir, segment.path, damage.offset, damage.bytes, damage.reason, damage.detail);
  }
  cutTail(fs, fd, segment.path, damage.offset, fileSize, damage.reason, repairs);
  return { size: damage.offset, nextSequence: expected };
}

// What was read may still be only in the page cache (a writer killed in
// 'none' mode, or one whose fdatasync failed): make it durable before
// anything is appended after it. If that sync fails, its pages may have been
// marked clean without reaching the disk: write them again, so that the open
// that retries syncs them instead of appending after a future hole.
function syncScanned(fs: WalFs, fd: number, file: string, size: number): void {
  try {
    fs.fdatasync(fd);
  } catch (cause) {
    try {
      for (let p = SEGMENT_HEADER_SIZE; p < size; p += READ_CHUNK) {
        writeFully(fs, fd, readAt(fs, fd, p, Math.min(READ_CHUNK, size - p), file), p, file);
      }
    } catch {
      // The open fails either way; this was the best effort.
    }
    throw ioError('fdatasync', file, cause);
  }
}

// Keep the bytes first, durably; only then cut. A crash in between leaves
// the damage in place for the next open to cut again (into a new .broken).
function cutTail(
  fs: WalFs,
  fd: number,
  file: string,
  offset: number,
  fileSize: number,
  reason: DamageReason,
  repairs: TailRepair[],
): void {
  const keptIn = brokenFilePath(fs, file);
  copyRangeDurably(fs, fd, file, offset, fileSize, keptIn);
  io('truncate', file, () => fs.ftruncate(fd, offset));
  io('fdatasync', file, () => fs.fdatasync(fd));
  repairs.push({ segment: file, offset, bytes: fileSize - offset, reason, keptIn });
}

function corruption(
  dir: string,
  file: string,
  offset: number,
  bytes: number,
  reason: DamageReason,
  detail: string,
): CorruptionError {
  return new CorruptionError(
    `${file} at offset ${offset}: ${detail} (${reason}); the damage is not a torn tail, so the log was not opened. Inspect it with \`wal verify ${dir}\` and cut it with \`wal repair ${dir}\``,
    { file, offset, bytes, reason },
  );
}
