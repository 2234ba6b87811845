import zlib from 'node:zlib';
import {
  decodeSegmentHeader,
  ErrorCode,
  encodeSegmentHeader,
  FORMAT_VERSION,
  isBadSegmentHeader,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  type SegmentHeader,
  WalError,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

// A header with the given fields, checksummed with zlib directly.
function rawHeader(version: number, segmentHigh: number, validCrc = true): Uint8Array {
  const out = Buffer.alloc(SEGMENT_HEADER_SIZE);
  out.set(SEGMENT_MAGIC, 0);
  out.writeUInt32LE(version, 8);
  out.writeUInt32LE(3, 12);
  out.writeUInt32LE(segmentHigh, 16);
  out.writeUInt32LE(5, 20);
  out.writeUInt32LE((zlib.crc32(out.subarray(0, 28)) ^ (validCrc ? 0 : 1)) >>> 0, 28);
  return new Uint8Array(out);
}

const detail = (bytes: Uint8Array) => {
  const r = decodeSegmentHeader(bytes);
  if (!isBadSegmentHeader(r)) throw new Error(`expected bad-header, found ${JSON.stringify(r)}`);
  return r.detail;
};

describe('segment header', () => {
  test('round-trips any segment number and first sequence below 2^53', () => {
    const safe = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constant(MAX_SEQUENCE));
    fc.assert(
      fc.property(safe, safe, (segmentNumber, firstSequence) => {
        const bytes = encodeSegmentHeader({ segmentNumber, firstSequence });
        expect(bytes.length).toBe(SEGMENT_HEADER_SIZE);
        expect(decodeSegmentHeader(bytes)).toEqual({ segmentNumber, firstSequence });
      }),
    );
  });

  test('the layout: magic, version 1, u64 LE numbers, CRC-32 of bytes 0..28', () => {
    const bytes = Buffer.from(
      encodeSegmentHeader({ segmentNumber: 2 ** 40 + 1, firstSequence: 7 }),
    );
    expect(bytes.subarray(0, 8).toString('hex')).toBe('8957414c0d0a1a0a');
    expect(bytes.readUInt32LE(8)).toBe(FORMAT_VERSION);
    expect(bytes.readBigUInt64LE(12)).toBe(2n ** 40n + 1n);
    expect(bytes.readBigUInt64LE(20)).toBe(7n);
    expect(bytes.readUInt32LE(28)).toBe(zlib.crc32(bytes.subarray(0, 28)));
  });

  test('bytes after the header are ignored', () => {
    const header = encodeSegmentHeader({ segmentNumber: 1, firstSequence: 2 });
    const withMore = new Uint8Array([...header, 1, 2, 3]);
    expect(decodeSegmentHeader(withMore)).toEqual({ segmentNumber: 1, firstSequence: 2 });
  });

  test('a short header is bad-header at every length', () => {
    const header = encodeSegmentHeader({ segmentNumber: 1, firstSequence: 2 });
    for (let n = 0; n < SEGMENT_HEADER_SIZE; n++) {
      expect(detail(header.subarray(0, n))).toBe(`expected a 32-byte header, found ${n} bytes`);
    }
  });

  test('a wrong magic is named', () => {
    const bytes = encodeSegmentHeader({ segmentNumber: 1, firstSequence: 2 });
    bytes[3] = 0x00;
    expect(detail(bytes)).toBe(
      'expected the segment magic 89 57 41 4c 0d 0a 1a 0a, found 89 57 41 00 0d 0a 1a 0a',
    );
  });

  test('an unknown version is named, with a valid CRC or without', () => {
    expect(detail(rawHeader(2, 0))).toBe('expected format version 1, found unknown version 2');
    expect(detail(rawHeader(0, 0, false))).toBe(
      'expected format version 1, found unknown version 0 (or a damaged header: its CRC does not match)',
    );
  });

  test('a CRC mismatch says both values', () => {
    const good = rawHeader(1, 0);
    expect(decodeSegmentHeader(good)).toEqual({ segmentNumber: 3, firstSequence: 5 });
    expect(detail(rawHeader(1, 0, false))).toMatch(
      /^expected header CRC 0x[0-9a-f]{8}, found 0x[0-9a-f]{8}$/,
    );
  });

  test('numbers at or above 2^53 are bad-header even with a valid CRC', () => {
    expect(detail(rawHeader(1, 0x20_0000))).toBe(
      'expected segment number and first sequence below 2^53, found a larger value',
    );
  });

  test('encoding refuses numbers that are not non-negative safe integers', () => {
    const bad: [Partial<SegmentHeader>, string][] = [
      [
        { segmentNumber: -1, firstSequence: 0 },
        'segmentNumber to be a non-negative safe integer, found the number -1',
      ],
      [
        { segmentNumber: 0, firstSequence: 2 ** 53 },
        `firstSequence to be a non-negative safe integer, found the number ${2 ** 53}`,
      ],
      [{ segmentNumber: 0 }, 'firstSequence to be a non-negative safe integer, found undefined'],
    ];
    for (const [header, message] of bad) {
      let thrown: unknown;
      try {
        encodeSegmentHeader(header as SegmentHeader);
      } catch (e) {
        thrown = e;
      }
      expect(WalError.isInstance(thrown, ErrorCode.INVALID_ARGUMENT)).toBe(true);
      expect((thrown as Error).message).toBe(`expected ${message}`);
    }
  });
});
