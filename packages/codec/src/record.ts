import { isIndex, writeU32, writeU64 } from './bytes.js';
import {
  BATCH_COUNT_OFFSET,
  BATCH_FIRST_SEQUENCE_OFFSET,
  BATCH_PREFIX_SIZE,
  DEFAULT_MAX_RECORD_BYTES,
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  FRAME_LENGTH_OFFSET,
  HOLE_FIRST_SEQUENCE_OFFSET,
  HOLE_INCIDENT_OFFSET,
  HOLE_NEXT_SEQUENCE_OFFSET,
  HOLE_RECORD_SIZE,
  MARK_NEXT_SEQUENCE_OFFSET,
  MARK_RECORD_SIZE,
  MAX_SEQUENCE,
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
  VALUE_LENGTH_SIZE,
  ZLIB_CRC_MIN_BYTES,
} from './constants.js';
import { crc32, crc32Range } from './crc32.js';
import { describeValue, ErrorCode, WalError } from './errors.js';
import { assertRecordSize } from './limits.js';
import { isPlainBytes } from './views.js';

/** One operation of a batch, as the writer encodes it. */
export type WalOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; key: Uint8Array };

/** A put as read back from the log. `value` may be empty; it is still a put. */
export interface PutEntry {
  sequence: number;
  type: 'put';
  key: Uint8Array;
  value: Uint8Array;
}

/** A delete as read back from the log. It has no `value` property. */
export interface DeleteEntry {
  sequence: number;
  type: 'delete';
  key: Uint8Array;
  value?: undefined;
}

/** One operation read back from the log, with its sequence number: the one entry shape. */
export type WalEntry = PutEntry | DeleteEntry;

/** Where a frame goes: the segment's salt and the writer's synced watermark. */
export interface FrameContext {
  /** The segment header's salt. */
  salt: number;
  /** Bytes of the segment durable when the frame is written (at most the frame's offset). */
  synced: number;
}

/**
 * The length of the batch record (the frame's `length` field) that `ops`
 * encode to. Validates the ops' shapes; throws `WAL_INVALID_ARGUMENT` on a bad one.
 */
export function recordSize(ops: readonly WalOp[]): number {
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected a non-empty array of ops, found ${describeValue(ops)}`,
    );
  }
  let size = BATCH_PREFIX_SIZE;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as WalOp;
    if (!isPlainBytes(op?.key)) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ops[${i}].key to be a Uint8Array or a Buffer (toBytes makes one), found ${describeValue(op?.key)}`,
      );
    }
    size += OP_HEADER_SIZE + op.key.length;
    if (op.type === 'put') {
      if (!isPlainBytes(op.value)) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected ops[${i}].value to be a Uint8Array or a Buffer (toBytes makes one), found ${describeValue(op.value)}`,
        );
      }
      size += VALUE_LENGTH_SIZE + op.value.length;
    } else if (op.type !== 'delete') {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ops[${i}].type to be 'put' or 'delete', found ${describeValue((op as { type: unknown }).type)}`,
      );
    }
  }
  return size;
}

/**
 * Encodes `ops` as one batch frame at `target[offset]` and returns the
 * offset after it. Allocates nothing, so many frames can be encoded back to
 * back into one buffer. `recordLength` is `recordSize(ops)`, passed when the
 * caller has it. Does not check `maxRecordBytes`: call `assertRecordSize` first.
 */
