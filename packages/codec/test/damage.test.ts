import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeFrameAt,
  encodeRecord,
  findNextFrame,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
} from '@wal/codec';
import { describe, expect, test } from 'vitest';
import {
  allocations,
  chunkCuts,
  concat,
  decodeSplit,
  del,
  expectedRecords,
  normalize,
  put,
  rawFrame,
  sampleLayout,
} from './helpers.js';

// A record body: type, first sequence (low, high u32), op count, then raw op bytes.
function body(type: number, seqLow: number, seqHigh: number, count: number, ops: number[]) {
  const out = Buffer.alloc(13 + ops.length);
  out[0] = type;
  out.writeUInt32LE(seqLow, 1);
  out.writeUInt32LE(seqHigh, 5);
  out.writeUInt32LE(count, 9);
  out.set(ops, 13);
  return new Uint8Array(out);
}

// kind 2 (delete), key length 1, key "k"
const DELETE_K = [2, 1, 0, 0, 0, 0x6b];

const before = encodeRecord(1, [put('a', '1')]);
const after = encodeRecord(9, [del('z')]);

/** `damaged` between two good frames: one damage over exactly its bytes, then `after`. */
function expectBetween(damaged: Uint8Array, reason: string) {
  const results = decodeAll(concat(before, damaged, after));
  expect(results.map((r) => [r.kind, r.offset, r.kind === 'damage' ? r.bytes : r.size])).toEqual([
    ['record', 0, before.length],
    ['damage', before.length, damaged.length],
    ['record', before.length + damaged.length, after.length],
  ]);
  expect(results[1]).toMatchObject({ reason });
  return results[1];
}

describe('bad lengths', () => {
  test('a length of 0xFFFFFFFF is bad-length and allocates nothing near its size', () => {
    const damaged = new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7]);
    let results: unknown[] = [];
    const { largest } = allocations(() => {
      results = normalize(decodeAll(concat(before, damaged, after)));
    });
    expect(results[1]).toEqual({
      kind: 'damage',
      offset: before.length,
      bytes: damaged.length,
      reason: 'bad-length',
    });
    expect(largest).toBeLessThan(1024);
  });

  test('a 1 GiB length under the largest limit, pushed byte by byte, allocates nothing large', () => {
    const input = concat(before, new Uint8Array([0xff, 0xff, 0xff, 0x3f, 9, 9, 9, 9]), after);
    const options = { maxRecordBytes: MAX_RECORD_BYTES_LIMIT };
    let results: unknown[] = [];
    const { largest } = allocations(() => {
      results = normalize(decodeSplit(input, chunkCuts(input.length, 1), options));
    });
    expect(results).toEqual(normalize(decodeAll(input)));
    expect(largest).toBeLessThan(1024);
  });

  test('the allocation probe sees the decoder allocate', () => {
    // A frame split across two pushes is copied into one buffer of its size.
    const frame = encodeRecord(0, [put('k', 'v'.repeat(5000))]);
    const { largest } = allocations(() => decodeSplit(frame, [100]));
    expect(largest).toBeGreaterThanOrEqual(frame.length);
  });

  test('the message says what length was expected and found', () => {
    const r = expectBetween(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), 'bad-length');
    expect(r?.kind === 'damage' && r.detail).toMatch(
      /^expected a record length in \[18, 16777216\], found 4294967295; 8 bytes to the next valid frame$/,
    );
  });

  test('a length below the smallest record is bad-length', () => {
    expectBetween(rawFrame(new Uint8Array(17)), 'bad-length');
    expectBetween(rawFrame(new Uint8Array(0)), 'bad-length');
  });

  test('a length past the bytes that remain: truncated at the tail, bad-length mid-log', () => {
    const frame = encodeRecord(2, [put('b', '2')]);
    // The announced record is one byte longer than what is left.
    const torn = new Uint8Array(frame);
    new DataView(torn.buffer).setUint32(0, frame.length - 8 + 1, true);
    expect(normalize(decodeAll(concat(before, torn)))).toEqual([
      ...normalize(decodeAll(before)),
      { kind: 'damage', offset: before.length, bytes: torn.length, reason: 'truncated' },
    ]);
    // Overrunning into a later valid frame: the length is what is wrong.
    const overrun = new Uint8Array(frame);
    new DataView(overrun.buffer).setUint32(0, frame.length - 8 + after.length + 1, true);
    expectBetween(overrun, 'bad-length');
  });

  test('a length above maxRecordBytes is bad-length even when the bytes are there', () => {
    const frame = encodeRecord(2, [put('b', 'x'.repeat(100))]);
    expect(normalize(decodeAll(frame, { maxRecordBytes: frame.length - 9 }))).toEqual([
      { kind: 'damage', offset: 0, bytes: frame.length, reason: 'bad-length' },
    ]);
    expect(decodeAll(frame, { maxRecordBytes: frame.length - 8 })[0]?.kind).toBe('record');
  });
});

