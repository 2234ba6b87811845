import zlib from 'node:zlib';
import {
  decodeSegmentHeader,
  ErrorCode,
  encodeSegmentHeader,
  isBadSegmentHeader,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  type SegmentHeader,
  WalError,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const header: SegmentHeader = {
  segment: 1,
  firstSequence: 2,
  salt: 3,
  maxRecordBytes: 4096,
  logId: '0011223344556677',
};

interface RawFields {
  version?: number;
  salt?: number;
  segment?: bigint;
  firstSequence?: bigint;
  maxRecordBytes?: number;
  logId?: string;
  validCrc?: boolean;
}

// A header with the given fields at the design's offsets, checksummed with zlib directly.
function rawHeader(fields: RawFields = {}): Uint8Array {
  const out = Buffer.alloc(SEGMENT_HEADER_SIZE);
  out.set(SEGMENT_MAGIC, 0);
  out.writeUInt32LE(fields.version ?? 2, 8);
  out.writeUInt32LE(fields.salt ?? 3, 12);
  out.writeBigUInt64LE(fields.segment ?? 1n, 16);
  out.writeBigUInt64LE(fields.firstSequence ?? 2n, 24);
  out.writeUInt32LE(fields.maxRecordBytes ?? 4096, 32);
  out.write(fields.logId ?? '0011223344556677', 36, 'hex');
  const crc = zlib.crc32(out.subarray(0, 44)) ^ (fields.validCrc === false ? 1 : 0);
  out.writeUInt32LE(crc >>> 0, 44);
  return new Uint8Array(out);
}

const detail = (bytes: Uint8Array) => {
  const r = decodeSegmentHeader(bytes);
  if (!isBadSegmentHeader(r)) throw new Error(`expected bad-header, found ${JSON.stringify(r)}`);
  return r.detail;
};

const headerArb = fc.record({
  segment: fc.oneof(fc.nat(), fc.maxSafeNat()),
  firstSequence: fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constant(MAX_SEQUENCE)),
  salt: fc.nat({ max: 0xffff_ffff }),
  maxRecordBytes: fc.integer({ min: 22, max: MAX_RECORD_BYTES_LIMIT }),
  logId: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
});

