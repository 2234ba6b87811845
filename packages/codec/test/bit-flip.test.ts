import {
  decodeAll,
  decodeSegmentHeader,
  encodeSegmentHeader,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  batchArb,
  encodeBatches,
  expectedRecords,
  type Layout,
  normalize,
  sampleLayout,
} from './helpers.js';

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

function frameAt(layout: Layout, byte: number): number {
  return layout.frames.findIndex((f) => byte >= f.offset && byte < f.offset + f.size);
}

describe('single-bit flips in frames', () => {
  const layout = sampleLayout();
  const records = expectedRecords(layout);
  const bits = Array.from({ length: layout.bytes.length * 8 }, (_, bit) => bit);

  test(`all ${bits.length} flips: exactly the damaged frame is lost, the others come back`, () => {
    const allowed = ['checksum-mismatch', 'bad-length', 'truncated'];
    for (const bit of bits) {
      const hit = frameAt(layout, bit >> 3);
      const frame = layout.frames[hit] as Layout['frames'][number];
      const results = normalize(decodeAll(flip(layout.bytes, bit)));
      const damage = results[hit] as { reason: string };
      expect({ bit, results }).toEqual({
        bit,
        results: records.map((r, i) =>
          i === hit
            ? { kind: 'damage', offset: frame.offset, bytes: frame.size, reason: damage.reason }
            : r,
        ),
      });
      expect(allowed).toContain(damage.reason);
    }
  });

  test('random layouts: a flip never yields a record that was not written', () => {
    fc.assert(
      fc.property(
        fc.array(batchArb(4), { minLength: 1, maxLength: 5 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (batches, where) => {
          const layout = encodeBatches(batches);
          const bit = Math.floor(where * layout.bytes.length * 8);
          const written = new Map(
            expectedRecords(layout).map((r) => [(r as { offset: number }).offset, r]),
          );
          const results = normalize(decodeAll(flip(layout.bytes, bit)));
          for (const r of results as { kind: string; offset: number }[]) {
            if (r.kind === 'record') expect(r).toEqual(written.get(r.offset));
          }
          expect(results.some((r) => (r as { kind: string }).kind === 'damage')).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('single-bit flips in the segment header', () => {
  const header = encodeSegmentHeader({ segmentNumber: 0x1234_5678_9a, firstSequence: 2 ** 53 - 1 });

  test(`all ${SEGMENT_HEADER_SIZE * 8} flips are bad-header, never a different header`, () => {
    for (let bit = 0; bit < SEGMENT_HEADER_SIZE * 8; bit++) {
      expect({ bit, result: decodeSegmentHeader(flip(header, bit)) }).toEqual({
        bit,
        result: { reason: 'bad-header', detail: expect.any(String) },
      });
    }
  });
});
