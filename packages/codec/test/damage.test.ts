import {
  DEFAULT_MAX_RECORD_BYTES,
  decodeAll,
  decodeFrameAt,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  type FrameReadContext,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  mayStartFrame,
  saltSeed,
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
  type Field,
  normalize,
  put,
  rawFrame,
  recordBytes,
  SALT,
  sampleSegment,
  segmentArb,
} from './helpers.js';

const HEADER = 48;
const ctx = { salt: SALT, synced: HEADER };
// Sequence 1 at offset 48, then whatever is tested, then sequence 2.
const before = encodeBatchFrame(ctx, 1, [put('a', '1')]);
const after = encodeBatchFrame(ctx, 2, [del('z')]);
const options = { salt: SALT, firstSequence: 1 };
const at = HEADER + before.length;

/** `damaged` between two good frames: one damage over exactly its bytes, then `after`. */
function expectBetween(damaged: Uint8Array, reason: string) {
  const results = decodeAll(concat(before, damaged, after), options);
  expect(
    normalize(results).map((r) => [r.kind, r.offset, r.kind === 'damage' ? r.bytes : r.size]),
  ).toEqual([
    ['frame', HEADER, before.length],
    ['damage', at, damaged.length],
    ['frame', at + damaged.length, after.length],
  ]);
  expect(results[1]).toMatchObject({ reason, nextSequence: 2 });
  return results[1]?.kind === 'damage' ? results[1].detail : '';
}

// kind 2 (delete), key length 1, key "k"
const DELETE_K = [2, 1, 0, 0, 0, 0x6b];
const batch = (first: Field, count: number, ops: number[], synced = at): Uint8Array =>
  recordBytes(['u8', 1], ['u32', synced], first, ['u32', count], ['bytes', ops]);

describe('bad lengths', () => {
  test('a length of 0xFFFFFFFF is bad-length and allocates nothing near its size', () => {
    const damaged = new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7]);
    let detail = '';
    const { largest } = allocations(() => {
      detail = expectBetween(damaged, 'bad-length');
    });
    expect(detail).toBe(
      `expected a record length in [13, ${DEFAULT_MAX_RECORD_BYTES}], found 4294967295; 11 bytes to the next valid frame`,
    );
    expect(largest).toBeLessThan(1024);
  });

  test('a 1 GiB length under the largest limit, pushed byte by byte, allocates nothing large', () => {
    const input = concat(before, new Uint8Array([0xff, 0xff, 0xff, 0x3f, 9, 9, 9, 9]), after);
    const wide = { ...options, maxRecordBytes: MAX_RECORD_BYTES_LIMIT };
    let results: unknown[] = [];
    const { largest } = allocations(() => {
      results = normalize(decodeSplit(input, chunkCuts(input.length, 1), wide));
    });
    expect(results).toEqual(normalize(decodeAll(input, wide)));
    expect(results).toHaveLength(3);
    expect(largest).toBeLessThan(1024);
  });

  test('the allocation probe sees the decoder allocate', () => {
    // A frame split across two pushes is copied into one buffer of its size.
    const frame = encodeBatchFrame(ctx, 0, [put('k', 'v'.repeat(5000))]);
    const { largest } = allocations(() =>
      decodeSplit(frame, [100], { salt: SALT, firstSequence: 0 }),
    );
    expect(largest).toBeGreaterThanOrEqual(frame.length);
  });

  test('a length below the smallest record (a 13-byte mark) is bad-length', () => {
    expectBetween(
      rawFrame(recordBytes(['u8', 4], ['u32', at], ['bytes', [0, 0, 0, 0, 0, 0, 0]])),
      'bad-length',
    );
    // Length 0 with a CRC that is not 0 is not zero fill.
    expectBetween(rawFrame(new Uint8Array(0)), 'bad-length');
  });

  test('a length past the bytes that remain: truncated at the tail, bad-length mid-log', () => {
    const frame = encodeBatchFrame(ctx, 2, [put('b', '2')]);
    // The announced record is one byte longer than what is left.
    const torn = new Uint8Array(frame);
    new DataView(torn.buffer).setUint32(0, frame.length - 8 + 1, true);
    expect(normalize(decodeAll(concat(before, torn), options))).toEqual([
      ...normalize(decodeAll(before, options)),
      { kind: 'damage', offset: at, bytes: torn.length, reason: 'truncated', nextSequence: 2 },
    ]);
    // Overrunning into a later valid frame: the length is what is wrong.
    const overrun = new Uint8Array(frame);
    new DataView(overrun.buffer).setUint32(0, frame.length - 8 + after.length + 1, true);
    expectBetween(overrun, 'bad-length');
  });

  test('a length above maxRecordBytes is bad-length even when the bytes are there', () => {
    const frame = encodeBatchFrame(ctx, 0, [put('b', 'x'.repeat(100))]);
    const limited = (max: number) => ({ salt: SALT, firstSequence: 0, maxRecordBytes: max });
    expect(normalize(decodeAll(frame, limited(frame.length - 9)))).toEqual([
      {
        kind: 'damage',
        offset: HEADER,
        bytes: frame.length,
        reason: 'bad-length',
        nextSequence: 0,
      },
    ]);
    expect(decodeAll(frame, limited(frame.length - 8))[0]?.kind).toBe('frame');
  });
});

