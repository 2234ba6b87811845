import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { closeQuietly, io, ioError, isDirectory, readAt, writeFully } from './io.js';
import { checkPath, parseRepairOptions } from './options.js';
import { planRepair, QUARANTINE_DIR, type RepairAction } from './repair-plan.js';
import { READ_CHUNK_BYTES } from './segment-frames.js';
import type { CommonOptions } from './types.js';

/** Options of {@link repair}. */
export interface RepairOptions extends CommonOptions {
  /** Work out and return the plan, changing nothing (no lock is taken either). */
  dryRun?: boolean;
}

/** What {@link repair} did (or, with `dryRun`, would do). */
export interface RepairResult {
  dir: string;
  dryRun: boolean;
  /** In order. Empty when the log was already clean. */
  actions: RepairAction[];
  /** The sequence a writer will use next on the repaired log. */
  nextSequence: number;
  /** The last sequence left in the log, or null. */
  lastSequence: number | null;
}

/**
 * Makes the log a valid prefix of itself, deleting nothing:
 * - a torn tail is cut, its bytes kept in `wal_N.log.broken` beside it;
 * - at any other damage or gap, the segment is copied whole into
 *   `quarantine/` and cut at the damage (moved whole for a gap), and every
 *   later segment is moved into `quarantine/`.
 *
 * Every copy is fdatasync'ed and its directory fsynced before the log is
 * cut, so a crash during repair loses nothing and leaves a log that repair
 * can finish. Afterwards {@link verify} is clean and `Wal.open` continues
 * from `nextSequence`. Sequences in `quarantine/` may then be reused by new
 * writes: read it with `scanLog(quarantineDir, { mode: 'skip-corrupted' })`
 * to salvage what it holds before they are.
 *
 * Takes the writer lock (`WAL_LOCKED` if a writer holds it). Never repairs
 * on an I/O error: `WAL_IO_ERROR` is thrown instead.
 */
export async function repair(dir: string, options?: RepairOptions): Promise<RepairResult> {
  const resolvedDir = path.resolve(checkPath(dir, 'dir'));
  const { fs, maxRecordBytes, dryRun } = parseRepairOptions(options);
  const result: RepairResult = {
    dir: resolvedDir,
    dryRun,
    actions: [],
    nextSequence: 0,
    lastSequence: null,
  };
  if (!isDirectory(fs, resolvedDir)) return result;
  const release = dryRun ? () => {} : lock(fs, resolvedDir);
  try {
    const plan = await planRepair(fs, resolvedDir, maxRecordBytes);
    Object.assign(result, {
      actions: plan.actions,
      nextSequence: plan.nextSequence,
      lastSequence: plan.lastSequence,
    });
    if (!dryRun) execute(fs, resolvedDir, plan.actions, plan.sizes);
  } finally {
    release();
  }
  return result;
}

function lock(fs: WalFs, dir: string): () => void {
  try {
    return fs.lock(dir);
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'ELOCKED') {
      throw new WalError(
        ErrorCode.LOCKED,
        `expected no writer on ${dir} during repair, found ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw ioError('lock', dir, error);
  }
}

// Order: keep the bytes durably, move later segments out (last first, so a
// crash leaves a prefix), make the moves durable, and only then cut.
function execute(
  fs: WalFs,
  dir: string,
  actions: RepairAction[],
  sizes: Map<string, number>,
): void {
  const quarantine = path.join(dir, QUARANTINE_DIR);
  const toQuarantine = actions.filter((a) => a.cause !== 'torn-tail');
  if (toQuarantine.length > 0) {
    io('create directory', quarantine, () => fs.mkdirp(quarantine));
    io('fsync directory', dir, () => fs.fsyncDir(dir));
  }
  for (const a of actions) {
    if (a.action !== 'cut') continue;
    // A torn tail keeps just the cut bytes; damage keeps the whole segment.
    const from = a.cause === 'torn-tail' ? a.offset : 0;
    copyDurably(fs, a.file, from, sizes.get(a.file) ?? a.offset + a.bytes, a.keptIn);
  }
  for (const a of [...actions].reverse()) {
    if (a.action === 'move') io('move', a.file, () => fs.rename(a.file, a.keptIn));
  }
  if (toQuarantine.length > 0) io('fsync directory', quarantine, () => fs.fsyncDir(quarantine));
  io('fsync directory', dir, () => fs.fsyncDir(dir));
  for (const a of actions) {
    if (a.action === 'cut') truncateDurably(fs, a.file, a.offset);
  }
}

function copyDurably(fs: WalFs, source: string, start: number, end: number, target: string): void {
  const input = io('open', source, () => fs.open(source, 'r'));
  try {
    const output = io('create', target, () => fs.open(target, 'wx'));
    try {
      for (let p = start; p < end; p += READ_CHUNK_BYTES) {
        const bytes = readAt(fs, input, p, Math.min(READ_CHUNK_BYTES, end - p), source);
        writeFully(fs, output, bytes, p - start, target);
      }
      io('fdatasync', target, () => fs.fdatasync(output));
    } finally {
      closeQuietly(fs, output);
    }
  } finally {
    closeQuietly(fs, input);
  }
  io('fsync directory', path.dirname(target), () => fs.fsyncDir(path.dirname(target)));
}

function truncateDurably(fs: WalFs, file: string, length: number): void {
  const fd = io('open', file, () => fs.open(file, 'r+'));
  try {
    io('truncate', file, () => fs.ftruncate(fd, length));
    io('fdatasync', file, () => fs.fdatasync(fd));
  } finally {
    closeQuietly(fs, fd);
  }
}
