import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import { errnoOf, io, ioError } from './segments/io.js';
import type { WalFs } from './wal-fs.js';

/**
 * Creates the log directory `dir` if missing; refuses a path that is (or
 * passes through) a file.
 *
 * A new directory's entry, like a new file's, is durable only once its
 * parent is fsynced: the parent of each directory made is fsynced, top down,
 * or a power loss could take the log (and its synced records) away with it.
 */
export async function prepareDirectory(fs: WalFs, dir: string): Promise<void> {
  const stat = await statIfExists(fs, dir);
  if (stat && !stat.isDirectory) {
    throw new WalError(ErrorCode.INVALID_ARGUMENT, `expected a directory at ${dir}, found a file`);
  }
  if (stat) return;
  const made = [dir];
  for (let d = path.dirname(dir); d !== path.dirname(d) && !(await statIfExists(fs, d)); ) {
    made.push(d);
    d = path.dirname(d);
  }
  await io('create directory', dir, () => fs.mkdirp(dir));
  for (const d of made.reverse()) {
    const parent = path.dirname(d);
    await io('fsync directory', parent, () => fs.fsyncDir(parent));
  }
}

/**
 * Makes the directory state open relies on durable before anything is
 * acknowledged: the log directory's entries (segments an earlier writer
 * created or removed, whose directory fsync failed or never ran because it
 * was killed), and its own entry in its parent, and so on up: an earlier
 * `Wal.open` may have created the whole path. An ancestor this process may
 * not open (EACCES) cannot be fsynced by anyone here and is skipped.
 */
export async function syncDirectoryState(fs: WalFs, dir: string): Promise<void> {
  await io('fsync directory', dir, () => fs.fsyncDir(dir));
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    const parent = path.dirname(d);
    try {
      await fs.fsyncDir(parent);
    } catch (error) {
      const code = errnoOf(error);
      if (code !== 'EACCES' && code !== 'EPERM') throw ioError('fsync directory', parent, error);
    }
  }
}

async function statIfExists(
  fs: WalFs,
  file: string,
): Promise<Awaited<ReturnType<WalFs['stat']>> | undefined> {
  try {
    return await fs.stat(file);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return undefined;
    // As listSegmentFiles reports it: the caller gave a bad path, not a failing disk.
    if (code === 'ENOTDIR') {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected a directory at ${file}, found a path through a file`,
        { cause: error },
      );
    }
    throw ioError('stat', file, error);
  }
}
