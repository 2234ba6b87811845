import { decodeAll } from '@wal/codec';
import { describe, expect, test } from 'vitest';
import {
  chunkCuts,
  concat,
  decodeSplit,
  del,
  encodeSegment,
  expectedFrames,
  type Normal,
  normalize,
  optionsOf,
  put,
} from './helpers.js';

// The second frame's record is 256 bytes, so its length field starts with a
// zero byte: cut just after it, the tail is all zeros.
const segment = encodeSegment(
  [
    { type: 'batch', ops: [put('a', '1')] },
    { type: 'batch', ops: [put('k', 'v'.repeat(256 - 17 - 5 - 1 - 4))] },
    { type: 'batch', ops: [put('', ''), del('gone')] },
    { type: 'mark' },
    { type: 'hole', count: 3, incident: 1 },
    { type: 'batch', ops: [del('a')] },
  ],
  { firstSequence: 10, synced: (offset) => offset },
);
const frames = expectedFrames(segment);
const options = optionsOf(segment);
const start = (i: number) => (segment.frames[i]?.offset as number) - segment.base;

/** What decoding the first `cut` bytes must give. */
function expectedAt(cut: number): Normal[] {
  const whole = segment.frames.filter((f) => f.offset + f.size <= segment.base + cut).length;
  const boundary = whole === segment.frames.length ? cut : start(whole);
  if (cut === boundary) return frames.slice(0, whole);
  const rest = segment.bytes.subarray(boundary, cut);
  const reason = rest.every((b) => b === 0) ? 'zero-fill' : 'truncated';
  const nextSequence =
    whole === 0 ? segment.firstSequence : (segment.frames[whole - 1]?.next as number);
  return [
    ...frames.slice(0, whole),
    {
      kind: 'damage',
      offset: segment.base + boundary,
      bytes: cut - boundary,
      reason,
      nextSequence,
    },
  ];
}

describe('truncation', () => {
  test('the record of 256 bytes starts with a zero byte (the zero-fill case is exercised)', () => {
    expect(segment.frames[1]?.size).toBe(8 + 256);
    expect(segment.bytes[start(1)]).toBe(0);
    expect(expectedAt(start(1) + 1).at(-1)).toMatchObject({ reason: 'zero-fill' });
  });

  test('a cut at every offset gives the complete frames, then one truncated damage', () => {
    for (let cut = 0; cut <= segment.bytes.length; cut++) {
      const results = normalize(decodeAll(segment.bytes.subarray(0, cut), options));
      expect({ cut, results }).toEqual({ cut, results: expectedAt(cut) });
    }
  });

  test('the same when the bytes arrive in chunks', () => {
    for (let cut = 0; cut <= segment.bytes.length; cut++) {
      const bytes = segment.bytes.subarray(0, cut);
      for (const size of [1, 5, 13]) {
        const results = normalize(decodeSplit(bytes, chunkCuts(cut, size), options));
        expect({ cut, size, results }).toEqual({ cut, size, results: expectedAt(cut) });
      }
    }
  });

  test('a cut followed by zeros to the next 512-byte sector is one damage to the end', () => {
    for (let cut = 1; cut < segment.bytes.length; cut++) {
      // A frame whose cut-off bytes were all zeros is whole again once padded.
      const intact = (i: number) => {
        const end = start(i) + (segment.frames[i]?.size as number);
        return segment.bytes.subarray(Math.min(cut, end), end).every((b) => b === 0);
      };
      let whole = 0;
      while (whole < segment.frames.length && intact(whole)) whole++;
      const padded = concat(segment.bytes.subarray(0, cut), new Uint8Array(512 - (cut % 512)));
      const results = normalize(decodeAll(padded, options));
      expect({ cut, results: results.slice(0, whole) }).toEqual({
        cut,
        results: frames.slice(0, whole),
      });
      const boundary = whole < segment.frames.length ? start(whole) : segment.bytes.length;
      expect({ cut, rest: results.slice(whole) }).toEqual({
        cut,
        rest: [
          expect.objectContaining({
            kind: 'damage',
            offset: segment.base + boundary,
            bytes: padded.length - boundary,
          }),
        ],
      });
    }
  });
});
