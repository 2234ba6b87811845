import {
  decodeAll,
  ErrorCode,
  encodeRecord,
  FrameDecoder,
  type FrameDecoderOptions,
  WalError,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  allocations,
  batchArb,
  chunkCuts,
  concat,
  decodeSplit,
  del,
  encodeBatches,
  expectedRecords,
  normalize,
  put,
  sampleLayout,
} from './helpers.js';

const sample = sampleLayout().bytes;
const big = encodeRecord(100, [put('big', 'x'.repeat(3000)), del('y')]);
const flipped = (bytes: Uint8Array, at: number) => {
  const copy = new Uint8Array(bytes);
  copy[at] = (copy[at] as number) ^ 0x10;
  return copy;
};

// Inputs with every kind of damage, mid-log and at the tail.
const inputs: Record<string, Uint8Array> = {
  clean: concat(sample, big, sample),
  'a flipped CRC mid-log': concat(flipped(sample, 5), big),
  'a flipped body byte in a spanning frame': concat(sample, flipped(big, 1500), sample),
  'a huge length mid-log': concat(sample, new Uint8Array([0xff, 0xff, 0xff, 0xff]), sample),
  'zeros mid-log': concat(sample, new Uint8Array(700), sample),
  'a zero-filled tail': concat(sample, new Uint8Array(100)),
  'a truncated tail': concat(sample, big.subarray(0, 2000)),
  'a frame header cut short': concat(sample, big.subarray(0, 6)),
  'garbage then frames': concat(new Uint8Array(50).fill(0x5a), sample),
  'frames larger than many chunks, with damage between': concat(
    encodeRecord(1, [put('k', 'a'.repeat(9000))]),
    new Uint8Array(300).fill(0xee),
    encodeRecord(2, [put('k', 'b'.repeat(9000))]),
    sample,
  ),
  'a length overrunning into later frames': (() => {
    const f = new Uint8Array(big);
    new DataView(f.buffer).setUint32(0, big.length - 8 + 40, true);
    return concat(sample, f, sample);
  })(),
};