export function encodeBatch(
  target: Uint8Array,
  offset: number,
  context: FrameContext,
  firstSequence: number,
  ops: readonly WalOp[],
  recordLength: number = recordSize(ops),
): number {
  if (!isIndex(firstSequence, MAX_SEQUENCE - ops.length)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected a first sequence in [0, ${MAX_SEQUENCE - ops.length}] (room for ${ops.length} ops below 2^53 - 1), found ${describeValue(firstSequence)}`,
    );
  }
  // A recordLength that is not recordSize(ops) would leave a frame that
  // fails on read; refuse it before writing anything.
  let length = BATCH_PREFIX_SIZE;
  for (const op of ops) {
    length += OP_HEADER_SIZE + op.key.length;
    if (op.type === 'put') length += VALUE_LENGTH_SIZE + op.value.length;
  }
  if (length !== recordLength) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected recordLength to be recordSize(ops) = ${length}, found ${recordLength}`,
    );
  }
  const end = begin(target, offset, recordLength, RecordType.Batch, context);
  let p = offset + FRAME_HEADER_SIZE;
  writeU64(target, p + BATCH_FIRST_SEQUENCE_OFFSET, firstSequence);
  writeU32(target, p + BATCH_COUNT_OFFSET, ops.length);
  p += BATCH_PREFIX_SIZE;
  for (const op of ops) {
    target[p + OP_KIND_OFFSET] = op.type === 'put' ? OpKind.Put : OpKind.Delete;
    writeU32(target, p + OP_KEY_LENGTH_OFFSET, op.key.length);
    target.set(op.key, p + OP_HEADER_SIZE);
    p += OP_HEADER_SIZE + op.key.length;
    if (op.type === 'put') {
      writeU32(target, p, op.value.length);
      target.set(op.value, p + VALUE_LENGTH_SIZE);
      p += VALUE_LENGTH_SIZE + op.value.length;
    }
  }
  return finish(target, offset, end, context.salt);
}

/**
 * Encodes one batch frame into a new buffer. Checks the size limit first:
 * throws `WAL_RECORD_TOO_LARGE` above `maxRecordBytes`, `WAL_INVALID_ARGUMENT`
 * for malformed ops or a first sequence whose batch would pass `MAX_SEQUENCE`.
 */
export function encodeBatchFrame(
  context: FrameContext,
  firstSequence: number,
  ops: readonly WalOp[],
  maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
): Uint8Array {
  const length = recordSize(ops);
  assertRecordSize(length, maxRecordBytes);
  const out = new Uint8Array(FRAME_HEADER_SIZE + length);
  encodeBatch(out, 0, context, firstSequence, ops, length);
  return out;
}

/** The fields of a seal record. */
export interface Seal {
  /** The sequence after the segment's last entry (its first sequence when it holds none). */
  nextSequence: number;
  /** Batch and hole records in the segment. */
  records: number;
  /** The segment's length in bytes, the seal frame included. */
  bytes: number;
}

/** Encodes a seal frame: the last bytes of a sealed segment. */
export function encodeSealFrame(context: FrameContext, seal: Seal): Uint8Array {
  checkSequence('nextSequence', seal.nextSequence);
  checkU32('records', seal.records);
  checkU32('bytes', seal.bytes);
  const out = new Uint8Array(FRAME_HEADER_SIZE + SEAL_RECORD_SIZE);
  const end = begin(out, 0, SEAL_RECORD_SIZE, RecordType.Seal, context);
  writeU64(out, FRAME_HEADER_SIZE + SEAL_NEXT_SEQUENCE_OFFSET, seal.nextSequence);
  writeU32(out, FRAME_HEADER_SIZE + SEAL_RECORDS_OFFSET, seal.records);
  writeU32(out, FRAME_HEADER_SIZE + SEAL_BYTES_OFFSET, seal.bytes);
  finish(out, 0, end, context.salt);
  return out;
}

/** The fields of a hole record. */
export interface Hole {
  /** The first sequence lost. */
  firstSequence: number;
  /** The sequence after the last one lost (greater than `firstSequence`). */
  nextSequence: number;
  /** The repair incident (`quarantine/<incident>/`) that kept the lost bytes. */
  incident: number;
}

