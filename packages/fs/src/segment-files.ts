import path from 'node:path';
import { io } from './io-error.js';
import type { WalFs } from './wal-fs.js';

/** Segment files are `wal_<number>.log`, the number zero-padded to at least 8 digits. */
export function segmentFileName(segmentNumber: number): string {
  return `wal_${String(segmentNumber).padStart(8, '0')}.log`;
}

const SEGMENT_NAME = /^wal_(\d{8,})\.log$/;

/** The segment number in a file name, or undefined when it is not a segment file. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (!match) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A segment file found in a log directory. */
export interface SegmentFile {
  segmentNumber: number;
  name: string;
  path: string;
}

/**
 * The segment files in `dir`, sorted by number. Other files (`.broken`
 * copies, the lock, a `quarantine/` folder) are ignored. Throws
 * `WAL_IO_ERROR` when the directory cannot be read.
 */
export function listSegments(fs: WalFs, dir: string): SegmentFile[] {
  const segments: SegmentFile[] = [];
  for (const name of io('read directory', dir, () => fs.readdir(dir))) {
    const segmentNumber = parseSegmentFileName(name);
    if (segmentNumber !== undefined) {
      segments.push({ segmentNumber, name, path: path.join(dir, name) });
    }
  }
  return segments.sort((a, b) => a.segmentNumber - b.segmentNumber);
}

/**
 * A free name beside `segmentPath` for bytes cut from it:
 * `wal_N.log.broken`, then `wal_N.log.broken.1`, `.2`, ...
 * Earlier cuts are never overwritten.
 */
export function brokenFilePath(fs: WalFs, segmentPath: string): string {
  const dir = path.dirname(segmentPath);
  const taken = new Set(io('read directory', dir, () => fs.readdir(dir)));
  const base = `${path.basename(segmentPath)}.broken`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}.${i}`;
  return path.join(dir, name);
}
