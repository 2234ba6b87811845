import { readU32, readU64 } from './bytes.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  FRAME_HEADER_SIZE,
  MAX_SEQUENCE,
  MIN_RECORD_BYTES,
  OP_HEADER_SIZE,
  OpKind,
  RECORD_PREFIX_SIZE,
  RecordType,
  VALUE_LENGTH_SIZE,
} from './constants.js';
import type { DamageReason } from './errors.js';
import { frameChecksum, type WalEntry, type WalRecord } from './record.js';

/** The outcome of decoding one frame in place. */
export type FrameResult =
  | { status: 'record'; size: number; record: WalRecord }
  | { status: 'incomplete' }
  | { status: 'damage'; reason: DamageReason; detail: string };

const INCOMPLETE: FrameResult = { status: 'incomplete' };

/**
 * Decodes the frame that starts at `buf[start]`, looking no further than `end`.
 *
 * Returns `incomplete` when the frame header, or the record its length
 * announces, extends past `end`: the caller decides whether more bytes can
 * come. The length is checked against `maxRecordBytes` before anything else,
 * so a damaged length is never an allocation or an out-of-bounds read.
 *
 * Keys and values are views into `buf`, not copies.
 */
export function decodeFrameAt(
  buf: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
): FrameResult {
  if (end - start < FRAME_HEADER_SIZE) return INCOMPLETE;
  const length = readU32(buf, start);
  const storedCrc = readU32(buf, start + 4);
  if (length === 0 && storedCrc === 0) {
    return damage('zero-fill', 'expected a frame header, found zero bytes');
  }
  if (length < MIN_RECORD_BYTES || length > maxRecordBytes) {
    return damage(
      'bad-length',
      `expected a record length in [${MIN_RECORD_BYTES}, ${maxRecordBytes}], found ${length}`,
    );
  }
  const recordEnd = start + FRAME_HEADER_SIZE + length;
  if (recordEnd > end) return INCOMPLETE;
  const actualCrc = frameChecksum(buf, start, recordEnd);
  if (actualCrc !== storedCrc) {
    return damage(
      'checksum-mismatch',
      `expected CRC ${hex32(storedCrc)} (stored), found ${hex32(actualCrc)} (computed)`,
    );
  }
  return decodeRecord(buf, start + FRAME_HEADER_SIZE, recordEnd);
}

// The record passed its CRC, so damage found here was written that way:
// a bug or a foreign writer, not a torn write.
function decodeRecord(buf: Uint8Array, start: number, end: number): FrameResult {
  const type = buf[start] as number;
  if (type !== RecordType.Batch) {
    return damage('unknown-type', `expected record type ${RecordType.Batch}, found ${type}`);
  }
  const firstSequence = readU64(buf, start + 1);
  const count = readU32(buf, start + 9);
  if (firstSequence < 0) {
    return damage('bad-sequence', 'expected a first sequence below 2^53, found a larger one');
  }
  if (count === 0) return damage('bad-length', 'expected at least one op, found 0');
  // Not `firstSequence + count - 1`: above 2^53 that sum rounds back into range.
  if (count - 1 > MAX_SEQUENCE - firstSequence) {
    return damage(
      'bad-sequence',
      `expected sequences below 2^53, found ${count} ops from ${firstSequence}`,
    );
  }
  const entries: WalEntry[] = [];
  let p = start + RECORD_PREFIX_SIZE;
  for (let i = 0; i < count; i++) {
    if (end - p < OP_HEADER_SIZE) return opOverrun(i, count);
    const kind = buf[p] as number;
    const keyLength = readU32(buf, p + 1);
    p += OP_HEADER_SIZE;
    if (keyLength > end - p) return opOverrun(i, count);
    const key = buf.subarray(p, p + keyLength);
    p += keyLength;
    const sequence = firstSequence + i;
    if (kind === OpKind.Put) {
      if (end - p < VALUE_LENGTH_SIZE) return opOverrun(i, count);
      const valueLength = readU32(buf, p);
      p += VALUE_LENGTH_SIZE;
      if (valueLength > end - p) return opOverrun(i, count);
      entries.push({ sequence, type: 'put', key, value: buf.subarray(p, p + valueLength) });
      p += valueLength;
    } else if (kind === OpKind.Delete) {
      entries.push({ sequence, type: 'delete', key });
    } else {
      return damage('unknown-type', `expected op kind 1 or 2, found ${kind} in op ${i}`);
    }
  }
  if (p !== end) {
    return damage(
      'bad-length',
      `expected ${count} ops to fill the record, found ${end - p} bytes left`,
    );
  }
  const size = end - start + FRAME_HEADER_SIZE;
  return { status: 'record', size, record: { firstSequence, entries } };
}

/**
 * The offset of the next valid frame in `buf[from..end)`, or -1. A candidate
 * whose record would extend past `end` is not valid.
 */
export function findNextFrame(
  buf: Uint8Array,
  from: number,
  end: number,
  maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
): number {
  for (let p = from; p + FRAME_HEADER_SIZE <= end; p++) {
    if (!mayStartFrame(buf, p, end, maxRecordBytes)) continue;
    if (decodeFrameAt(buf, p, end, maxRecordBytes).status === 'record') return p;
  }
  return -1;
}

/**
 * False when no valid frame can start at `buf[start]`, judged from the bytes
 * before `end` without a CRC: the length is out of range, the record type is
 * not a batch, or the op count is 0 or more than the record can hold. True
 * when the frame may be valid, or when too few bytes are there to tell.
 *
 * The resync scan calls it at every offset of a damaged region. Without it,
 * each offset whose 4 bytes read as a plausible length would cost a CRC over
 * up to `maxRecordBytes`; random bytes pass it about once in 10^8.
 */
export function mayStartFrame(
  buf: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes: number,
): boolean {
  if (end - start < FRAME_HEADER_SIZE) return true;
  const length = readU32(buf, start);
  if (length < MIN_RECORD_BYTES || length > maxRecordBytes) return false;
  if (end - start < FRAME_HEADER_SIZE + RECORD_PREFIX_SIZE) return true;
  if (buf[start + FRAME_HEADER_SIZE] !== RecordType.Batch) return false;
  const count = readU32(buf, start + FRAME_HEADER_SIZE + 9);
  return count >= 1 && count <= (length - RECORD_PREFIX_SIZE) / OP_HEADER_SIZE;
}

function opOverrun(index: number, count: number): FrameResult {
  return damage('bad-length', `expected ${count} ops inside the record, op ${index} overruns it`);
}

function damage(reason: DamageReason, detail: string): FrameResult {
  return { status: 'damage', reason, detail };
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
