import { readU32, readU64 } from './bytes.js';
import {
  BATCH_COUNT_OFFSET,
  BATCH_FIRST_SEQUENCE_OFFSET,
  BATCH_PREFIX_SIZE,
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  HOLE_FIRST_SEQUENCE_OFFSET,
  HOLE_INCIDENT_OFFSET,
  HOLE_NEXT_SEQUENCE_OFFSET,
  HOLE_RECORD_SIZE,
  MARK_NEXT_SEQUENCE_OFFSET,
  MARK_RECORD_SIZE,
  MAX_SEQUENCE,
  MIN_RECORD_BYTES,
  OP_HEADER_SIZE,
  OP_KEY_LENGTH_OFFSET,
  OP_KIND_OFFSET,
  OpKind,
  RECORD_SYNCED_OFFSET,
  RecordType,
  SEAL_BYTES_OFFSET,
  SEAL_NEXT_SEQUENCE_OFFSET,
  SEAL_RECORD_SIZE,
  SEAL_RECORDS_OFFSET,
  SEGMENT_HEADER_SIZE,
  VALUE_LENGTH_SIZE,
} from './constants.js';
import type { DamageReason } from './errors.js';
import { frameChecksum, type Hole, type Seal, type WalEntry } from './record.js';

/** A record as decoded from a frame. Every type carries the writer's `synced` watermark. */
export type DecodedRecord =
  | { type: 'batch'; synced: number; firstSequence: number; entries: WalEntry[] }
  | ({ type: 'seal'; synced: number } & Seal)
  | ({ type: 'hole'; synced: number } & Hole)
  | { type: 'mark'; synced: number; nextSequence: number };

/** A frame decoded in place: at file offset `offset`, `size` bytes with its header. */
export interface DecodedFrame {
  kind: 'frame';
  /** File offset of the frame's first byte (the context's `frameOffset`). */
  offset: number;
  /** Frame size in bytes, header included. */
  size: number;
  record: DecodedRecord;
}

/** The outcome of decoding one frame in place. */
export type FrameResult =
  | DecodedFrame
  | { kind: 'incomplete' }
  | { kind: 'damage'; reason: DamageReason; detail: string };

/** What decoding a frame needs besides its bytes. */
export interface FrameReadContext {
  /** Largest record length accepted: the segment header's `maxRecordBytes`. */
  maxRecordBytes: number;
  /** `saltSeed(header.salt)`. */
  seed: number;
  /** File offset of the frame's first byte. */
  frameOffset: number;
}

const INCOMPLETE: FrameResult = { kind: 'incomplete' };

/**
 * Decodes the frame that starts at `buf[start]`, looking no further than `end`.
 *
 * Returns `incomplete` when the frame header, or the record its length
 * announces, extends past `end`: the caller decides whether more bytes can
 * come. The length is checked against `maxRecordBytes` before anything else,
 * so a damaged length is never an allocation or an out-of-bounds read.
 * The CRC covers the segment's salt, so a frame from another segment (or a
 * frame stored inside a value) does not validate here.
 *
 * Keys and values are views into `buf`'s buffer, not copies.
 */
export function decodeFrameAt(
  buf: Uint8Array,
  start: number,
  end: number,
  context: FrameReadContext,
): FrameResult {
  return decodeFrame(buf, start, end, context, false);
}

/**
 * {@link decodeFrameAt}, for a decoder that may have checked the frame's CRC
 * already (`crcChecked`: with its neighbours, see crc-window.ts).
 */
