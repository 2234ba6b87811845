import { decodeAll } from '@wal/codec';
import { describe, expect, test } from 'vitest';
import {
  chunkCuts,
  concat,
  decodeSplit,
  del,
  encodeBatches,
  expectedRecords,
  type Layout,
  normalize,
  put,
} from './helpers.js';

// The second frame's record is 256 bytes, so its length field starts with a
// zero byte: cut just after it, the tail is all zeros.
const layout: Layout = encodeBatches([
  { firstSequence: 0, ops: [put('a', '1')] },
  { firstSequence: 1, ops: [put('k', 'v'.repeat(256 - 13 - 5 - 1 - 4))] },
  { firstSequence: 2, ops: [put('', ''), del('gone')] },
  { firstSequence: 4, ops: [del('a')] },
]);
const records = expectedRecords(layout);

/** What decoding the first `cut` bytes must give. */
function expectedAt(cut: number): unknown[] {
  const whole = layout.frames.filter((f) => f.offset + f.size <= cut).length;
  const boundary = whole === layout.frames.length ? cut : (layout.frames[whole]?.offset as number);
  if (cut === boundary) return records.slice(0, whole);
  const rest = layout.bytes.subarray(boundary, cut);
  const reason = rest.every((b) => b === 0) ? 'zero-fill' : 'truncated';
  return [
    ...records.slice(0, whole),
    { kind: 'damage', offset: boundary, bytes: cut - boundary, reason },
  ];
}

describe('truncation', () => {
  test('the record of 256 bytes starts with a zero byte (the zero-fill case is exercised)', () => {
    expect(layout.frames[1]?.size).toBe(8 + 256);
    expect(layout.bytes[layout.frames[1]?.offset as number]).toBe(0);
  });

  test('a cut at every offset gives the complete records, then one truncated damage', () => {
    for (let cut = 0; cut <= layout.bytes.length; cut++) {
      const results = normalize(decodeAll(layout.bytes.subarray(0, cut)));
      expect({ cut, results }).toEqual({ cut, results: expectedAt(cut) });
    }
  });

  test('the same when the bytes arrive in chunks', () => {
    for (let cut = 0; cut <= layout.bytes.length; cut++) {
      const bytes = layout.bytes.subarray(0, cut);
      for (const size of [1, 5, 13]) {
        const results = normalize(decodeSplit(bytes, chunkCuts(cut, size)));
        expect({ cut, size, results }).toEqual({ cut, size, results: expectedAt(cut) });
      }
    }
  });

  test('a cut followed by zeros to the next 512-byte sector is one damage to the end', () => {
    for (let cut = 1; cut < layout.bytes.length; cut++) {
      const boundary = layout.frames.find((f) => f.offset + f.size > cut)?.offset as number;
      const padded = concat(layout.bytes.subarray(0, cut), new Uint8Array(512 - (cut % 512)));
      const results = normalize(decodeAll(padded));
      const whole = records.filter((r) => (r as { offset: number }).offset < boundary);
      expect({ cut, results: results.slice(0, -1) }).toEqual({ cut, results: whole });
      expect(results.at(-1)).toMatchObject({
        kind: 'damage',
        offset: boundary,
        bytes: padded.length - boundary,
      });
    }
  });
});
