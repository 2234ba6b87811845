import zlib from 'node:zlib';
import { crc32, crc32Small, crc32Zlib, ZLIB_CRC_MIN_BYTES } from '@wal/codec';
import { crc32Range } from '@wal/codec/internal';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const seed = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff_ffff }));

describe('CRC-32', () => {
  test('the check value: CRC-32 of "123456789" is 0xcbf43926 on both paths', () => {
    const input = new TextEncoder().encode('123456789');
    expect(crc32Small(input)).toBe(0xcbf43926);
    expect(crc32Zlib(input)).toBe(0xcbf43926);
    expect(crc32(input)).toBe(0xcbf43926);
  });

  test('both paths agree at every size from 0 to 2 KiB, with a seed', () => {
    const data = new Uint8Array(2048).map((_, i) => (i * 197 + 11) & 0xff);
    for (let n = 0; n <= data.length; n++) {
      const slice = data.subarray(data.length - n);
      const small = crc32Small(slice, 0x9e3779b9);
      expect({ n, crc: crc32Zlib(slice, 0x9e3779b9) }).toEqual({ n, crc: small });
      expect({ n, crc: crc32(slice, 0x9e3779b9) }).toEqual({ n, crc: small });
    }
  });

  test('random inputs of all sizes and seeds: crc32 = crc32Small = crc32Zlib, unsigned', () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ minLength: ZLIB_CRC_MIN_BYTES - 8, maxLength: ZLIB_CRC_MIN_BYTES + 8 }),
      fc.uint8Array({ maxLength: 70_000 }),
    );
    fc.assert(
      fc.property(data, seed, (bytes, s) => {
        const expected = zlib.crc32(bytes, s);
        expect(crc32Small(bytes, s)).toBe(expected);
        expect(crc32Zlib(bytes, s)).toBe(expected);
        expect(crc32(bytes, s)).toBe(expected);
        expect(crc32(bytes, s)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  test('a seeded continuation equals the CRC of the concatenation, across the size switch', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1000 }),
        fc.uint8Array({ maxLength: 1000 }),
        (a, b) => {
          const whole = crc32(new Uint8Array([...a, ...b]));
          expect(crc32(b, crc32(a))).toBe(whole);
          expect(crc32Small(b, crc32Zlib(a))).toBe(whole);
          expect(crc32Zlib(b, crc32Small(a))).toBe(whole);
        },
      ),
    );
  });

  test('crc32Range is zlib.crc32 of any range of a buffer, from any seed, without a subarray', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000, size: 'max' }),
        fc.nat(),
        fc.nat(),
        seed,
        (data, a, b, from) => {
          const start = data.length ? a % (data.length + 1) : 0;
          const end = start + (data.length - start ? b % (data.length - start + 1) : 0);
          const range = data.subarray(start, end);
          // zlib.crc32 of an empty view is 0 whatever the seed; the CRC of nothing is the seed.
          const expected = range.length === 0 ? from >>> 0 : zlib.crc32(range, from);
          expect(crc32Range(data, from, start, end)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