describe('damage with a valid CRC (written that way, not torn)', () => {
  test('an unknown record type', () => {
    const r = expectBetween(rawFrame(body(2, 0, 0, 1, DELETE_K)), 'unknown-type');
    expect(r?.kind === 'damage' && r.detail).toMatch(/^expected record type 1, found 2;/);
  });

  test('an unknown op kind', () => {
    const r = expectBetween(rawFrame(body(1, 0, 0, 1, [3, 0, 0, 0, 0])), 'unknown-type');
    expect(r?.kind === 'damage' && r.detail).toMatch(/^expected op kind 1 or 2, found 3 in op 0;/);
  });

  test('a first sequence of 2^53 is bad-sequence', () => {
    expectBetween(rawFrame(body(1, 0, 0x20_0000, 1, DELETE_K)), 'bad-sequence');
    expectBetween(rawFrame(body(1, 0xffff_ffff, 0xffff_ffff, 1, DELETE_K)), 'bad-sequence');
  });

  test('a batch whose last sequence passes 2^53 - 1 is bad-sequence', () => {
    const two = [...DELETE_K, ...DELETE_K];
    expectBetween(rawFrame(body(1, 0xffff_ffff, 0x1f_ffff, 2, two)), 'bad-sequence');
    // 2^53 - 2 and 2^53 - 1 are fine.
    const ok = decodeAll(rawFrame(body(1, 0xffff_fffe, 0x1f_ffff, 2, two)));
    expect(ok[0]?.kind === 'record' && ok[0].record.entries[1]?.sequence).toBe(MAX_SEQUENCE);
  });

  test('an op count of 0 is bad-length', () => {
    const r = expectBetween(rawFrame(body(1, 0, 0, 0, DELETE_K)), 'bad-length');
    expect(r?.kind === 'damage' && r.detail).toMatch(/^expected at least one op, found 0;/);
  });

  test('an op count above the ops present is bad-length', () => {
    expectBetween(rawFrame(body(1, 0, 0, 2, DELETE_K)), 'bad-length');
    expectBetween(rawFrame(body(1, 0, 0, 0xffff_ffff, DELETE_K)), 'bad-length');
  });

  test('an op count below the ops present (bytes left over) is bad-length', () => {
    const r = expectBetween(rawFrame(body(1, 0, 0, 1, [...DELETE_K, ...DELETE_K])), 'bad-length');
    expect(r?.kind === 'damage' && r.detail).toMatch(/found 6 bytes left/);
  });

  test('a key or value length that overruns the record is bad-length', () => {
    expectBetween(rawFrame(body(1, 0, 0, 1, [2, 2, 0, 0, 0, 0x6b])), 'bad-length');
    expectBetween(rawFrame(body(1, 0, 0, 1, [1, 0, 0, 0, 0, 1, 0, 0])), 'bad-length');
    expectBetween(rawFrame(body(1, 0, 0, 1, [1, 0, 0, 0, 0, 2, 0, 0, 0, 0x76])), 'bad-length');
  });
});