describe('damage with a valid CRC (written that way, not torn)', () => {
  test('an unknown record type', () => {
    for (const type of [0, 5, 0xff]) {
      const detail = expectBetween(
        rawFrame(batch(['u64', 2], 1, DELETE_K).fill(type, 0, 1)),
        'unknown-type',
      );
      expect(detail).toMatch(new RegExp(`^expected a record type from 1 to 4, found ${type};`));
    }
  });

  test('an unknown op kind', () => {
    const detail = expectBetween(rawFrame(batch(['u64', 2], 1, [3, 0, 0, 0, 0])), 'unknown-type');
    expect(detail).toMatch(/^expected op kind 1 or 2, found 3 in op 0;/);
  });

  test('a batch shorter than its 17-byte prefix is bad-length', () => {
    const short = recordBytes(['u8', 1], ['u32', at], ['u64', 2]);
    expect(short.length).toBe(13);
    const detail = expectBetween(rawFrame(short), 'bad-length');
    expect(detail).toMatch(/^expected a batch of at least 17 bytes, found 13;/);
  });

  test('a first sequence of 2^53 or more is bad-sequence', () => {
    expectBetween(rawFrame(batch(['u64', 2n ** 53n], 1, DELETE_K)), 'bad-sequence');
    expectBetween(rawFrame(batch(['u64', 2n ** 64n - 1n], 1, DELETE_K)), 'bad-sequence');
  });

  test('a batch whose next sequence passes 2^53 - 1 is bad-sequence', () => {
    const two = [...DELETE_K, ...DELETE_K];
    const detail = expectBetween(
      rawFrame(batch(['u64', MAX_SEQUENCE - 1], 2, two)),
      'bad-sequence',
    );
    expect(detail).toMatch(
      /^expected sequences below 2\^53 - 1, found 2 ops from 9007199254740990;/,
    );
    // 2^53 - 3 and 2^53 - 2 are fine: the sequence after them is still exact.
    const first = MAX_SEQUENCE - 2;
    const ok = decodeAll(rawFrame(batch(['u64', first], 2, two, HEADER)), {
      salt: SALT,
      firstSequence: first,
    });
    expect(
      ok[0]?.kind === 'frame' && ok[0].record.type === 'batch' && ok[0].record.entries[1]?.sequence,
    ).toBe(MAX_SEQUENCE - 1);
  });

  test('an op count of 0 is bad-length', () => {
    const detail = expectBetween(rawFrame(batch(['u64', 2], 0, DELETE_K)), 'bad-length');
    expect(detail).toMatch(/^expected at least one op, found 0;/);
  });

  test('an op count above the ops present is bad-length', () => {
    expectBetween(rawFrame(batch(['u64', 2], 2, DELETE_K)), 'bad-length');
    expectBetween(rawFrame(batch(['u64', 2], 0xffff_ffff, DELETE_K)), 'bad-length');
  });

  test('an op count below the ops present (bytes left over) is bad-length', () => {
    const detail = expectBetween(
      rawFrame(batch(['u64', 2], 1, [...DELETE_K, ...DELETE_K])),
      'bad-length',
    );
    expect(detail).toMatch(/found 6 bytes left/);
  });

  test('a key or value length that overruns the record is bad-length', () => {
    expectBetween(rawFrame(batch(['u64', 2], 1, [2, 2, 0, 0, 0, 0x6b])), 'bad-length');
    expectBetween(rawFrame(batch(['u64', 2], 1, [1, 0, 0, 0, 0, 1, 0, 0])), 'bad-length');
    expectBetween(rawFrame(batch(['u64', 2], 1, [1, 0, 0, 0, 0, 2, 0, 0, 0, 0x76])), 'bad-length');
  });
});