describe('chunked input gives the same results as one push', () => {
  for (const [name, bytes] of Object.entries(inputs)) {
    test(`${name}: every chunk size from 1 to 64`, () => {
      const whole = normalize(decodeAll(bytes, { offset: 32 }));
      expect(whole.some((r) => (r as { kind: string }).kind === 'record')).toBe(true);
      for (let size = 1; size <= 64; size++) {
        const results = normalize(
          decodeSplit(bytes, chunkCuts(bytes.length, size), { offset: 32 }),
        );
        expect({ size, results }).toEqual({ size, results: whole });
      }
    });
  }

  test('random splits of random logs, with and without damage', () => {
    const damage = fc.oneof(
      fc.constant(new Uint8Array(0)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      fc.nat({ max: 600 }).map((n) => new Uint8Array(n)),
    );
    fc.assert(
      fc.property(
        fc.array(batchArb(3), { minLength: 1, maxLength: 4 }),
        damage,
        fc.array(batchArb(3), { maxLength: 3 }),
        fc.nat({ max: 20 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (head, junk, tail, trim, points) => {
          const full = concat(encodeBatches(head).bytes, junk, encodeBatches(tail).bytes);
          const bytes = full.subarray(0, Math.max(0, full.length - trim));
          const cuts = [...new Set(points.map((p) => Math.floor(p * bytes.length)))].sort(
            (a, b) => a - b,
          );
          expect(normalize(decodeSplit(bytes, cuts))).toEqual(normalize(decodeAll(bytes)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('pulling only after all pushes gives the same results as pulling after each', () => {
    const bytes = inputs['a flipped body byte in a spanning frame'] as Uint8Array;
    for (const size of [1, 7, 100, 1000]) {
      const decoder = new FrameDecoder();
      let from = 0;
      for (const cut of [...chunkCuts(bytes.length, size), bytes.length]) {
        decoder.push(bytes.subarray(from, cut));
        from = cut;
      }
      decoder.end();
      expect(normalize([...decoder])).toEqual(normalize(decodeAll(bytes)));
    }
  });
});

describe('copying', () => {
  test('a large frame pushed in many small chunks is copied O(1) times per byte', () => {
    const frame = encodeRecord(0, [put('k', 'x'.repeat(1 << 20))]);
    const { total } = allocations(() => {
      const results = decodeSplit(frame, chunkCuts(frame.length, 1024));
      expect(results.map((r) => r.kind)).toEqual(['record']);
    });
    // Joining everything so far on every push would allocate ~512 MiB here.
    expect(total).toBeLessThan(5 * frame.length);
  });

  test('a large damaged region pushed in small chunks is copied O(1) times per byte', () => {
    const bytes = concat(new Uint8Array(1 << 20).fill(0xee), sample);
    const { total } = allocations(() => {
      const results = decodeSplit(bytes, chunkCuts(bytes.length, 1024));
      expect(results[0]).toMatchObject({ kind: 'damage', offset: 0, bytes: 1 << 20 });
    });
    expect(total).toBeLessThan(5 * bytes.length);
  });

  test('frames in large chunks are not copied, except the one spanning each boundary', () => {
    const layout = encodeBatches(
      Array.from({ length: 2000 }, (_, i) => ({
        firstSequence: i,
        ops: [put('k', 'v'.repeat(100))],
      })),
    );
    const { largest } = allocations(() => {
      decodeSplit(layout.bytes, chunkCuts(layout.bytes.length, 64 * 1024));
    });
    expect(largest).toBeLessThan(200);
  });
});

describe('FrameDecoder', () => {
  test('returns undefined while a frame is incomplete, then the record once it is', () => {
    const decoder = new FrameDecoder({ offset: 32 });
    decoder.push(big.subarray(0, 10));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.offset).toBe(32);
    decoder.push(big.subarray(10));
    expect(normalize([decoder.next()].filter((r) => r !== undefined))).toEqual(
      expectedRecords(
        encodeBatches([{ firstSequence: 100, ops: [put('big', 'x'.repeat(3000)), del('y')] }]),
        32,
      ),
    );
    expect(decoder.offset).toBe(32 + big.length);
    expect(decoder.next()).toBeUndefined();
  });

  test('reports a cut-short frame only after end()', () => {
    const decoder = new FrameDecoder();
    decoder.push(big.subarray(0, 100));
    expect([...decoder]).toEqual([]);
    decoder.end();
    expect(normalize([...decoder])).toEqual([
      { kind: 'damage', offset: 0, bytes: 100, reason: 'truncated' },
    ]);
    expect(decoder.next()).toBeUndefined();
  });

  test('empty input and empty chunks give nothing', () => {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array(0));
    decoder.end();
    expect(decoder.next()).toBeUndefined();
  });

  test('keys and values are views into the pushed chunk, not copies', () => {
    const frame = encodeRecord(0, [put('k', 'v')]);
    const decoder = new FrameDecoder();
    decoder.push(frame);
    const r = decoder.next();
    expect(r?.kind === 'record' && r.record.entries[0]?.value?.buffer).toBe(frame.buffer);
  });

  test('a push after end() throws WAL_INVALID_ARGUMENT', () => {
    const decoder = new FrameDecoder();
    decoder.end();
    expect(() => decoder.push(new Uint8Array(1))).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_ARGUMENT,
        message: 'expected input before end(), found a push after it',
      }),
    );
  });

  const badOptions: [FrameDecoderOptions, string][] = [
    [
      { maxRecordBytes: 17 },
      'expected maxRecordBytes to be an integer in [18, 1073741824], found the number 17',
    ],
    [
      { maxRecordBytes: 2 ** 30 + 1 },
      `expected maxRecordBytes to be an integer in [18, 1073741824], found the number ${2 ** 30 + 1}`,
    ],
    [
      { maxRecordBytes: Number.NaN },
      'expected maxRecordBytes to be an integer in [18, 1073741824], found the number NaN',
    ],
    [{ offset: -1 }, 'expected offset to be a non-negative safe integer, found the number -1'],
    [
      { offset: '0' as unknown as number },
      'expected offset to be a non-negative safe integer, found a string of length 1',
    ],
  ];
  test.each(badOptions)('options %o throw WAL_INVALID_OPTIONS', (options, message) => {
    let thrown: unknown;
    try {
      new FrameDecoder(options);
    } catch (e) {
      thrown = e;
    }
    expect(WalError.isInstance(thrown, ErrorCode.INVALID_OPTIONS)).toBe(true);
    expect((thrown as Error).message).toBe(message);
  });
});