/** Encodes a hole frame: sequences repair found lost. */
export function encodeHoleFrame(context: FrameContext, hole: Hole): Uint8Array {
  checkSequence('firstSequence', hole.firstSequence);
  checkSequence('nextSequence', hole.nextSequence);
  checkU32('incident', hole.incident);
  if (hole.nextSequence <= hole.firstSequence) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected nextSequence above firstSequence ${hole.firstSequence}, found ${hole.nextSequence}`,
    );
  }
  const out = new Uint8Array(FRAME_HEADER_SIZE + HOLE_RECORD_SIZE);
  const end = begin(out, 0, HOLE_RECORD_SIZE, RecordType.Hole, context);
  writeU64(out, FRAME_HEADER_SIZE + HOLE_FIRST_SEQUENCE_OFFSET, hole.firstSequence);
  writeU64(out, FRAME_HEADER_SIZE + HOLE_NEXT_SEQUENCE_OFFSET, hole.nextSequence);
  writeU32(out, FRAME_HEADER_SIZE + HOLE_INCIDENT_OFFSET, hole.incident);
  finish(out, 0, end, context.salt);
  return out;
}

/**
 * Encodes a mark frame into `target` at `offset` (a new buffer when
 * `target` is omitted): no entries, just the writer's `synced` watermark and
 * next sequence, so that damage before it reads as bit rot, not a torn write.
 */
export function encodeMarkFrame(
  context: FrameContext,
  nextSequence: number,
  target: Uint8Array = new Uint8Array(FRAME_HEADER_SIZE + MARK_RECORD_SIZE),
  offset = 0,
): Uint8Array {
  checkSequence('nextSequence', nextSequence);
  const end = begin(target, offset, MARK_RECORD_SIZE, RecordType.Mark, context);
  writeU64(target, offset + FRAME_HEADER_SIZE + MARK_NEXT_SEQUENCE_OFFSET, nextSequence);
  finish(target, offset, end, context.salt);
  return target;
}

// Writes the frame's length, the record's type and synced; returns the frame's end.
function begin(
  target: Uint8Array,
  offset: number,
  recordLength: number,
  type: number,
  context: FrameContext,
): number {
  if (!isIndex(offset)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected offset to be a non-negative safe integer, found ${describeValue(offset)}`,
    );
  }
  checkU32('salt', context.salt);
  checkU32('synced', context.synced);
  const end = offset + FRAME_HEADER_SIZE + recordLength;
  if (end > target.length) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${end - offset} bytes of room at offset ${offset}, found ${target.length - offset}`,
    );
  }
  writeU32(target, offset, recordLength);
  target[offset + FRAME_HEADER_SIZE] = type;
  writeU32(target, offset + FRAME_HEADER_SIZE + RECORD_SYNCED_OFFSET, context.synced);
  return end;
}

function finish(target: Uint8Array, offset: number, end: number, salt: number): number {
  writeU32(target, offset + FRAME_CRC_OFFSET, frameChecksum(target, offset, end, saltSeed(salt)));
  return end;
}

let lastSalt = -1;
let lastSeed = 0;
const saltBytes = new Uint8Array(4);

/** CRC-32 of the salt's 4 little-endian bytes: where every frame CRC of its segment starts. */
export function saltSeed(salt: number): number {
  if (salt !== lastSalt) {
    writeU32(saltBytes, 0, salt);
    lastSeed = crc32(saltBytes);
    lastSalt = salt;
  }
  return lastSeed;
}

/**
 * A frame's CRC-32: over the segment's salt, the 4 length bytes, then the
 * record. `seed` is {@link saltSeed} of the salt; `start` is the frame's
 * first byte, `end` the byte after its record.
 */
export function frameChecksum(buf: Uint8Array, start: number, end: number, seed: number): number {
  const lengthCrc = crc32Range(buf, seed, start + FRAME_LENGTH_OFFSET, start + FRAME_CRC_OFFSET);
  const recordStart = start + FRAME_HEADER_SIZE;
  // Ranges, not subarrays, on the JS path: a view costs more than the CRC of a short record.
  return end - recordStart >= ZLIB_CRC_MIN_BYTES
    ? crc32(buf.subarray(recordStart, end), lengthCrc)
    : crc32Range(buf, lengthCrc, recordStart, end);
}

function checkSequence(field: string, value: number): void {
  if (!isIndex(value, MAX_SEQUENCE)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${field} to be a sequence in [0, 2^53 - 1], found ${describeValue(value)}`,
    );
  }
}

function checkU32(field: string, value: number): void {
  if (!isIndex(value, 0xffff_ffff)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${field} to be a u32, found ${describeValue(value)}`,
    );
  }
}
