import path from 'node:path';
import { encodeSegmentHeader, type SegmentHeader } from '@wal/codec';
import type { WalFs } from '../wal-fs.js';
import { closeQuietly, io, writeFully } from './io.js';
import { CREATING_SUFFIX, segmentFileName } from './names.js';

/**
 * Creates segment `header.segment` in `dir` and resolves to its handle,
 * open for reading and writing (the fsyncgate salvage reads it back).
 *
 * The header is written and fdatasync'ed under a temporary name, then the
 * file is renamed and the directory fsynced. A crash at any point leaves
 * either no segment or a valid header-only one, never a half-made file
 * under a segment name.
 */
export async function createSegment(
  fs: WalFs,
  dir: string,
  header: SegmentHeader,
): Promise<{ fd: number; file: string }> {
  const file = path.join(dir, segmentFileName(header.segment));
  const temp = file + CREATING_SUFFIX;
  const bytes = encodeSegmentHeader(header);
  const fd = await io('create segment', temp, () => fs.open(temp, 'wx+'));
  try {
    await writeFully(fs, fd, bytes, 0, temp);
    await io('fdatasync', temp, () => fs.fdatasync(fd));
    await io('rename segment', temp, () => fs.rename(temp, file));
    await io('fsync directory', dir, () => fs.fsyncDir(dir));
  } catch (error) {
    await closeQuietly(fs, fd);
    try {
      await fs.unlink(temp);
    } catch {
      // Best effort: a leftover .tmp file is removed by the next open.
    }
    throw error;
  }
  return { fd, file };
}

/** Removes `.tmp` files of segment creations that did not finish: they never held a record. */
export async function removeUnfinishedSegments(
  fs: WalFs,
  dir: string,
  names: string[],
): Promise<void> {
  for (const name of names) {
    if (!name.endsWith(CREATING_SUFFIX) || !name.startsWith('wal_')) continue;
    const file = path.join(dir, name);
    await io('remove unfinished segment', file, () => fs.unlink(file));
  }
}