describe('the synced watermark must lie in [SEGMENT_HEADER_SIZE, the frame offset]', () => {
  test('below the header or past the frame offset is bad-sequence, the bounds are fine', () => {
    const frame = (synced: number) => encodeBatchFrame({ salt: SALT, synced }, 2, [del('k')]);
    for (const synced of [0, 47, at + 1, 0xffff_ffff]) {
      const detail = expectBetween(frame(synced), 'bad-sequence');
      expect(detail).toMatch(
        new RegExp(
          `^expected a synced watermark in \\[48, ${at}\\] \\(the frame's offset\\), found ${synced};`,
        ),
      );
    }
    for (const synced of [48, at]) {
      const results = decodeAll(concat(before, frame(synced)), options);
      expect(results.map((r) => r.kind)).toEqual(['frame', 'frame']);
    }
  });

  test('for every record type, any synced is accepted exactly when it is in range', () => {
    const kinds = [
      (synced: number) => encodeBatchFrame({ salt: SALT, synced }, 0, [del('k')]),
      (synced: number) => encodeMarkFrame({ salt: SALT, synced }, 0),
      (synced: number) =>
        encodeHoleFrame({ salt: SALT, synced }, { firstSequence: 0, nextSequence: 3, incident: 1 }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.integer({ min: 48, max: 1 << 20 }),
        fc.oneof(
          fc.nat({ max: 200 }),
          fc.nat({ max: 0xffff_ffff }),
          fc.integer({ min: -3, max: 3 }),
        ),
        (encode, frameOffset, delta) => {
          const synced = Math.min(
            0xffff_ffff,
            Math.max(0, delta < 0 ? frameOffset + 1 - delta : delta),
          );
          const frame = encode(synced);
          const context: FrameReadContext = {
            maxRecordBytes: 1 << 20,
            seed: saltSeed(SALT),
            frameOffset,
          };
          const r = decodeFrameAt(frame, 0, frame.length, context);
          const inRange = synced >= 48 && synced <= frameOffset;
          expect(r.kind === 'frame' ? 'frame' : r.kind === 'damage' && r.reason).toBe(
            inRange ? 'frame' : 'bad-sequence',
          );
          const seal = encodeSealFrame(
            { salt: SALT, synced },
            { nextSequence: 0, records: 0, bytes: frameOffset + 29 },
          );
          const s = decodeFrameAt(seal, 0, seal.length, context);
          expect(s.kind === 'frame' ? 'frame' : s.kind === 'damage' && s.reason).toBe(
            inRange ? 'frame' : 'bad-sequence',
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('seal, hole and mark records that are not what they should be', () => {
  const seal = (fields: Field[], synced = at) =>
    rawFrame(recordBytes(['u8', 2], ['u32', synced], ...fields));
  const hole = (fields: Field[]) => rawFrame(recordBytes(['u8', 3], ['u32', at], ...fields));
  const mark = (fields: Field[]) => rawFrame(recordBytes(['u8', 4], ['u32', at], ...fields));

  test('a seal, hole or mark of the wrong size is bad-length', () => {
    const cases: [Uint8Array, string][] = [
      [
        seal([
          ['u64', 2],
          ['u32', 1],
          ['bytes', [0, 0, 0]],
        ]),
        'expected a seal record of 21 bytes, found 20',
      ],
      [
        seal([
          ['u64', 2],
          ['u32', 1],
          ['u32', at + 30],
          ['u8', 0],
        ]),
        'expected a seal record of 21 bytes, found 22',
      ],
      [
        hole([
          ['u64', 2],
          ['u64', 3],
          ['bytes', [0, 0, 0]],
        ]),
        'expected a hole record of 25 bytes, found 24',
      ],
      [
        hole([
          ['u64', 2],
          ['u64', 3],
          ['u32', 0],
          ['u8', 0],
        ]),
        'expected a hole record of 25 bytes, found 26',
      ],
      [
        mark([
          ['u64', 2],
          ['u8', 0],
        ]),
        'expected a mark record of 13 bytes, found 14',
      ],
      [
        mark([
          ['u64', 2],
          ['u64', 0],
        ]),
        'expected a mark record of 13 bytes, found 21',
      ],
    ];
    for (const [frame, message] of cases) {
      expect(expectBetween(frame, 'bad-length')).toMatch(new RegExp(`^${message};`));
    }
  });

  test('a seal whose bytes is not its own end is bad-seal, whatever the difference', () => {
    const end = at + 29;
    for (const bytes of [0, end - 1, end + 1, end + 29, 0xffff_ffff]) {
      const detail = expectBetween(
        seal([
          ['u64', 2],
          ['u32', 1],
          ['u32', bytes],
        ]),
        'bad-seal',
      );
      expect(detail).toMatch(
        new RegExp(
          `^expected a seal to give the segment's length as ${end} \\(where it ends\\), found ${bytes};`,
        ),
      );
    }
  });

  test('a hole that ends at or before where it starts is bad-sequence', () => {
    for (const [first, next] of [
      [5, 5],
      [5, 4],
      [2, 0],
    ]) {
      const detail = expectBetween(
        hole([
          ['u64', first as number],
          ['u64', next as number],
          ['u32', 1],
        ]),
        'bad-sequence',
      );
      expect(detail).toMatch(
        new RegExp(`^expected a hole to end after it starts \\(${first}\\), found ${next};`),
      );
    }
  });

  test('sequences at or above 2^53 are bad-sequence in seals, holes and marks', () => {
    for (const big of [2n ** 53n, 2n ** 64n - 1n]) {
      expectBetween(
        seal([
          ['u64', big],
          ['u32', 1],
          ['u32', at + 29],
        ]),
        'bad-sequence',
      );
      expectBetween(
        hole([
          ['u64', 2],
          ['u64', big],
          ['u32', 1],
        ]),
        'bad-sequence',
      );
      expectBetween(
        hole([
          ['u64', big],
          ['u64', 2],
          ['u32', 1],
        ]),
        'bad-sequence',
      );
      expectBetween(mark([['u64', big]]), 'bad-sequence');
    }
  });
});

describe('zero fill and free space', () => {
  test('a zero-filled tail is zero-fill from where a frame would start, whatever its length', () => {
    const segment = encodeSegment([{ type: 'batch', ops: [put('a', '1')] }, { type: 'mark' }]);
    const end = HEADER + segment.bytes.length;
    for (const zeros of [1, 3, 7, 8, 9, 512, 4096]) {
      const results = normalize(
        decodeAll(concat(segment.bytes, new Uint8Array(zeros)), { salt: SALT, firstSequence: 0 }),
      );
      expect(results).toEqual([
        ...expectedFrames(segment),
        { kind: 'damage', offset: end, bytes: zeros, reason: 'zero-fill', nextSequence: 1 },
      ]);
    }
  });

  test('zeros mid-log are reported, and the frames after them come back', () => {
    const detail = expectBetween(new Uint8Array(4096), 'zero-fill');
    expect(detail).toBe(
      'expected a frame header, found zero bytes; 4096 bytes to the next valid frame',
    );
  });

  test('a zero frame header followed by anything but zeros is not zero-fill', () => {
    expectBetween(concat(new Uint8Array(8), new Uint8Array([5, 6, 7])), 'bad-length');
    const results = decodeAll(concat(before, new Uint8Array(100), new Uint8Array([1])), options);
    expect(results[1]).toMatchObject({
      kind: 'damage',
      offset: at,
      bytes: 101,
      reason: 'bad-length',
    });
  });

  test('an input of only zeros is one zero-fill', () => {
    expect(normalize(decodeAll(new Uint8Array(100), options))).toEqual([
      { kind: 'damage', offset: HEADER, bytes: 100, reason: 'zero-fill', nextSequence: 1 },
    ]);
  });
});

describe('resync', () => {
  test('garbage between frames is skipped and reported once, with its extent', () => {
    const garbage = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
    expectBetween(garbage, 'bad-length');
  });

  test('damage at the very start of input is reported from the offset option', () => {
    const first = encodeBatchFrame(ctx, 0, [del('k')]);
    const input = concat(new Uint8Array([1, 2, 3]), first);
    const results = normalize(decodeAll(input, { salt: SALT, firstSequence: 0, offset: 100 }));
    expect(results).toEqual([
      { kind: 'damage', offset: 100, bytes: 3, reason: 'bad-length', nextSequence: 0 },
      expect.objectContaining({ kind: 'frame', offset: 103, size: first.length }),
    ]);
  });

  test('intact frames that are not valid records are not resync points', () => {
    const notRecords = [
      rawFrame(batch(['u64', 2], 1, DELETE_K).fill(9, 0, 1)), // unknown type
      encodeBatchFrame({ salt: SALT, synced: 0xffff }, 2, [del('k')]), // synced past its offset
      encodeSealFrame(ctx, { nextSequence: 2, records: 1, bytes: 1 }), // a seal not at its end
      rawFrame(batch(['u64', 2], 0, DELETE_K)), // no ops
    ];
    for (const frame of notRecords) {
      const input = concat(before, new Uint8Array([9, 9]), frame, after);
      const results = normalize(decodeAll(input, options));
      expect(results).toEqual([
        expect.objectContaining({ kind: 'frame', offset: HEADER }),
        {
          kind: 'damage',
          offset: at,
          bytes: 2 + frame.length,
          reason: 'bad-length',
          nextSequence: 2,
        },
        expect.objectContaining({ kind: 'frame', offset: at + 2 + frame.length }),
      ]);
    }
  });
});

describe('decodeFrameAt', () => {
  const context = (frameOffset = HEADER): FrameReadContext => ({
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    seed: saltSeed(SALT),
    frameOffset,
  });

  test('is incomplete while the header or the record is cut short', () => {
    const frame = encodeBatchFrame(ctx, 0, [put('k', 'v')]);
    for (let end = 0; end < frame.length; end++) {
      expect(decodeFrameAt(frame, 0, end, context())).toEqual({ kind: 'incomplete' });
    }
    expect(decodeFrameAt(frame, 0, frame.length, context())).toMatchObject({
      kind: 'frame',
      size: frame.length,
    });
  });

  test('reads no further than end, and from start', () => {
    const frame = encodeBatchFrame(ctx, 0, [put('k', 'v')]);
    const padded = concat(new Uint8Array(5).fill(0xee), frame, new Uint8Array(40).fill(0xee));
    expect(decodeFrameAt(padded, 5, 5 + frame.length - 1, context())).toEqual({
      kind: 'incomplete',
    });
    expect(decodeFrameAt(padded, 5, 5 + frame.length, context())).toMatchObject({ kind: 'frame' });
  });

  test('checks synced and a seal against frameOffset, not against its position in buf', () => {
    const seal = encodeSealFrame(
      { salt: SALT, synced: 500 },
      { nextSequence: 0, records: 0, bytes: 529 },
    );
    expect(decodeFrameAt(seal, 0, seal.length, context(500))).toMatchObject({ kind: 'frame' });
    expect(decodeFrameAt(seal, 0, seal.length, context(499))).toMatchObject({
      reason: 'bad-sequence',
    });
    expect(decodeFrameAt(seal, 0, seal.length, context(501))).toMatchObject({ reason: 'bad-seal' });
  });

  test('decodes in place: keys and values are views into the input', () => {
    const frame = encodeBatchFrame(ctx, 0, [put('k', 'v')]);
    const r = decodeFrameAt(frame, 0, frame.length, context());
    if (r.kind !== 'frame' || r.record.type !== 'batch') throw new Error('expected a batch');
    const entry = r.record.entries[0];
    expect(entry?.key.buffer).toBe(frame.buffer);
    expect(entry?.value?.buffer).toBe(frame.buffer);
    frame[frame.length - 1] = 0x77;
    expect(entry?.value?.[0]).toBe(0x77);
  });
});

describe('mayStartFrame', () => {
  test('is true at the start of every valid frame, however few of its bytes are there', () => {
    fc.assert(
      fc.property(segmentArb(5), (segment) => {
        for (const { offset, size } of segment.frames) {
          const start = offset - segment.base;
          for (const end of [start, start + 4, start + 8, start + 9, start + 24, start + size]) {
            expect(
              mayStartFrame(
                segment.bytes,
                start,
                Math.min(end, start + size),
                MAX_RECORD_BYTES_LIMIT,
              ),
            ).toBe(true);
          }
        }
      }),
    );
    const sample = sampleSegment();
    for (const { offset, size } of sample.frames) {
      expect(mayStartFrame(sample.bytes, offset - HEADER, offset - HEADER + size, 1 << 20)).toBe(
        true,
      );
    }
  });

  test('is false for what no valid frame can start with', () => {
    const header = (length: number, ...record: number[]) => {
      const b = Buffer.alloc(8 + Math.max(record.length, 17));
      b.writeUInt32LE(length, 0);
      b.set(record, 8);
      return new Uint8Array(b);
    };
    const count = (length: number, n: number) => {
      const b = header(length, 1);
      new DataView(b.buffer).setUint32(8 + 13, n, true);
      return b;
    };
    const cases: [string, Uint8Array][] = [
      ['a length below 13', header(12, 4)],
      ['a length above the limit', header(1001, 1)],
      ['an unknown type', header(40, 7)],
      ['type 0', header(40, 0)],
      ['a seal that is not 21 bytes', header(22, 2)],
      ['a hole that is not 25 bytes', header(21, 3)],
      ['a mark that is not 13 bytes', header(14, 4)],
      ['a batch below 22 bytes', header(21, 1)],
      ['a batch of 0 ops', count(40, 0)],
      ['a batch of more ops than it can hold', count(32, 4)],
    ];
    for (const [name, bytes] of cases) {
      expect({ name, may: mayStartFrame(bytes, 0, bytes.length, 1000) }).toEqual({
        name,
        may: false,
      });
    }
    expect(mayStartFrame(count(32, 3), 0, 40, 1000)).toBe(true);
    expect(mayStartFrame(header(21, 2), 0, 30, 1000)).toBe(true);
  });
});
