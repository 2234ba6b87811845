import fs from 'node:fs';
import path from 'node:path';
import { parseSegmentFileName } from '@wal/fs';
import { UsageError } from './args.js';

/**
 * Checks that `dir` is a readable directory holding a log, so an operator
 * gets one clear line instead of an empty result for a mistyped path.
 */
export function checkLogDir(command: string, dir: string | undefined): string {
  if (dir === undefined) throw new UsageError(`${command}: expected a log directory, found none`);
  const resolved = path.resolve(dir);
  let names: string[];
  try {
    if (!fs.statSync(resolved).isDirectory()) {
      throw new UsageError(`${dir}: expected a log directory, found a file`);
    }
    names = fs.readdirSync(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${dir}: no such directory`);
    if (code === 'ENOTDIR') throw new UsageError(`${dir}: a path component is not a directory`);
    if (code === 'EACCES' || code === 'EPERM')
      throw new Error(`${dir}: permission denied`, { cause: error });
    throw error;
  }
  if (!names.some((n) => parseSegmentFileName(n) !== undefined)) {
    throw new UsageError(`${dir}: expected a log (wal_NNNNNNNN.log files), found none`);
  }
  return resolved;
}
