// What the tests of replay after a repair share: a log k0..k8 whose last
// segment can be made unreadable, so that only a floor lets repair go on.
import { HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import type { Wal } from '@wal/fs';
import type { Memtable } from '@wal/memtable';

export const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : Buffer.from(b).toString();

/** What replay's incident check sets, to compare whole. */
export const state = (table: Memtable) => ({
  lastSequence: table.lastSequence,
  incident: table.incident,
});

export function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[at] = (out[at] as number) ^ mask;
  return out;
}

/** Magic, salt and the first frame's length rotted: no frame of the segment reads under any salt. */
export function unreadable(bytes: Uint8Array): Uint8Array {
  let out = flip(bytes, 0);
  out = flip(out, HEADER_SALT_OFFSET);
  return flip(out, SEGMENT_HEADER_SIZE, 0x40);
}

/** A rotted sector at the start: the whole header (segment number and log id too) and the first frame. */
export function headerGone(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.fill(0xa5, 0, SEGMENT_HEADER_SIZE + 16);
  return out;
}

/** Puts k0..k8 in segments [0,1] [2,3,4] [5..8]; returns the last segment's file. */
export async function nineEntries(wal: Wal): Promise<string> {
  for (let i = 0; i < 9; i++) {
    await wal.put(`k${i}`, `v${i}`);
    if (i === 1 || i === 4) await wal.rotate();
  }
  return wal.file;
}
