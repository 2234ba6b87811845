import { isIndex, readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { FORMAT_VERSION, SEGMENT_HEADER_SIZE, SEGMENT_MAGIC } from './constants.js';
import { crc32 } from './crc32.js';
import { describeValue, ErrorCode, WalError } from './errors.js';

/**
 * The fixed 32-byte header at the start of every segment file.
 *
 * | offset | size | field           |
 * |--------|------|-----------------|
 * | 0      | 8    | magic           |
 * | 8      | 4    | version (u32)   |
 * | 12     | 8    | segment number  |
 * | 20     | 8    | first sequence  |
 * | 28     | 4    | header CRC-32 of bytes 0..28 |
 */
export interface SegmentHeader {
  /** The number in the file name, `wal_<number>.log`. */
  segmentNumber: number;
  /** The sequence of the first record this segment holds (or will hold). */
  firstSequence: number;
}

/** A header that could not be decoded, with what was expected and what was found. */
export interface BadSegmentHeader {
  reason: 'bad-header';
  detail: string;
}

/** Encodes a segment header into a new 32-byte buffer. */
export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  for (const field of ['segmentNumber', 'firstSequence'] as const) {
    if (!isIndex(header[field])) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ${field} to be a non-negative safe integer, found ${describeValue(header[field])}`,
      );
    }
  }
  const out = new Uint8Array(SEGMENT_HEADER_SIZE);
  out.set(SEGMENT_MAGIC, 0);
  writeU32(out, 8, FORMAT_VERSION);
  writeU64(out, 12, header.segmentNumber);
  writeU64(out, 20, header.firstSequence);
  writeU32(out, 28, crc32(out.subarray(0, 28)));
  return out;
}

/**
 * Decodes the header at the start of `bytes` (bytes after the first 32 are
 * ignored). Never throws: anything that is not a valid version-1 header comes
 * back as `bad-header` with a detail. Checks, in order: size, magic, version,
 * CRC, and that both numbers are below 2^53.
 */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | BadSegmentHeader {
  if (bytes.length < SEGMENT_HEADER_SIZE) {
    return bad(`expected a ${SEGMENT_HEADER_SIZE}-byte header, found ${bytes.length} bytes`);
  }
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) {
      return bad(`expected the segment magic 89 57 41 4c 0d 0a 1a 0a, found ${hex(bytes, 0, 8)}`);
    }
  }
  // The version comes before the CRC: a later version may lay out (and
  // checksum) its header differently, and should be named as such.
  const version = readU32(bytes, 8);
  const storedCrc = readU32(bytes, 28);
  const actualCrc = crc32(bytes.subarray(0, 28));
  if (version !== FORMAT_VERSION) {
    const damaged = storedCrc === actualCrc ? '' : ' (or a damaged header: its CRC does not match)';
    return bad(
      `expected format version ${FORMAT_VERSION}, found unknown version ${version}${damaged}`,
    );
  }
  if (storedCrc !== actualCrc) {
    return bad(`expected header CRC ${hex32(actualCrc)}, found ${hex32(storedCrc)}`);
  }
  const segmentNumber = readU64(bytes, 12);
  const firstSequence = readU64(bytes, 20);
  if (segmentNumber < 0 || firstSequence < 0) {
    return bad('expected segment number and first sequence below 2^53, found a larger value');
  }
  return { segmentNumber, firstSequence };
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

function hex(bytes: Uint8Array, start: number, end: number): string {
  return Array.from(bytes.subarray(start, end), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