describe('segment header', () => {
  test('round-trips any segment, first sequence, salt, record limit and log id', () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const bytes = encodeSegmentHeader(h);
        expect(bytes.length).toBe(SEGMENT_HEADER_SIZE);
        expect(decodeSegmentHeader(bytes)).toEqual(h);
        expect(bytes).toEqual(
          rawHeader({
            salt: h.salt,
            segment: BigInt(h.segment),
            firstSequence: BigInt(h.firstSequence),
            maxRecordBytes: h.maxRecordBytes,
            logId: h.logId,
          }),
        );
      }),
    );
  });

  test('the layout: magic, version 2, salt, u64 segment and first sequence, limit, log id, CRC', () => {
    const bytes = Buffer.from(
      encodeSegmentHeader({
        segment: 2 ** 40 + 1,
        firstSequence: 7,
        salt: 0xcafe_f00d,
        maxRecordBytes: 1 << 20,
        logId: 'fedcba9876543210',
      }),
    );
    expect(bytes.subarray(0, 8).toString('hex')).toBe('8957414c0d0a1a0a');
    expect(bytes.readUInt32LE(8)).toBe(2);
    expect(bytes.readUInt32LE(12)).toBe(0xcafe_f00d);
    expect(bytes.readBigUInt64LE(16)).toBe(2n ** 40n + 1n);
    expect(bytes.readBigUInt64LE(24)).toBe(7n);
    expect(bytes.readUInt32LE(32)).toBe(1 << 20);
    expect(bytes.subarray(36, 44).toString('hex')).toBe('fedcba9876543210');
    expect(bytes.readUInt32LE(44)).toBe(zlib.crc32(bytes.subarray(0, 44)));
  });

  test('bytes after the header are ignored', () => {
    const withMore = new Uint8Array([...encodeSegmentHeader(header), 1, 2, 3]);
    expect(decodeSegmentHeader(withMore)).toEqual(header);
  });

  test('the log id decodes as 16 lowercase hex digits', () => {
    const r = decodeSegmentHeader(rawHeader({ logId: 'ABCDEF0123456789' }));
    expect(r).toMatchObject({ logId: 'abcdef0123456789' });
  });

  test('a short header is bad-header at every length', () => {
    const bytes = encodeSegmentHeader(header);
    for (let n = 0; n < SEGMENT_HEADER_SIZE; n++) {
      expect(detail(bytes.subarray(0, n))).toBe(`expected a 48-byte header, found ${n} bytes`);
    }
  });

  test('a wrong magic is named', () => {
    const bytes = encodeSegmentHeader(header);
    bytes[3] = 0x00;
    expect(detail(bytes)).toBe(
      'expected the segment magic 89 57 41 4c 0d 0a 1a 0a, found 89 57 41 00 0d 0a 1a 0a',
    );
  });

  test('another version is named, with a valid CRC or without', () => {
    expect(detail(rawHeader({ version: 3 }))).toBe('expected format version 2, found version 3');
    expect(detail(rawHeader({ version: 0, validCrc: false }))).toBe(
      'expected format version 2, found version 0 (or a damaged header: its CRC does not match)',
    );
  });

  test('a version 1 header (32 bytes, CRC at 28) is named as version 1', () => {
    const v1 = Buffer.alloc(SEGMENT_HEADER_SIZE);
    v1.set(SEGMENT_MAGIC, 0);
    v1.writeUInt32LE(1, 8);
    v1.writeUInt32LE(zlib.crc32(v1.subarray(0, 28)), 28);
    expect(detail(new Uint8Array(v1))).toBe(
      'expected format version 2, found version 1 (or a damaged header: its CRC does not match)',
    );
  });

  test('a CRC mismatch says both values, stored as expected and computed as found (as a frame says)', () => {
    expect(decodeSegmentHeader(rawHeader())).toEqual(header);
    const bad = rawHeader({ validCrc: false });
    const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
    const stored = Buffer.from(bad).readUInt32LE(44);
    const computed = zlib.crc32(bad.subarray(0, 44));
    expect(detail(bad)).toBe(
      `expected header CRC ${hex(stored)} (stored), found ${hex(computed)} (computed)`,
    );
  });

  test('numbers at or above 2^53 are bad-header even with a valid CRC', () => {
    const message = 'expected a segment number and first sequence below 2^53, found a larger value';
    expect(detail(rawHeader({ segment: 2n ** 53n }))).toBe(message);
    expect(detail(rawHeader({ firstSequence: 2n ** 64n - 1n }))).toBe(message);
  });

  test('a record limit out of range is bad-header even with a valid CRC', () => {
    for (const max of [0, 21, MAX_RECORD_BYTES_LIMIT + 1, 0xffff_ffff]) {
      expect(detail(rawHeader({ maxRecordBytes: max }))).toBe(
        `expected a max record bytes field in range, found ${max}`,
      );
    }
    expect(decodeSegmentHeader(rawHeader({ maxRecordBytes: 22 }))).toMatchObject({
      maxRecordBytes: 22,
    });
  });

  test('encoding refuses fields out of range', () => {
    // Fields set to undefined too: what a JavaScript caller may pass.
    const bad: [{ [K in keyof SegmentHeader]?: SegmentHeader[K] | undefined }, string][] = [
      [{ segment: -1 }, 'segment to be a non-negative safe integer, found the number -1'],
      [
        { firstSequence: 2 ** 53 },
        `firstSequence to be a non-negative safe integer, found the number ${2 ** 53}`,
      ],
      [
        { firstSequence: undefined },
        'firstSequence to be a non-negative safe integer, found undefined',
      ],
      [{ salt: -1 }, 'salt to be a u32, found the number -1'],
      [{ salt: 2 ** 32 }, 'salt to be a u32, found the number 4294967296'],
      [{ maxRecordBytes: 21 }, 'maxRecordBytes to be a record limit, found the number 21'],
      [
        { maxRecordBytes: MAX_RECORD_BYTES_LIMIT + 1 },
        `maxRecordBytes to be a record limit, found the number ${MAX_RECORD_BYTES_LIMIT + 1}`,
      ],
      [
        { logId: 'ABCDEF0123456789' },
        'logId to be 16 lowercase hex digits, found the string "ABCDEF0123456789"',
      ],
      [
        { logId: '0123456789abcde' },
        'logId to be 16 lowercase hex digits, found the string "0123456789abcde"',
      ],
      [
        { logId: '0123456789abcdef0' },
        'logId to be 16 lowercase hex digits, found the string "0123456789abcdef0"',
      ],
      [
        { logId: '0123456789abcdeg' },
        'logId to be 16 lowercase hex digits, found the string "0123456789abcdeg"',
      ],
      [
        { logId: 12 as unknown as string },
        'logId to be 16 lowercase hex digits, found the number 12',
      ],
      [{ logId: undefined }, 'logId to be 16 lowercase hex digits, found undefined'],
    ];
    for (const [fields, message] of bad) {
      let error: unknown;
      try {
        encodeSegmentHeader({ ...header, ...fields } as SegmentHeader);
      } catch (e) {
        error = e;
      }
      expect(WalError.isInstance(error, ErrorCode.INVALID_ARGUMENT)).toBe(true);
      expect((error as Error).message).toBe(`expected ${message}`);
    }
  });
});