export function decodeFrame(
  buf: Uint8Array,
  start: number,
  end: number,
  context: FrameReadContext,
  crcChecked: boolean,
): FrameResult {
  if (end - start < FRAME_HEADER_SIZE) return INCOMPLETE;
  const length = readU32(buf, start);
  const storedCrc = readU32(buf, start + FRAME_CRC_OFFSET);
  if (length === 0 && storedCrc === 0) {
    return damage('zero-fill', 'expected a frame header, found zero bytes');
  }
  if (length < MIN_RECORD_BYTES || length > context.maxRecordBytes) {
    return damage(
      'bad-length',
      `expected a record length in [${MIN_RECORD_BYTES}, ${context.maxRecordBytes}], found ${length}`,
    );
  }
  const recordEnd = start + FRAME_HEADER_SIZE + length;
  if (recordEnd > end) return INCOMPLETE;
  if (!crcChecked) {
    const actualCrc = frameChecksum(buf, start, recordEnd, context.seed);
    if (actualCrc !== storedCrc) {
      return damage(
        'checksum-mismatch',
        `expected CRC ${hex32(storedCrc)} (stored), found ${hex32(actualCrc)} (computed)`,
      );
    }
  }
  return decodeRecord(buf, start + FRAME_HEADER_SIZE, recordEnd, context.frameOffset);
}

// The record passed its CRC, so damage found here was written that way:
// a bug or a foreign writer, not a torn write or bit rot.
function decodeRecord(
  buf: Uint8Array,
  start: number,
  end: number,
  frameOffset: number,
): FrameResult {
  const type = buf[start] as number;
  const length = end - start;
  const synced = readU32(buf, start + RECORD_SYNCED_OFFSET);
  if (synced < SEGMENT_HEADER_SIZE || synced > frameOffset) {
    return damage(
      'bad-sequence',
      `expected a synced watermark in [${SEGMENT_HEADER_SIZE}, ${frameOffset}] (the frame's offset), found ${synced}`,
    );
  }
  const size = length + FRAME_HEADER_SIZE;
  if (type === RecordType.Batch) return decodeBatch(buf, start, end, synced, frameOffset);
  if (type === RecordType.Seal) {
    if (length !== SEAL_RECORD_SIZE) return sizeMismatch('seal', SEAL_RECORD_SIZE, length);
    const nextSequence = readU64(buf, start + SEAL_NEXT_SEQUENCE_OFFSET);
    const bytes = readU32(buf, start + SEAL_BYTES_OFFSET);
    if (nextSequence < 0) return tooLarge('next sequence');
    if (bytes !== frameOffset + size) {
      return damage(
        'bad-seal',
        `expected a seal to give the segment's length as ${frameOffset + size} (where it ends), found ${bytes}`,
      );
    }
    const records = readU32(buf, start + SEAL_RECORDS_OFFSET);
    const record = { type: 'seal' as const, synced, nextSequence, records, bytes };
    return { kind: 'frame', offset: frameOffset, size, record };
  }
  if (type === RecordType.Hole) {
    if (length !== HOLE_RECORD_SIZE) return sizeMismatch('hole', HOLE_RECORD_SIZE, length);
    const firstSequence = readU64(buf, start + HOLE_FIRST_SEQUENCE_OFFSET);
    const nextSequence = readU64(buf, start + HOLE_NEXT_SEQUENCE_OFFSET);
    if (firstSequence < 0 || nextSequence < 0) return tooLarge('hole sequence');
    if (nextSequence <= firstSequence) {
      return damage(
        'bad-sequence',
        `expected a hole to end after it starts (${firstSequence}), found ${nextSequence}`,
      );
    }
    const incident = readU32(buf, start + HOLE_INCIDENT_OFFSET);
    const record = { type: 'hole' as const, synced, firstSequence, nextSequence, incident };
    return { kind: 'frame', offset: frameOffset, size, record };
  }
  if (type === RecordType.Mark) {
    if (length !== MARK_RECORD_SIZE) return sizeMismatch('mark', MARK_RECORD_SIZE, length);
    const nextSequence = readU64(buf, start + MARK_NEXT_SEQUENCE_OFFSET);
    if (nextSequence < 0) return tooLarge('next sequence');
    const record = { type: 'mark' as const, synced, nextSequence };
    return { kind: 'frame', offset: frameOffset, size, record };
  }
  return damage('unknown-type', `expected a record type from 1 to 4, found ${type}`);
}

