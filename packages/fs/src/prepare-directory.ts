import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import { io, ioError } from './io-error.js';
import type { WalFs } from './wal-fs.js';

/**
 * Creates the log directory `dir` if missing; refuses a path that is a file.
 *
 * A new directory's entry, like a new file's, is durable only once its
 * parent is fsynced: the parent of each directory made is fsynced, top down,
 * or a power loss could take the log (and its synced records) away with it.
 */
export function prepareDirectory(fs: WalFs, dir: string): void {
  const stat = statIfExists(fs, dir);
  if (stat && !stat.isDirectory) {
    throw new WalError(ErrorCode.INVALID_ARGUMENT, `expected a directory at ${dir}, found a file`);
  }
  if (stat) return;
  const made = [dir];
  for (
    let d = path.dirname(dir);
    d !== path.dirname(d) && !statIfExists(fs, d);
    d = path.dirname(d)
  ) {
    made.push(d);
  }
  io('create directory', dir, () => fs.mkdirp(dir));
  for (const d of made.reverse()) {
    const parent = path.dirname(d);
    io('fsync directory', parent, () => fs.fsyncDir(parent));
  }
}

function statIfExists(fs: WalFs, file: string): ReturnType<WalFs['stat']> | undefined {
  try {
    return fs.stat(file);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw ioError('stat', file, error);
    return undefined;
  }
}
