// The window check (one native CRC pass over many frames, combined with their
// stored CRCs) must agree with checking each frame alone: every intact run
// passes, and any damage of up to 3 bits inside a window is caught.
import { decodeAll, encodeBatchFrame, FRAME_HEADER_SIZE, readU32, saltSeed } from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CRC_WINDOW_BYTES, checkFrameWindows } from '../src/crc-window.js';
import { concat, SALT } from './helpers.js';

const MAX = 1 << 20;
const seed = saltSeed(SALT);

/** Frames of one put each, with values of the given lengths; and where each frame starts. */
function framesOf(valueLengths: number[], salt = SALT) {
  const parts = valueLengths.map((n, i) =>
    encodeBatchFrame({ salt, synced: 48 }, i, [
      { type: 'put', key: new Uint8Array([i & 255]), value: new Uint8Array(n).fill(i * 7) },
    ]),
  );
  const starts: number[] = [];
  let p = 0;
  for (const part of parts) {
    starts.push(p);
    p += part.length;
  }
  return { bytes: concat(...parts), starts };
}

const check = (bytes: Uint8Array, start = 0, s = seed) =>
  checkFrameWindows(bytes, start, bytes.length, MAX, s, { valid: 0, failedEnd: 0 });

// Short and long values, many repeats of a few lengths and more distinct
// lengths than the length cache holds.
const lengths = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(5, 100, 1000), fc.nat(9000)),
  { minLength: 1, maxLength: 120 },
);

describe('checkFrameWindows', () => {
  test('passes every intact run of frames to its end, from any frame', () => {
    fc.assert(
      fc.property(lengths, fc.nat(), (values, at) => {
        const { bytes, starts } = framesOf(values);
        const start = starts[at % starts.length] as number;
        const result = check(bytes, start);
        // It walks past frames longer than a window only by stopping there.
        const long = starts.find(
          (s) => s >= start && FRAME_HEADER_SIZE + readU32(bytes, s) > CRC_WINDOW_BYTES,
        );
        expect(result).toEqual({ valid: long ?? bytes.length, failedEnd: long ?? bytes.length });
      }),
      { numRuns: 150 },
    );
  });

  test('a frame of another salt fails its window', () => {
    const { bytes } = framesOf([10, 20, 30]);
    expect(check(bytes, 0, saltSeed(SALT ^ 1))).toEqual({ valid: 0, failedEnd: bytes.length });
  });

  test('stops at an incomplete frame and at an implausible length', () => {
    const { bytes, starts } = framesOf([10, 20, 30]);
    const cut = bytes.subarray(0, bytes.length - 1);
    expect(check(cut)).toEqual({ valid: starts[2], failedEnd: starts[2] });
    const zeros = concat(bytes.subarray(0, starts[1]), new Uint8Array(64));
    expect(check(zeros)).toEqual({ valid: starts[1], failedEnd: starts[1] });
  });

  test('every 1 to 3 bit flips in short frames fail the window of the first', () => {
    const values = Array.from({ length: 200 }, (_, i) => 40 + (i % 3) * 50);
    const { bytes, starts } = framesOf(values);
    const windowOf = (offset: number) => {
      // The windows the check closes, as it walks from 0.
      let windowStart = 0;
      for (const s of starts) {
        const end = s + FRAME_HEADER_SIZE + readU32(bytes, s);
        if (end - windowStart > CRC_WINDOW_BYTES) windowStart = s;
        if (offset < end) return windowStart;
      }
      return windowStart;
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(bytes.length * 8 - 1), { minLength: 1, maxLength: 3 }),
        (bits) => {
          const damaged = new Uint8Array(bytes);
          for (const bit of bits)
            damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
          // Flips that change a length change where frames are: not this test's case.
          const touchesLength = bits.some((bit) =>
            starts.some((s) => bit >> 3 >= s && bit >> 3 < s + 4),
          );
          fc.pre(!touchesLength);
          const first = Math.min(...bits) >> 3;
          const result = check(damaged);
          expect(result.valid).toBeLessThanOrEqual(windowOf(first));
          expect(result.failedEnd).toBeGreaterThan(first);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('the decoder reports damage in a checked window at its frame, and keeps the frames around it', () => {
    fc.assert(
      fc.property(
        lengths,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (values, at, inside, xor) => {
          const { bytes, starts } = framesOf(values);
          const j = at % starts.length;
          const start = starts[j] as number;
          const size = FRAME_HEADER_SIZE + readU32(bytes, start);
          // A byte of the stored CRC or the record: the length stays.
          const i = start + 4 + (inside % (size - 4));
          const damaged = new Uint8Array(bytes);
          damaged[i] = (damaged[i] as number) ^ xor;
          const results = decodeAll(damaged, { salt: SALT, firstSequence: 0, maxRecordBytes: MAX });
          const kinds = results.map((r) => r.kind);
          expect(kinds.slice(0, j)).toEqual(Array(j).fill('frame'));
          expect(results[j]).toMatchObject({ kind: 'damage', offset: 48 + start });
          expect(results.slice(0, j).map((r) => r.offset)).toEqual(
            starts.slice(0, j).map((s) => 48 + s),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
