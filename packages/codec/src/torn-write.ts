import { readU32 } from './bytes.js';
import { FRAME_HEADER_SIZE, MIN_RECORD_BYTES, SECTOR_SIZE } from './constants.js';

/**
 * True when a damaged frame looks like a torn write: its header is zeros, or
 * the part of it that one file sector holds is all zeros. Each part runs from
 * a sector boundary (or the frame's start) to the next boundary (or the
 * frame's end), so the unsynced end of a sector the frame starts in counts
 * too. That is what a power loss leaves when the file's size reached the disk
 * but some of its unsynced sectors did not: they read as zeros.
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
  let start = 0;
  let end = SECTOR_SIZE - (fileOffset % SECTOR_SIZE);
  while (start < extent) {
    if (isZero(frame, start, Math.min(end, extent))) return true;
    start = end;
    end += SECTOR_SIZE;
  }
  return false;
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
