import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CRC32_RESIDUE,
  checkFramesTrailer,
  checkFramesV1,
} from '../src/crc-candidates/chunk-check.js';

const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** Today's layout: length | crc(length, record) | record. Built with zlib only. */
function v1Frames(records: Uint8Array[]): Buffer {
  return Buffer.concat(
    records.flatMap((r) => {
      const length = u32le(r.length);
      return [length, u32le(zlib.crc32(r, zlib.crc32(length))), r];
    }),
  );
}

/** The trailer layout: length | payload | crc(length, payload). */
function trailerFrames(records: Uint8Array[]): Buffer {
  return Buffer.concat(
    records.flatMap((r) => {
      const length = u32le(r.length);
      return [length, r, u32le(zlib.crc32(r, zlib.crc32(length)))];
    }),
  );
}

const records = fc.array(fc.uint8Array({ maxLength: 600, size: 'max' }), { maxLength: 40 });

describe('checkFramesV1 and checkFramesTrailer', () => {
  const layouts = [
    { name: 'v1', build: v1Frames, check: checkFramesV1 },
    { name: 'trailer', build: trailerFrames, check: checkFramesTrailer },
  ];

  it('the residue: any message followed by its CRC has the same CRC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500, size: 'max' }), (m) => {
        expect(zlib.crc32(Buffer.concat([m, u32le(zlib.crc32(m))]))).toBe(CRC32_RESIDUE);
      }),
    );
  });

  for (const { name, build, check } of layouts) {
    it(`${name}: accepts intact frames at any offset of a chunk`, () => {
      fc.assert(
        fc.property(records, fc.uint8Array({ maxLength: 9 }), (rs, before) => {
          const frames = build(rs);
          const chunk = Buffer.concat([before, frames, Buffer.from([1, 2, 3])]);
          expect(check(chunk, before.length, before.length + frames.length)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });

    it(`${name}: refuses a chunk with any byte changed`, () => {
      fc.assert(
        fc.property(
          records.filter((rs) => rs.length > 0),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (rs, at, flip) => {
            const chunk = build(rs);
            const i = at % chunk.length;
            chunk[i] = (chunk[i] as number) ^ flip;
            expect(check(chunk, 0, chunk.length)).toBe(false);
          },
        ),
        { numRuns: 500 },
      );
    });

    it(`${name}: refuses a chunk that ends inside a frame`, () => {
      fc.assert(
        fc.property(
          records.filter((rs) => rs.length > 0),
          fc.nat(),
          (rs, cut) => {
            const chunk = build(rs);
            const end = cut % chunk.length;
            // Cutting exactly between frames leaves whole frames: those are intact.
            const whole = rs.some((_, k) => build(rs.slice(0, k)).length === end);
            expect(check(chunk, 0, end)).toBe(whole);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
