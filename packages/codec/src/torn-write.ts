import { readU32 } from './bytes.js';
import { FRAME_HEADER_SIZE, MIN_RECORD_BYTES, SECTOR_SIZE } from './constants.js';

/**
 * True when a damaged frame looks like a torn write: its header is zeros, or
 * a sector-aligned run of zeros (to the sector's end or the frame's end) lies
 * inside it. That is what a power loss leaves when the file's size reached
 * the disk but some of its unsynced sectors did not.
 *
 * `frame` holds the damaged frame's bytes from its first byte (at least its
 * header, at most its announced extent; fewer if the file ends first).
 * `fileOffset` is where `frame[0]` sits in the file.
 *
 * Bit rot (flipped bits in synced data) does not look like this. Readers use
 * the distinction only in the last segment, to tell a torn tail followed by
 * frames that were never synced from damage in the middle of the log.
 */
export function looksTorn(frame: Uint8Array, fileOffset: number, maxRecordBytes: number): boolean {
  if (frame.length >= FRAME_HEADER_SIZE && isZero(frame, 0, FRAME_HEADER_SIZE)) return true;
  let extent = frame.length;
  if (frame.length >= 4) {
    const length = readU32(frame, 0);
    if (length >= MIN_RECORD_BYTES && length <= maxRecordBytes) {
      extent = Math.min(extent, FRAME_HEADER_SIZE + length);
    }
  }
  const firstSector = Math.ceil(fileOffset / SECTOR_SIZE) * SECTOR_SIZE - fileOffset;
  // A sector boundary at the frame's very start counts only via the header check above.
  for (let s = firstSector === 0 ? SECTOR_SIZE : firstSector; s < extent; s += SECTOR_SIZE) {
    if (isZero(frame, s, Math.min(s + SECTOR_SIZE, extent))) return true;
  }
  return false;
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
