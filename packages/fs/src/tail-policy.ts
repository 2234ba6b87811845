import {
  type DecodeResult,
  decodeFrameAt,
  ErrorCode,
  FRAME_HEADER_SIZE,
  looksTorn,
  MAX_RECORD_BYTES_LIMIT,
  readU32,
  WalError,
} from '@wal/codec';
import { readAt } from './segment-io.js';
import type { WalFs } from './wal-fs.js';

/** A damaged region as the codec's decoder reports it. */
export type Damage = Extract<DecodeResult, { kind: 'damage' }>;

/**
 * The tail policy, one definition for the writer's open and for
 * @wal/recovery's `tolerate-tail`: damage in the LAST segment is a torn tail
 * when no valid frame follows it (the decoder's region then reaches the end
 * of the file), or when it looks like a torn write (zeroed sectors, see the
 * codec's `looksTorn`), since frames after a torn write were never synced.
 * Anything else is corruption. The damaged frame is read at most up to the
 * largest frame `maxRecordBytes` allows.
 */
export function isTornTail(
  fs: WalFs,
  fd: number,
  file: string,
  damage: Damage,
  fileSize: number,
  maxRecordBytes: number,
): boolean {
  if (damage.offset + damage.bytes >= fileSize) return true;
  const length = Math.min(damage.bytes, maxRecordBytes + FRAME_HEADER_SIZE);
  return looksTorn(readAt(fs, fd, damage.offset, length, file), damage.offset, maxRecordBytes);
}

/**
 * An intact frame longer than `maxRecordBytes` at `offset` was written under
 * a larger limit: an acknowledged record, not damage. Throws
 * `WAL_RECORD_TOO_LARGE` naming the limit needed, so it is neither skipped
 * nor cut as a torn tail. Returns when the bytes there are not such a frame.
 */
export function refuseOversizedRecord(
  fs: WalFs,
  fd: number,
  file: string,
  offset: number,
  fileSize: number,
  maxRecordBytes: number,
): void {
  const header = readAt(fs, fd, offset, FRAME_HEADER_SIZE, file);
  if (header.length < FRAME_HEADER_SIZE) return;
  const length = readU32(header, 0);
  const end = offset + FRAME_HEADER_SIZE + length;
  if (length <= maxRecordBytes || length > MAX_RECORD_BYTES_LIMIT || end > fileSize) return;
  const frame = readAt(fs, fd, offset, end - offset, file);
  if (decodeFrameAt(frame, 0, frame.length, MAX_RECORD_BYTES_LIMIT).status !== 'record') return;
  throw new WalError(
    ErrorCode.RECORD_TOO_LARGE,
    `expected records of at most ${maxRecordBytes} bytes (maxRecordBytes), found a valid ${length}-byte record in ${file} at offset ${offset}; use maxRecordBytes >= ${length}`,
  );
}
