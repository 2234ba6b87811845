import path from 'node:path';
import { LOCK_FILE, type WalFs } from '@wal/fs';
import { errnoOf } from '@wal/fs/internal';
import { listSegmentFiles, parseSegmentFileName, segmentOfFile } from '@wal/fs/segments';
import { QUARANTINE_DIR } from '@wal/recovery';
import type { Context } from './command.js';
import { CommandError, UsageError } from './errors.js';
import { shellArg } from './output.js';

/** What a command reads: a log directory, or one segment file on its own. */
export interface Target {
  kind: 'dir' | 'file';
  /** The path as given, for messages and suggested commands. */
  arg: string;
  /** The absolute path. */
  path: string;
}

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
 * Checks the command's one path before anything is read (and records it in
 * `context.target`, for error messages): a directory that
 * holds a log, or (when `files`) a file. A missing path, or a directory
 * with no log in it (a mistyped or unmounted path), is a failure (exit 3),
 * never an empty log.
 */
export async function resolveTarget(
  context: Context,
  command: string,
  arg: string | undefined,
  files: boolean,
): Promise<Target> {
  const target = await checkPath(context.fs, command, arg, files);
  context.target = target;
  return target;
}

async function checkPath(
  fs: WalFs,
  command: string,
  arg: string | undefined,
  files: boolean,
): Promise<Target> {
  const what = files ? 'a log directory or a segment file' : 'a log directory';
  if (arg === undefined) throw new UsageError(`${command}: expected ${what}, found none`);
  const resolved = path.resolve(arg);
  try {
    const stat = await fs.stat(resolved);
    if (!stat.isDirectory) {
      if (files && stat.isFile) return { kind: 'file', arg, path: resolved };
      const found = stat.isFile ? 'a file' : 'something else';
      const hint = stat.isFile && !files ? `; for one file use wal verify ${shellArg(arg)}` : '';
      throw new UsageError(`${arg}: expected ${what}, found ${found}${hint}`, { help: false });
    }
    const names = await fs.readdir(resolved);
    if (!names.some(isLogFile)) {
      throw new CommandError(`${arg}: expected a log (wal_NNNNNNNN.log files), found none`);
    }
    return { kind: 'dir', arg, path: resolved };
  } catch (error) {
    if (error instanceof UsageError || error instanceof CommandError) throw error;
    throw pathError(arg, error);
  }
}

function pathError(arg: string, error: unknown): Error {
  const code = errnoOf(error);
  const fail = (what: string) => new CommandError(`${arg}: ${what}`, { cause: error });
  if (code === 'ENOENT') return fail('no such file or directory');
  if (code === 'ENOTDIR') return fail('a path component is not a directory');
  if (code === 'EACCES' || code === 'EPERM') return fail(`permission denied (${code})`);
  return fail(`expected to read it, found ${code ?? String(error)}`);
}

/** Bytes in the target's segment files: the total a progress line counts toward. */
export async function totalBytes(fs: WalFs, target: Target): Promise<number> {
  if (target.kind === 'file') return (await fs.stat(target.path)).size;
  let total = 0;
  for (const { file } of await listSegmentFiles(fs, target.path)) {
    total += await fs.stat(file).then(
      (s) => s.size,
      () => 0, // gone since it was listed: the command itself will say so
    );
  }
  return total;
}

/**
 * The log directory `wal repair` would mend for the target, as a shell
 * word; null for a file that is a copy (`.broken`, a quarantined segment,
 * another name), whose log is not beside it.
 */
export function repairArg(target: Target): string | null {
  if (target.kind === 'dir') return shellArg(target.arg);
  const name = path.basename(target.path);
  const parent = path.dirname(target.path);
  const inIncident =
    /^\d+$/.test(path.basename(parent)) && path.basename(path.dirname(parent)) === QUARANTINE_DIR;
  if (parseSegmentFileName(name) === undefined || inIncident) return null;
  return shellArg(path.dirname(target.arg));
}

/** The segment number a file's name gives (`wal_N.log`, `wal_N.log.broken`), if any. */
export const segmentOfTarget = (target: Target): number | null =>
  segmentOfFile(target.path) ?? null;
