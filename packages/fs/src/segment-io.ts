import path from 'node:path';
import {
  type BadSegmentHeader,
  decodeSegmentHeader,
  encodeSegmentHeader,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';
import { io, ioError } from './io-error.js';
import { segmentFileName } from './segment-files.js';
import type { WalFs } from './wal-fs.js';

/** Suffix of a segment being created; renamed to its final name once its header is durable. */
export const CREATING_SUFFIX = '.tmp';

/**
 * Creates segment `segmentNumber` and returns its open handle.
 *
 * The header is written and fdatasync'ed under a temporary name, then the
 * file is renamed and the directory fsynced. A crash at any point leaves
 * either no segment or a valid header-only one, never a half-made file
 * under a segment name.
 */
export function createSegment(
  fs: WalFs,
  dir: string,
  segmentNumber: number,
  firstSequence: number,
): { fd: number; path: string } {
  const final = path.join(dir, segmentFileName(segmentNumber));
  const temp = final + CREATING_SUFFIX;
  const header = encodeSegmentHeader({ segmentNumber, firstSequence });
  const fd = io('create segment', temp, () => fs.open(temp, 'wx'));
  try {
    writeFully(fs, fd, header, 0, temp);
    io('fdatasync', temp, () => fs.fdatasync(fd));
    io('rename segment', temp, () => fs.rename(temp, final));
    io('fsync directory', dir, () => fs.fsyncDir(dir));
  } catch (error) {
    closeQuietly(fs, fd);
    try {
      fs.unlink(temp);
    } catch {
      // Best effort: a leftover .tmp file is removed by the next open.
    }
    throw error;
  }
  return { fd, path: final };
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export function writeFully(
  fs: WalFs,
  fd: number,
  bytes: Uint8Array,
  position: number,
  file: string,
): void {
  let done = 0;
  while (done < bytes.length) {
    const n = io('write', file, () => fs.write(fd, bytes.subarray(done), position + done));
    if (n <= 0) {
      throw ioError(
        'write',
        file,
        Object.assign(new Error('write made no progress'), { code: 'EIO' }),
      );
    }
    done += n;
  }
}

/**
 * Reads `length` bytes at `position` into a new buffer (fewer only at end of
 * file). A new buffer each time: decoded keys and values are views into it.
 */
export function readAt(
  fs: WalFs,
  fd: number,
  position: number,
  length: number,
  file: string,
): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = io('read', file, () => fs.read(fd, out, done, length - done, position + done));
    if (n === 0) break;
    done += n;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Reads and decodes the header of the segment at `file`. */
export function readSegmentHeader(
  fs: WalFs,
  file: string,
): { header: SegmentHeader | BadSegmentHeader; size: number } {
  const fd = io('open segment', file, () => fs.open(file, 'r'));
  try {
    const size = io('stat segment', file, () => fs.fsize(fd));
    const header = decodeSegmentHeader(readAt(fs, fd, 0, SEGMENT_HEADER_SIZE, file));
    return { header, size };
  } finally {
    closeQuietly(fs, fd);
  }
}

/**
 * Copies `[start, end)` of an open file into a new file at `target`, makes it
 * durable, and fsyncs its directory. Used to keep cut bytes before cutting.
 */
export function copyRangeDurably(
  fs: WalFs,
  fd: number,
  source: string,
  start: number,
  end: number,
  target: string,
): void {
  const out = io('create', target, () => fs.open(target, 'wx'));
  try {
    const chunk = 1024 * 1024;
    for (let p = start; p < end; p += chunk) {
      const bytes = readAt(fs, fd, p, Math.min(chunk, end - p), source);
      writeFully(fs, out, bytes, p - start, target);
    }
    io('fdatasync', target, () => fs.fdatasync(out));
  } finally {
    closeQuietly(fs, out);
  }
  io('fsync directory', path.dirname(target), () => fs.fsyncDir(path.dirname(target)));
}

/** Closes a handle, ignoring errors (used on paths that already failed). */
export function closeQuietly(fs: WalFs, fd: number): void {
  try {
    fs.close(fd);
  } catch {
    // Nothing useful to do: the original error is what the caller reports.
  }
}
