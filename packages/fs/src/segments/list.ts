import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '../wal-fs.js';
import { errnoOf, io, ioError } from './io.js';
import { parseSegmentFileName } from './names.js';

/** A segment file found in a log directory. */
export interface SegmentFile {
  /** The number in its name. */
  segment: number;
  /** Its path. */
  file: string;
}

/**
 * The segment files in `dir`, sorted by number. Other files (`.broken`
 * copies, the lock, `.tmp` files, `quarantine/`) are ignored. Rejects with
 * `WAL_NOT_FOUND` when `dir` does not exist, `WAL_INVALID_ARGUMENT` when it
 * is not a directory, and `WAL_IO_ERROR` when it cannot be read.
 */
export async function listSegmentFiles(fs: WalFs, dir: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') throw notFound(dir);
    if (code === 'ENOTDIR') {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ${dir} to be a log directory, found a file (or a path through one)`,
      );
    }
    throw ioError('read directory', dir, error);
  }
  const files: SegmentFile[] = [];
  for (const name of names) {
    const segment = parseSegmentFileName(name);
    if (segment !== undefined) files.push({ segment, file: path.join(dir, name) });
  }
  return files.sort((a, b) => a.segment - b.segment);
}

/** The names in `dir` (for picking free names beside segments). */
export function readNames(fs: WalFs, dir: string): Promise<string[]> {
  return io('read directory', dir, () => fs.readdir(dir));
}

/** `WAL_NOT_FOUND` for a log directory that does not exist. */
export function notFound(dir: string): WalError {
  return new WalError(
    ErrorCode.NOT_FOUND,
    `expected a log directory at ${dir}, found nothing there (check the path; Wal.open creates it)`,
  );
}
