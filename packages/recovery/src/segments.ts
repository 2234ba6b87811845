import path from 'node:path';
import {
  decodeSegmentHeader,
  ErrorCode,
  isBadSegmentHeader,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  WalError,
} from '@wal/codec';
import { listSegments, type WalFs } from '@wal/fs';
import { closeQuietly, io, ioError, isDirectory, readAt } from './io.js';

/** A segment file and its decoded header, read before any frame. */
export interface SegmentInfo {
  /** From the file name (from the header for a lone file whose name has no number). */
  segmentNumber: number;
  file: string;
  /** Bytes in the file; updated to what was seen when its frames are read. */
  size: number;
  /** Null when the file is too short for a header or the header is invalid. */
  header: SegmentHeader | null;
  /** Why `header` is null. */
  headerDetail: string;
  /** Whether the header's segment number must equal `segmentNumber`. */
  checkNumber: boolean;
}

/**
 * The segment files of a log directory in number order, headers read.
 * A missing directory is an empty log. Files that are not `wal_N.log`
 * (the lock, `.broken` and `.tmp` files, `quarantine/`) are ignored.
 */
export function listLog(fs: WalFs, dir: string): SegmentInfo[] {
  if (!isDirectory(fs, dir)) return [];
  const files = io('read directory', dir, () => listSegments(fs, dir));
  return files.map((f) => readInfo(fs, f.path, f.segmentNumber));
}

// Quarantined copies are named `wal_N.log.1`, `.2`...: the number still counts.
const NUMBERED = /^wal_(\d{8,})\.log(?:\.|$)/;

/** One file read on its own (`readSegment`). Its number comes from its name when it has one. */
export function singleSegment(fs: WalFs, file: string): SegmentInfo {
  let stat: ReturnType<WalFs['stat']>;
  try {
    stat = fs.stat(file);
  } catch (error) {
    throw ioError('stat', file, error);
  }
  if (!stat.isFile) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${file} to be a segment file, found ${stat.isDirectory ? 'a directory' : 'something else'}`,
    );
  }
  const match = NUMBERED.exec(path.basename(file));
  const n = match ? Number(match[1]) : Number.NaN;
  return readInfo(fs, file, Number.isSafeInteger(n) ? n : null);
}

function readInfo(fs: WalFs, file: string, segmentNumber: number | null): SegmentInfo {
  const fd = io('open', file, () => fs.open(file, 'r'));
  try {
    const size = io('stat', file, () => fs.fsize(fd));
    const decoded = decodeSegmentHeader(readAt(fs, fd, 0, SEGMENT_HEADER_SIZE, file));
    const header = isBadSegmentHeader(decoded) ? null : decoded;
    return {
      segmentNumber: segmentNumber ?? header?.segmentNumber ?? 0,
      file,
      size,
      header,
      headerDetail: isBadSegmentHeader(decoded) ? decoded.detail : '',
      checkNumber: segmentNumber !== null,
    };
  } finally {
    closeQuietly(fs, fd);
  }
}
