import {
  decodeAll,
  ErrorCode,
  encodeBatchFrame,
  encodeMarkFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  WalError,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  allocations,
  chunkCuts,
  concat,
  decodeSplit,
  del,
  encodeSegment,
  expectedFrames,
  flipBit,
  type Item,
  itemArb,
  normalize,
  put,
  SALT,
  SegmentWriter,
  sampleItems,
} from './helpers.js';

const small = sampleItems.filter((item) => item.type !== 'seal');
const big: Item = { type: 'batch', ops: [put('big', 'x'.repeat(3000)), del('y')] };
const seal: Item = { type: 'seal' };
const synced = (offset: number) => offset;
const at = (w: SegmentWriter, index: number) => (w.frames[index]?.offset as number) - 48;

const flippedByte = (bytes: Uint8Array, index: number) => flipBit(bytes, index * 8 + 4);

// Inputs with every kind of damage and every record type, mid-log and at the tail.
const inputs: Record<string, Uint8Array> = {
  clean: new SegmentWriter().items([...small, big, ...small, seal], synced).bytes,
  'a flipped CRC mid-log': flippedByte(new SegmentWriter().items([...small, big]).bytes, 5),
  'a flipped body byte in a spanning frame': (() => {
    const w = new SegmentWriter().items([...small, big, ...small]);
    return flippedByte(w.bytes, at(w, small.length) + 1500);
  })(),
  'a huge length mid-log': new SegmentWriter()
    .items(small)
    .raw(new Uint8Array([0xff, 0xff, 0xff, 0xff]))
    .items(small).bytes,
  'zeros mid-log': new SegmentWriter().items(small).raw(new Uint8Array(700)).items(small).bytes,
  'a zero-filled tail (free space)': new SegmentWriter().items(small).raw(new Uint8Array(100))
    .bytes,
  'a truncated tail': new SegmentWriter().items([...small, big]).bytes.slice(0, -1000),
  'a frame header cut short': (() => {
    const w = new SegmentWriter().items([...small, big]);
    return w.bytes.slice(0, at(w, small.length) + 6);
  })(),
  'garbage then frames': new SegmentWriter().raw(new Uint8Array(50).fill(0x5a)).items(small).bytes,
  'frames larger than many chunks, with damage between': new SegmentWriter()
    .items([{ type: 'batch', ops: [put('k', 'a'.repeat(9000))] }])
    .raw(new Uint8Array(300).fill(0xee))
    .items([{ type: 'batch', ops: [put('k', 'b'.repeat(9000))] }, ...small]).bytes,
  'a length overrunning into later frames': (() => {
    const w = new SegmentWriter().items([...small, big, ...small]);
    const bytes = w.bytes;
    const start = at(w, small.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(start, view.getUint32(start, true) + 40, true);
    return bytes;
  })(),
  'a frame of another salt between': new SegmentWriter()
    .items(small)
    .raw(encodeBatchFrame({ salt: SALT ^ 1, synced: 48 }, 8, [put('k', 'v')]))
    .items(small).bytes,
  'entries lost in damage (resync to a later sequence)': new SegmentWriter()
    .items(small)
    .raw(new Uint8Array(40).fill(0x33))
    .skip(3)
    .items([big, ...small]).bytes,
  'an intact frame out of sequence': new SegmentWriter()
    .items(small)
    .raw(encodeBatchFrame({ salt: SALT, synced: 48 }, 100, [put('k', 'v'.repeat(500))]))
    .items(small).bytes,
  'a seal followed by a mark that would continue': (() => {
    const w = new SegmentWriter().items([...small, seal]);
    return concat(w.bytes, encodeMarkFrame({ salt: SALT, synced: 48 }, w.next));
  })(),
  'a seal followed by bytes that start with zero': new SegmentWriter()
    .items([...small, seal])
    .raw(new Uint8Array([0, 0, 0, 0, 9])).bytes,
};

describe('chunked input gives the same results as one push', () => {
  for (const [name, bytes] of Object.entries(inputs)) {
    test(`${name}: every chunk size from 1 to 64`, () => {
      const options = { salt: SALT, firstSequence: 0 };
      const whole = normalize(decodeAll(bytes, options));
      expect(whole.some((r) => r.kind === 'frame')).toBe(true);
      for (let size = 1; size <= 64; size++) {
        const results = normalize(decodeSplit(bytes, chunkCuts(bytes.length, size), options));
        expect({ size, results }).toEqual({ size, results: whole });
      }
    });
  }

  test('random segments with random damage, pushed in random chunk sizes', () => {
    const junk = fc.oneof(
      fc.constant(new Uint8Array(0)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      fc.nat({ max: 600 }).map((n) => new Uint8Array(n)),
    );
    fc.assert(
      fc.property(
        fc.record({
          head: fc.array(itemArb(3), { minLength: 1, maxLength: 4 }),
          junk,
          skip: fc.nat({ max: 3 }),
          tail: fc.array(itemArb(3), { maxLength: 3 }),
          sealed: fc.boolean(),
          trim: fc.nat({ max: 20 }),
          flips: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
            maxLength: 2,
          }),
          sizes: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
          salt: fc.nat({ max: 0xffff_ffff }),
        }),
        ({ head, junk, skip, tail, sealed, trim, flips, sizes, salt }) => {
          const w = new SegmentWriter(0, salt)
            .items(head, synced)
            .raw(junk)
            .skip(skip)
            .items(sealed ? [...tail, seal] : tail);
          let bytes = w.bytes.subarray(0, Math.max(0, w.bytes.length - trim));
          for (const f of flips) bytes = flipBit(bytes, Math.floor(f * bytes.length * 8));
          const cuts: number[] = [];
          for (let p = 0, i = 0; p < bytes.length; i++) {
            p += sizes[i % sizes.length] as number;
            if (p < bytes.length) cuts.push(p);
          }
          const options = w.options();
          expect(normalize(decodeSplit(bytes, cuts, options))).toEqual(
            normalize(decodeAll(bytes, options)),
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  test('pulling only after all pushes gives the same results as pulling after each', () => {
    const bytes = inputs['a flipped body byte in a spanning frame'] as Uint8Array;
    const options = { salt: SALT, firstSequence: 0 };
    for (const size of [1, 7, 100, 1000]) {
      const decoder = new FrameDecoder(options);
      let from = 0;
      for (const cut of [...chunkCuts(bytes.length, size), bytes.length]) {
        decoder.push(bytes.subarray(from, cut));
        from = cut;
      }
      decoder.end();
      expect(normalize([...decoder])).toEqual(normalize(decodeAll(bytes, options)));
    }
  });
});

describe('copying', () => {
  const options = { salt: SALT, firstSequence: 0 };

  test('a large frame pushed in many small chunks is copied O(1) times per byte', () => {
    const frame = encodeBatchFrame({ salt: SALT, synced: 48 }, 0, [put('k', 'x'.repeat(1 << 20))]);
    const { total } = allocations(() => {
      const results = decodeSplit(frame, chunkCuts(frame.length, 1024), options);
      expect(results.map((r) => r.kind)).toEqual(['frame']);
    });
    // Joining everything so far on every push would allocate ~512 MiB here.
    expect(total).toBeLessThan(5 * frame.length);
  });

  test('a large damaged region pushed in small chunks is copied O(1) times per byte', () => {
    const bytes = new SegmentWriter().raw(new Uint8Array(1 << 20).fill(0xee)).items(small).bytes;
    const { total } = allocations(() => {
      const results = decodeSplit(bytes, chunkCuts(bytes.length, 1024), options);
      expect(results[0]).toMatchObject({ kind: 'damage', offset: 48, bytes: 1 << 20 });
    });
    expect(total).toBeLessThan(5 * bytes.length);
  });

  test('frames in large chunks are not copied, except the one spanning each boundary', () => {
    const items: Item[] = Array.from({ length: 2000 }, () => ({
      type: 'batch',
      ops: [put('k', 'v'.repeat(100))],
    }));
    const segment = encodeSegment(items);
    const { largest } = allocations(() => {
      decodeSplit(segment.bytes, chunkCuts(segment.bytes.length, 64 * 1024), options);
    });
    expect(largest).toBeLessThan(200);
  });
});

describe('FrameDecoder', () => {
  const options = { salt: SALT, firstSequence: 100 };
  const bigSegment = encodeSegment([big], { firstSequence: 100, base: 100 });
  const bigFrame = bigSegment.bytes;

  test('returns undefined while a frame is incomplete, then the frame once it is', () => {
    const decoder = new FrameDecoder({ ...options, offset: 100 });
    expect(decoder.offset).toBe(100);
    decoder.push(bigFrame.subarray(0, 10));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.offset).toBe(100);
    decoder.push(bigFrame.subarray(10));
    expect(normalize([decoder.next()])).toEqual(expectedFrames(bigSegment));
    expect(decoder.offset).toBe(100 + bigFrame.length);
    expect(decoder.nextSequence).toBe(102);
    expect(decoder.next()).toBeUndefined();
  });

  test('the offset defaults to SEGMENT_HEADER_SIZE', () => {
    const decoder = new FrameDecoder(options);
    expect(decoder.offset).toBe(48);
    expect(decoder.nextSequence).toBe(100);
    expect(decoder.sealed).toBe(false);
  });

  test('reports a cut-short frame only after end()', () => {
    const decoder = new FrameDecoder({ ...options, offset: 100 });
    decoder.push(bigFrame.subarray(0, 100));
    expect([...decoder]).toEqual([]);
    decoder.end();
    expect(normalize([...decoder])).toEqual([
      { kind: 'damage', offset: 100, bytes: 100, reason: 'truncated', nextSequence: 100 },
    ]);
    expect(decoder.next()).toBeUndefined();
  });

  test('empty input and empty chunks give nothing', () => {
    const decoder = new FrameDecoder(options);
    decoder.push(new Uint8Array(0));
    decoder.end();
    expect(decoder.next()).toBeUndefined();
  });

  test('keys and values are views into the pushed chunk, not copies', () => {
    const frame = encodeBatchFrame({ salt: SALT, synced: 48 }, 100, [put('k', 'v')]);
    const decoder = new FrameDecoder(options);
    decoder.push(frame);
    const r = decoder.next();
    expect(
      r?.kind === 'frame' && r.record.type === 'batch' && r.record.entries[0]?.value?.buffer,
    ).toBe(frame.buffer);
  });

  test('a push after end() throws WAL_INVALID_ARGUMENT', () => {
    const decoder = new FrameDecoder(options);
    decoder.end();
    expect(() => decoder.push(new Uint8Array(1))).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_ARGUMENT,
        message: 'expected input before end(), found a push after it',
      }),
    );
  });

  const base = { salt: 1, firstSequence: 0 };
  const badOptions: [FrameDecoderOptions, string][] = [
    [
      { ...base, maxRecordBytes: 21 },
      'expected maxRecordBytes to be an integer in [22, 1073741824], found the number 21',
    ],
    [
      { ...base, maxRecordBytes: 2 ** 30 + 1 },
      `expected maxRecordBytes to be an integer in [22, 1073741824], found the number ${2 ** 30 + 1}`,
    ],
    [
      { ...base, maxRecordBytes: Number.NaN },
      'expected maxRecordBytes to be an integer in [22, 1073741824], found the number NaN',
    ],
    [
      { ...base, offset: -1 },
      'expected offset to be a non-negative safe integer, found the number -1',
    ],
    [
      { ...base, offset: '0' as unknown as number },
      'expected offset to be a non-negative safe integer, found the string "0"',
    ],
    [{ firstSequence: 0 } as FrameDecoderOptions, 'expected salt to be a u32, found undefined'],
    [{ ...base, salt: 2 ** 32 }, 'expected salt to be a u32, found the number 4294967296'],
    [{ ...base, salt: -1 }, 'expected salt to be a u32, found the number -1'],
    [
      { ...base, firstSequence: -1 },
      'expected firstSequence to be a sequence, found the number -1',
    ],
    [
      { ...base, firstSequence: 2 ** 53 },
      'expected firstSequence to be a sequence, found the number 9007199254740992',
    ],
    [
      { salt: 1 } as FrameDecoderOptions,
      'expected firstSequence to be a sequence, found undefined',
    ],
    [{ ...base, ceiling: 1.5 }, 'expected ceiling to be a sequence, found the number 1.5'],
    [{ ...base, ceiling: -1 }, 'expected ceiling to be a sequence, found the number -1'],
    [undefined as unknown as FrameDecoderOptions, 'expected salt to be a u32, found undefined'],
  ];
  test.each(badOptions)('options %o throw WAL_INVALID_OPTIONS', (bad, message) => {
    let error: unknown;
    try {
      new FrameDecoder(bad);
    } catch (e) {
      error = e;
    }
    expect(WalError.isInstance(error, ErrorCode.INVALID_OPTIONS)).toBe(true);
    expect((error as Error).message).toBe(message);
  });
});
