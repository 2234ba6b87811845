import { ErrorCode, WalError } from '@wal/codec';
import { ioError, type WalFs } from '@wal/fs';

export { closeQuietly, io, ioError, readAt, writeFully } from '@wal/fs';

/**
 * `true` when `dir` is a directory, `false` when nothing is there (an empty
 * log). A file, or a path through a file, is `WAL_INVALID_ARGUMENT`.
 */
export function isDirectory(fs: WalFs, dir: string): boolean {
  let stat: ReturnType<WalFs['stat']>;
  try {
    stat = fs.stat(dir);
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') throw notADirectory(dir, 'a path through a file');
    throw ioError('stat', dir, error);
  }
  if (!stat.isDirectory) throw notADirectory(dir, stat.isFile ? 'a file' : 'something else');
  return true;
}

function notADirectory(dir: string, found: string): WalError {
  return new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${dir} to be a log directory, found ${found}`,
  );
}
