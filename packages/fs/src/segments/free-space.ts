import type { DamageReason } from '@wal/codec';
import type { WalFs } from '../wal-fs.js';
import { readAt } from './io.js';

/** True when `region`, a damaged region a decoder found, is zeros to the end of the file (`size`). */
export function zerosToEnd(
  region: { reason: DamageReason; offset: number; bytes: number },
  size: number,
): boolean {
  return region.reason === 'zero-fill' && region.offset + region.bytes >= size;
}

/**
 * The free-space rule, the one every reader applies: in the log's last
 * segment (`last`), zeros from the end of its last accepted frame to the end
 * of the file are room the writer preallocated (or a size that reached the
 * disk before its data), not damage. In any other segment the same zeros
 * are a missing seal (a seal cuts the zeros before it is written, so no
 * sealed segment has any); zeros with bytes after them are `zero-fill`
 * damage for the tail rule to judge.
 */
export function isFreeSpace(
  region: { reason: DamageReason; offset: number; bytes: number },
  size: number,
  last: boolean,
): boolean {
  return last && zerosToEnd(region, size);
}

// Bytes per read while looking for the end of a run of zeros.
const ZEROS = new Uint8Array(64 * 1024);

/**
 * Where the run of zeros at `offset` of the open file `fd` ends: at its
 * first non-zero byte, else at `size` (or where the file ends, when it was
 * cut since). For readers that decode frame by frame (a tail): the region
 * from `offset` to it is what {@link isFreeSpace} judges.
 */
export async function zeroRunEnd(
  fs: WalFs,
  fd: number,
  file: string,
  offset: number,
  size: number,
): Promise<number> {
  for (let p = offset; p < size; ) {
    const chunk = await readAt(fs, fd, p, Math.min(ZEROS.length, size - p), file);
    if (chunk.length === 0) return p;
    // A whole chunk of zeros is one compare; only a chunk with data is walked.
    if (Buffer.compare(chunk, ZEROS.subarray(0, chunk.length)) !== 0) {
      let i = 0;
      while (chunk[i] === 0) i++;
      return p + i;
    }
    p += chunk.length;
  }
  return size;
}