function decodeBatch(
  buf: Uint8Array,
  start: number,
  end: number,
  synced: number,
  frameOffset: number,
): FrameResult {
  if (end - start < BATCH_PREFIX_SIZE) {
    return damage(
      'bad-length',
      `expected a batch of at least ${BATCH_PREFIX_SIZE} bytes, found ${end - start}`,
    );
  }
  const firstSequence = readU64(buf, start + BATCH_FIRST_SEQUENCE_OFFSET);
  const count = readU32(buf, start + BATCH_COUNT_OFFSET);
  if (firstSequence < 0) return tooLarge('first sequence');
  if (count === 0) return damage('bad-length', 'expected at least one op, found 0');
  // Not `firstSequence + count`: above 2^53 that sum rounds back into range.
  if (count > MAX_SEQUENCE - firstSequence) {
    return damage(
      'bad-sequence',
      `expected sequences below 2^53 - 1, found ${count} ops from ${firstSequence}`,
    );
  }
  // Pushed, not preallocated: a packed array, and no allocation sized by an unchecked count.
  const entries: WalEntry[] = [];
  // Views made with the constructor: subarray() costs twice as much (its species lookup).
  const buffer = buf.buffer;
  const base = buf.byteOffset;
  let p = start + BATCH_PREFIX_SIZE;
  for (let i = 0; i < count; i++) {
    if (end - p < OP_HEADER_SIZE) return opOverrun(i, count);
    const kind = buf[p + OP_KIND_OFFSET] as number;
    const keyLength = readU32(buf, p + OP_KEY_LENGTH_OFFSET);
    p += OP_HEADER_SIZE;
    if (keyLength > end - p) return opOverrun(i, count);
    const key = new Uint8Array(buffer, base + p, keyLength);
    p += keyLength;
    const sequence = firstSequence + i;
    if (kind === OpKind.Put) {
      if (end - p < VALUE_LENGTH_SIZE) return opOverrun(i, count);
      const valueLength = readU32(buf, p);
      p += VALUE_LENGTH_SIZE;
      if (valueLength > end - p) return opOverrun(i, count);
      const value = new Uint8Array(buffer, base + p, valueLength);
      entries.push({ sequence, type: 'put', key, value });
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
  const record = { type: 'batch' as const, synced, firstSequence, entries };
  return { kind: 'frame', offset: frameOffset, size, record };
}

/**
 * False when no valid frame can start at `buf[start]`, judged from the bytes
 * before `end` without a CRC: the length is out of range, the record type is
 * unknown, or a batch's op count is 0 or more than the record can hold. True
 * when the frame may be valid, or when too few bytes are there to tell.
 *
 * The resync scan calls it at every offset of a damaged region. Without it,
 * each offset whose 4 bytes read as a plausible length would cost a CRC over
 * up to `maxRecordBytes`.
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
  if (end - start <= FRAME_HEADER_SIZE) return true;
  const type = buf[start + FRAME_HEADER_SIZE] as number;
  if (type === RecordType.Seal) return length === SEAL_RECORD_SIZE;
  if (type === RecordType.Hole) return length === HOLE_RECORD_SIZE;
  if (type === RecordType.Mark) return length === MARK_RECORD_SIZE;
  if (type !== RecordType.Batch) return false;
  if (length < BATCH_PREFIX_SIZE + OP_HEADER_SIZE) return false;
  if (end - start < FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE) return true;
  const count = readU32(buf, start + FRAME_HEADER_SIZE + BATCH_COUNT_OFFSET);
  return count >= 1 && count <= (length - BATCH_PREFIX_SIZE) / OP_HEADER_SIZE;
}

function opOverrun(index: number, count: number): FrameResult {
  return damage('bad-length', `expected ${count} ops inside the record, op ${index} overruns it`);
}

function sizeMismatch(what: string, expected: number, found: number): FrameResult {
  return damage('bad-length', `expected a ${what} record of ${expected} bytes, found ${found}`);
}

function tooLarge(field: string): FrameResult {
  return damage('bad-sequence', `expected a ${field} below 2^53, found a larger one`);
}

function damage(reason: DamageReason, detail: string): FrameResult {
  return { kind: 'damage', reason, detail };
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
