import {
  decodeAll,
  decodeSegmentHeader,
  encodeSegmentHeader,
  MAX_SEQUENCE,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  expectedFrames,
  flipBit,
  type Normal,
  normalize,
  optionsOf,
  type Segment,
  sampleSegment,
  segmentArb,
} from './helpers.js';

function frameAt(segment: Segment, byte: number): number {
  const offset = segment.base + byte;
  return segment.frames.findIndex((f) => offset >= f.offset && offset < f.offset + f.size);
}

describe('single-bit flips in frames', () => {
  const segment = sampleSegment();
  const frames = expectedFrames(segment);
  const bits = Array.from({ length: segment.bytes.length * 8 }, (_, bit) => bit);

  test('the sample holds every record type', () => {
    expect(frames.map((f) => f.record.type)).toEqual([
      'batch',
      'batch',
      'batch',
      'mark',
      'hole',
      'batch',
      'seal',
    ]);
  });

  test(`all ${bits.length} flips: exactly the damaged frame is lost, the others come back`, () => {
    const allowed = ['checksum-mismatch', 'bad-length', 'truncated'];
    for (const bit of bits) {
      const hit = frameAt(segment, bit >> 3);
      const frame = segment.frames[hit] as Segment['frames'][number];
      const results = normalize(decodeAll(flipBit(segment.bytes, bit), optionsOf(segment)));
      const damage = results[hit] as Normal & { reason: string };
      const interrupted =
        hit === 0 ? segment.firstSequence : (segment.frames[hit - 1]?.next as number);
      expect({ bit, results }).toEqual({
        bit,
        results: frames.map((f, i) =>
          i === hit
            ? {
                kind: 'damage',
                offset: frame.offset,
                bytes: frame.size,
                reason: damage.reason,
                nextSequence: interrupted,
              }
            : f,
        ),
      });
      expect(allowed).toContain(damage.reason);
    }
  });

  test('random segments: a flip never yields a frame that was not written', () => {
    fc.assert(
      fc.property(
        segmentArb(5),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (segment, where) => {
          const bit = Math.floor(where * segment.bytes.length * 8);
          const written = new Map(segment.frames.map((f) => [f.offset, f.expected]));
          const results = normalize(decodeAll(flipBit(segment.bytes, bit), optionsOf(segment)));
          for (const r of results) {
            if (r.kind === 'frame') expect(r).toEqual(written.get(r.offset));
          }
          expect(results.filter((r) => r.kind === 'damage')).toHaveLength(1);
          expect(results.filter((r) => r.kind === 'frame')).toHaveLength(segment.frames.length - 1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('single-bit flips in the segment header', () => {
  const header = encodeSegmentHeader({
    segment: 0x1234_5678_9a,
    firstSequence: MAX_SEQUENCE,
    salt: 0xdead_beef,
    maxRecordBytes: 1 << 20,
    logId: '0123456789abcdef',
  });

  test(`all ${SEGMENT_HEADER_SIZE * 8} flips are bad-header, never a different header`, () => {
    for (let bit = 0; bit < SEGMENT_HEADER_SIZE * 8; bit++) {
      expect({ bit, result: decodeSegmentHeader(flipBit(header, bit)) }).toEqual({
        bit,
        result: { reason: 'bad-header', detail: expect.any(String) },
      });
    }
  });
});
