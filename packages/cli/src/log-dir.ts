import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE, parseSegmentFileName } from '@wal/fs';
import { QUARANTINE_DIR } from '@wal/recovery';
import { CommandError, UsageError } from './errors.js';

/**
 * True for a name only a log directory holds: a segment, a segment's
 * `.broken` or `.tmp` sibling, the lock, or repair's quarantine folder. A log
 * whose every segment repair moved aside is still a log: an empty one.
 */
function isLogFile(name: string): boolean {
  if (name === QUARANTINE_DIR || name === LOCK_FILE) return true;
  return parseSegmentFileName(name.replace(/(\.log)\..*$/, '$1')) !== undefined;
}

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
      throw new UsageError(`${dir}: expected a log directory, found a file`, { help: false });
    }
    names = fs.readdirSync(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fail = (what: string) => new UsageError(`${dir}: ${what}`, { help: false, cause: error });
    if (code === 'ENOENT') throw fail('no such directory');
    if (code === 'ENOTDIR') throw fail('a path component is not a directory');
    if (code === 'EACCES' || code === 'EPERM') {
      throw new CommandError(`${dir}: permission denied (${code})`, { cause: error });
    }
    throw error;
  }
  if (!names.some(isLogFile)) {
    throw new UsageError(`${dir}: expected a log (wal_NNNNNNNN.log files), found none`, {
      help: false,
    });
  }
  return resolved;
}
