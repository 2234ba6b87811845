import { isIndex, readU32, readU64, writeU32, writeU64 } from './bytes.js';
import {
  FORMAT_VERSION,
  HEADER_CRC_OFFSET,
  HEADER_FIRST_SEQUENCE_OFFSET,
  HEADER_LOG_ID_OFFSET,
  HEADER_MAGIC_OFFSET,
  HEADER_MAX_RECORD_BYTES_OFFSET,
  HEADER_SALT_OFFSET,
  HEADER_SEGMENT_OFFSET,
  HEADER_VERSION_OFFSET,
  LOG_ID_SIZE,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
} from './constants.js';
import { crc32 } from './crc32.js';
import { describeValue, ErrorCode, WalError } from './errors.js';
import { isMaxRecordBytes } from './limits.js';

/** The fixed header at the start of every segment file (see docs/format.md). */
export interface SegmentHeader {
  /** The number in the file name, `wal_<segment>.log`. */
  segment: number;
  /** The sequence of the segment's first entry (or of the next one written to it). */
  firstSequence: number;
  /** Random per segment; every frame CRC of the segment covers it. */
  salt: number;
  /** The record limit the segment was written under; readers use it. */
  maxRecordBytes: number;
  /** The log's identity, 16 lowercase hex digits: the same in every segment of one log. */
  logId: string;
}

/** A header that could not be decoded, with what was expected and what was found. */
export interface BadSegmentHeader {
  reason: 'bad-header';
  detail: string;
}

const LOG_ID = /^[0-9a-f]{16}$/;

/** Encodes a segment header into a new {@link SEGMENT_HEADER_SIZE}-byte buffer. */
export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const { segment, firstSequence, salt, maxRecordBytes, logId } = header;
  if (!isIndex(segment)) throw invalid('segment', 'a non-negative safe integer', segment);
  if (!isIndex(firstSequence, MAX_SEQUENCE)) {
    throw invalid('firstSequence', 'a non-negative safe integer', firstSequence);
  }
  if (!isIndex(salt, 0xffff_ffff)) throw invalid('salt', 'a u32', salt);
  if (!isMaxRecordBytes(maxRecordBytes))
    throw invalid('maxRecordBytes', 'a record limit', maxRecordBytes);
  if (typeof logId !== 'string' || !LOG_ID.test(logId)) {
    throw invalid('logId', '16 lowercase hex digits', logId);
  }
  const out = new Uint8Array(SEGMENT_HEADER_SIZE);
  out.set(SEGMENT_MAGIC, HEADER_MAGIC_OFFSET);
  writeU32(out, HEADER_VERSION_OFFSET, FORMAT_VERSION);
  writeU32(out, HEADER_SALT_OFFSET, salt);
  writeU64(out, HEADER_SEGMENT_OFFSET, segment);
  writeU64(out, HEADER_FIRST_SEQUENCE_OFFSET, firstSequence);
  writeU32(out, HEADER_MAX_RECORD_BYTES_OFFSET, maxRecordBytes);
  out.set(Buffer.from(logId, 'hex'), HEADER_LOG_ID_OFFSET);
  writeU32(out, HEADER_CRC_OFFSET, crc32(out.subarray(0, HEADER_CRC_OFFSET)));
  return out;
}

/**
 * Decodes the header at the start of `bytes` (bytes after it are ignored).
 * Never throws: anything that is not a valid header of this version comes
 * back as `bad-header` with a detail. Checks, in order: size, magic,
 * version, CRC, then the fields' ranges.
 */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | BadSegmentHeader {
  if (bytes.length < SEGMENT_HEADER_SIZE) {
    return bad(`expected a ${SEGMENT_HEADER_SIZE}-byte header, found ${bytes.length} bytes`);
  }
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[HEADER_MAGIC_OFFSET + i] !== SEGMENT_MAGIC[i]) {
      const found = hex(bytes, HEADER_MAGIC_OFFSET, HEADER_MAGIC_OFFSET + SEGMENT_MAGIC.length);
      return bad(`expected the segment magic 89 57 41 4c 0d 0a 1a 0a, found ${found}`);
    }
  }
  // The version comes before the CRC: another version may lay out (and
  // checksum) its header differently, and should be named as such.
  const version = readU32(bytes, HEADER_VERSION_OFFSET);
  const storedCrc = readU32(bytes, HEADER_CRC_OFFSET);
  const actualCrc = crc32(bytes.subarray(0, HEADER_CRC_OFFSET));
  if (version !== FORMAT_VERSION) {
    const damaged = storedCrc === actualCrc ? '' : ' (or a damaged header: its CRC does not match)';
    return bad(`expected format version ${FORMAT_VERSION}, found version ${version}${damaged}`);
  }
  if (storedCrc !== actualCrc) {
    return bad(
      `expected header CRC ${hex32(storedCrc)} (stored), found ${hex32(actualCrc)} (computed)`,
    );
  }
  const segment = readU64(bytes, HEADER_SEGMENT_OFFSET);
  const firstSequence = readU64(bytes, HEADER_FIRST_SEQUENCE_OFFSET);
  if (segment < 0 || firstSequence < 0) {
    return bad('expected a segment number and first sequence below 2^53, found a larger value');
  }
  const maxRecordBytes = readU32(bytes, HEADER_MAX_RECORD_BYTES_OFFSET);
  if (!isMaxRecordBytes(maxRecordBytes)) {
    return bad(`expected a max record bytes field in range, found ${maxRecordBytes}`);
  }
  return {
    segment,
    firstSequence,
    salt: readU32(bytes, HEADER_SALT_OFFSET),
    maxRecordBytes,
    logId: hex(bytes, HEADER_LOG_ID_OFFSET, HEADER_LOG_ID_OFFSET + LOG_ID_SIZE, ''),
  };
}

/** Narrows a decode result to the failure case. */
export function isBadSegmentHeader(
  result: SegmentHeader | BadSegmentHeader,
): result is BadSegmentHeader {
  return 'reason' in result;
}

function bad(detail: string): BadSegmentHeader {
  return { reason: 'bad-header', detail };
}

function invalid(field: string, expected: string, found: unknown): WalError {
  return new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${field} to be ${expected}, found ${describeValue(found)}`,
  );
}

function hex(bytes: Uint8Array, start: number, end: number, separator = ' '): string {
  return Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, '0')).join(
    separator,
  );
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
