import path from 'node:path';
import type { WalFs } from '../wal-fs.js';
import { READ_CHUNK_BYTES } from './frames.js';
import { closeQuietly, io, readAt, writeFully } from './io.js';
import { readNames } from './list.js';
import { CREATING_SUFFIX } from './names.js';

/**
 * Copies the byte ranges `[start, end)` of the open file `source` into a new
 * file `target`, each at the same offset (what lies between is a hole that
 * reads as zeros), makes it durable, and fsyncs its directory: bytes are
 * kept this way before anything cuts them from the log. The copy is made
 * under a temporary name and renamed into place, so a crash never leaves a
 * partial copy under `target`: one that looked whole would mislead whoever
 * inspects it. A leftover `wal_N.log.broken.tmp` is removed by the next open.
 */
export async function copyRangeDurably(
  fs: WalFs,
  fd: number,
  source: string,
  ranges: readonly (readonly [number, number])[],
  target: string,
): Promise<void> {
  const temp = `${target}${CREATING_SUFFIX}`;
  const out = await io('create', temp, () => fs.open(temp, 'wx+'));
  try {
    for (const [start, end] of ranges) {
      for (let p = start; p < end; p += READ_CHUNK_BYTES) {
        const bytes = await readAt(fs, fd, p, Math.min(READ_CHUNK_BYTES, end - p), source);
        await writeFully(fs, out, bytes, p, temp);
      }
    }
    await io('fdatasync', temp, () => fs.fdatasync(out));
  } finally {
    await closeQuietly(fs, out);
  }
  await io('rename', temp, () => fs.rename(temp, target));
  await fsyncDirOf(fs, target);
}

/**
 * Writes `bytes` as the file `target`, durably: under a temporary name,
 * fdatasync'ed, renamed into place (replacing what was there) and the
 * directory fsynced. A crash leaves the old file or the new one, whole.
 */
export async function writeFileDurably(
  fs: WalFs,
  target: string,
  bytes: Uint8Array,
): Promise<void> {
  const temp = `${target}${CREATING_SUFFIX}`;
  const fd = await io('create', temp, () => fs.open(temp, 'wx+'));
  try {
    await writeFully(fs, fd, bytes, 0, temp);
    await io('fdatasync', temp, () => fs.fdatasync(fd));
  } finally {
    await closeQuietly(fs, fd);
  }
  await io('rename', temp, () => fs.rename(temp, target));
  await fsyncDirOf(fs, target);
}

/** Cuts the open file to `length` bytes and makes the cut durable. */
export async function truncateDurably(
  fs: WalFs,
  fd: number,
  file: string,
  length: number,
): Promise<void> {
  await io('truncate', file, () => fs.ftruncate(fd, length));
  await io('fdatasync', file, () => fs.fdatasync(fd));
}

/** fsyncs the directory holding `file`. */
export function fsyncDirOf(fs: WalFs, file: string): Promise<void> {
  const dir = path.dirname(file);
  return io('fsync directory', dir, () => fs.fsyncDir(dir));
}

/**
 * A free name beside `file` for bytes cut from it: `wal_N.log.broken`, then
 * `wal_N.log.broken.1`, `.2`, ... Earlier cuts are never overwritten.
 */
export async function brokenFilePath(fs: WalFs, file: string): Promise<string> {
  const taken = new Set(await readNames(fs, path.dirname(file)));
  const base = `${path.basename(file)}.broken`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}.${i}`;
  return path.join(path.dirname(file), name);
}