describe('zero fill', () => {
  test('a zero-filled tail is zero-fill, whatever its length', () => {
    const layout = sampleLayout();
    for (const zeros of [1, 3, 7, 8, 9, 512, 4096]) {
      const results = normalize(decodeAll(concat(layout.bytes, new Uint8Array(zeros))));
      expect(results).toEqual([
        ...expectedRecords(layout),
        { kind: 'damage', offset: layout.bytes.length, bytes: zeros, reason: 'zero-fill' },
      ]);
    }
  });

  test('zeros mid-log are reported, and the records after them come back', () => {
    const r = expectBetween(new Uint8Array(4096), 'zero-fill');
    expect(r?.kind === 'damage' && r.detail).toMatch(/4096 bytes to the next valid frame$/);
  });

  test('a zero frame header followed by garbage is not zero-fill', () => {
    expectBetween(concat(new Uint8Array(8), new Uint8Array([5, 6, 7])), 'bad-length');
  });

  test('an input of only zeros is one zero-fill', () => {
    expect(normalize(decodeAll(new Uint8Array(100)))).toEqual([
      { kind: 'damage', offset: 0, bytes: 100, reason: 'zero-fill' },
    ]);
  });
});

describe('resync', () => {
  test('garbage between frames is skipped and reported once, with its extent', () => {
    const garbage = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    expectBetween(garbage, 'bad-length');
  });

  test('damage at the very start of input is reported from offset 0', () => {
    const input = concat(new Uint8Array([1, 2, 3]), after);
    expect(normalize(decodeAll(input, { offset: 32 }))).toEqual([
      { kind: 'damage', offset: 32, bytes: 3, reason: 'bad-length' },
      ...normalize(decodeAll(after, { offset: 35 })),
    ]);
  });

  test('a frame with a valid CRC but an unknown type is not a resync point', () => {
    const unknown = rawFrame(body(7, 0, 0, 1, DELETE_K));
    const input = concat(new Uint8Array([9, 9]), unknown, after);
    expect(findNextFrame(input, 0, input.length)).toBe(2 + unknown.length);
    expect(normalize(decodeAll(input))).toEqual([
      { kind: 'damage', offset: 0, bytes: 2 + unknown.length, reason: 'bad-length' },
      ...normalize(decodeAll(after, { offset: 2 + unknown.length })),
    ]);
  });

  test('findNextFrame finds the next valid frame, or -1', () => {
    const layout = sampleLayout();
    const second = layout.frames[1]?.offset as number;
    expect(findNextFrame(layout.bytes, 0, layout.bytes.length)).toBe(0);
    expect(findNextFrame(layout.bytes, 1, layout.bytes.length)).toBe(second);
    expect(findNextFrame(layout.bytes, 1, second)).toBe(-1);
    // A frame that would end past `end` is not valid.
    expect(findNextFrame(layout.bytes, 1, layout.bytes.length - 1)).toBe(second);
    const last = layout.frames[3]?.offset as number;
    expect(findNextFrame(layout.bytes, last + 1, layout.bytes.length)).toBe(-1);
    expect(findNextFrame(layout.bytes, last, layout.bytes.length - 1)).toBe(-1);
  });
});

describe('decodeFrameAt', () => {
  test('is incomplete while the header or the record is cut short', () => {
    const frame = encodeRecord(0, [put('k', 'v')]);
    for (let end = 0; end < frame.length; end++) {
      expect(decodeFrameAt(frame, 0, end)).toEqual({ status: 'incomplete' });
    }
    expect(decodeFrameAt(frame, 0, frame.length)).toMatchObject({
      status: 'record',
      size: frame.length,
    });
  });

  test('decodes in place: keys and values are views into the input', () => {
    const frame = encodeRecord(0, [put('k', 'v')]);
    const r = decodeFrameAt(frame, 0, frame.length, DEFAULT_MAX_RECORD_BYTES);
    if (r.status !== 'record') throw new Error('expected a record');
    const entry = r.record.entries[0];
    expect(entry?.key.buffer).toBe(frame.buffer);
    expect(entry?.value?.buffer).toBe(frame.buffer);
    frame[frame.length - 1] = 0x77;
    expect(entry?.value?.[0]).toBe(0x77);
  });
});
