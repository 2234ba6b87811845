import { isIndex, writeU32, writeU64 } from './bytes.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  FRAME_HEADER_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  MIN_RECORD_BYTES,
  OP_HEADER_SIZE,
  OpKind,
  RECORD_PREFIX_SIZE,
  RecordType,
  VALUE_LENGTH_SIZE,
} from './constants.js';
import { crc32 } from './crc32.js';
import { describeValue, ErrorCode, WalError } from './errors.js';

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

/** One operation read back from the log, with its sequence number. */
export type WalEntry = PutEntry | DeleteEntry;

/** A decoded record: an atomic batch of entries with consecutive sequences. */
export interface WalRecord {
  firstSequence: number;
  entries: WalEntry[];
}

/**
 * The length of the record (the frame's `length` field) that `ops` encode to.
 * Validates the ops' shapes; throws `WAL_INVALID_ARGUMENT` on a bad one.
 */
export function recordSize(ops: readonly WalOp[]): number {
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected a non-empty array of ops, found ${describeValue(ops)}`,
    );
  }
  let size = RECORD_PREFIX_SIZE;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as WalOp;
    if (!(op?.key instanceof Uint8Array)) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ops[${i}].key to be a Uint8Array, found ${describeValue(op?.key)}`,
      );
    }
    size += OP_HEADER_SIZE + op.key.length;
    if (op.type === 'put') {
      if (!(op.value instanceof Uint8Array)) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected ops[${i}].value to be a Uint8Array, found ${describeValue(op.value)}`,
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
 * True when `value` is a usable `maxRecordBytes`: an integer in
 * [MIN_RECORD_BYTES, MAX_RECORD_BYTES_LIMIT].
 */
export function isMaxRecordBytes(value: unknown): value is number {
  return isIndex(value, MAX_RECORD_BYTES_LIMIT) && value >= MIN_RECORD_BYTES;
}

/**
 * Throws `WAL_RECORD_TOO_LARGE` when a record of `size` bytes exceeds
 * `maxRecordBytes`, and `WAL_INVALID_ARGUMENT` when `maxRecordBytes` itself is
 * not an integer in [MIN_RECORD_BYTES, MAX_RECORD_BYTES_LIMIT] (a NaN limit
 * would otherwise let every record through).
 */
export function assertRecordSize(size: number, maxRecordBytes: number): void {
  if (!isMaxRecordBytes(maxRecordBytes)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected maxRecordBytes to be an integer in [${MIN_RECORD_BYTES}, ${MAX_RECORD_BYTES_LIMIT}], found ${describeValue(maxRecordBytes)}`,
    );
  }
  if (size > maxRecordBytes) {
    throw new WalError(
      ErrorCode.RECORD_TOO_LARGE,
      `expected a record of at most ${maxRecordBytes} bytes (maxRecordBytes), found ${size} bytes`,
    );
  }
}

/**
 * Encodes `ops` as one frame at `target[offset]` and returns the offset after
 * it. Allocates nothing: many frames can be encoded back to back into one
 * buffer. `recordLength` is `recordSize(ops)`, passed when the caller has it.
 * Does not check `maxRecordBytes`: call {@link assertRecordSize} first.
 */
export function encodeFrame(
  target: Uint8Array,
  offset: number,
  firstSequence: number,
  ops: readonly WalOp[],
  recordLength: number = recordSize(ops),
): number {
  if (!isIndex(firstSequence, MAX_SEQUENCE - ops.length + 1)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected a first sequence in [0, 2^53 - ${ops.length}], found ${describeValue(firstSequence)}`,
    );
  }
  if (!isIndex(offset)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected offset to be a non-negative safe integer, found ${describeValue(offset)}`,
    );
  }
  const end = offset + FRAME_HEADER_SIZE + recordLength;
  if (end > target.length) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${end - offset} bytes of room at offset ${offset}, found ${target.length - offset}`,
    );
  }
  writeU32(target, offset, recordLength);
  let p = offset + FRAME_HEADER_SIZE;
  target[p] = RecordType.Batch;
  writeU64(target, p + 1, firstSequence);
  writeU32(target, p + 9, ops.length);
  p += RECORD_PREFIX_SIZE;
  for (const op of ops) {
    target[p] = op.type === 'put' ? OpKind.Put : OpKind.Delete;
    writeU32(target, p + 1, op.key.length);
    target.set(op.key, p + OP_HEADER_SIZE);
    p += OP_HEADER_SIZE + op.key.length;
    if (op.type === 'put') {
      writeU32(target, p, op.value.length);
      target.set(op.value, p + VALUE_LENGTH_SIZE);
      p += VALUE_LENGTH_SIZE + op.value.length;
    }
  }
  // A recordLength that is not recordSize(ops) would leave a frame that
  // fails on read; refuse it now, while the caller can still be told.
  if (p !== end) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected recordLength to be recordSize(ops) = ${p - offset - FRAME_HEADER_SIZE}, found ${recordLength}`,
    );
  }
  writeU32(target, offset + 4, frameChecksum(target, offset, end));
  return end;
}

/**
 * Encodes one frame into a new buffer. Checks the size limit first: throws
 * `WAL_RECORD_TOO_LARGE` above `maxRecordBytes`, `WAL_INVALID_ARGUMENT` for
 * malformed ops or a first sequence whose batch would pass 2^53 - 1.
 */
export function encodeRecord(
  firstSequence: number,
  ops: readonly WalOp[],
  maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
): Uint8Array {
  const length = recordSize(ops);
  assertRecordSize(length, maxRecordBytes);
  const out = new Uint8Array(FRAME_HEADER_SIZE + length);
  encodeFrame(out, 0, firstSequence, ops, length);
  return out;
}

/**
 * The frame's CRC-32: over the 4 length bytes, then the record.
 * `start` is the frame's first byte, `end` the byte after its record.
 */
export function frameChecksum(buf: Uint8Array, start: number, end: number): number {
  const lengthCrc = crc32(buf.subarray(start, start + 4));
  return crc32(buf.subarray(start + FRAME_HEADER_SIZE, end), lengthCrc);
}
