import zlib from 'node:zlib';
import {
  DEFAULT_MAX_RECORD_BYTES,
  type DecodedRecord,
  decodeFrameAt,
  ErrorCode,
  encodeBatch,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  frameChecksum,
  MAX_SEQUENCE,
  recordSize,
  saltSeed,
  type WalOp,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { del, hex, put, SALT, thrown } from './helpers.js';

const ctx = { salt: SALT, synced: 48 };
const u32 = fc.nat({ max: 0xffff_ffff });
const sequence = fc.oneof(fc.nat({ max: 1000 }), fc.constant(MAX_SEQUENCE), fc.maxSafeNat());

/** Decodes a frame alone, as if it sat at file offset `frameOffset`. */
function decodeOne(frame: Uint8Array, frameOffset = 48, salt = SALT): DecodedRecord {
  const context = { maxRecordBytes: DEFAULT_MAX_RECORD_BYTES, seed: saltSeed(salt), frameOffset };
  const r = decodeFrameAt(frame, 0, frame.length, context);
  if (r.kind !== 'frame') throw new Error(`expected a frame, found ${JSON.stringify(r)}`);
  expect(r.size).toBe(frame.length);
  return r.record;
}

function entriesOf(frame: Uint8Array) {
  const record = decodeOne(frame);
  if (record.type !== 'batch') throw new Error(`expected a batch, found a ${record.type}`);
  return record.entries;
}

/** The CRC-32 a frame must carry, computed with zlib alone: salt LE, length, record. */
function expectedCrc(frame: Uint8Array, salt = SALT): number {
  const saltBytes = Buffer.alloc(4);
  saltBytes.writeUInt32LE(salt);
  return zlib.crc32(Buffer.concat([saltBytes, frame.subarray(0, 4), frame.subarray(8)]));
}

const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);

describe("the seed's weak points", () => {
  test('key "ab" value "c" and key "a" value "bc" give different frames and both round-trip', () => {
    const first = encodeBatchFrame(ctx, 7, [put('ab', 'c')]);
    const second = encodeBatchFrame(ctx, 7, [put('a', 'bc')]);
    expect(hex(first)).not.toBe(hex(second));
    // The checksums differ too: the lengths are under the CRC.
    expect(first.subarray(4, 8)).not.toEqual(second.subarray(4, 8));
    const [a] = entriesOf(first);
    const [b] = entriesOf(second);
    expect(a?.type === 'put' && [hex(a.key), hex(a.value)]).toEqual(['6162', '63']);
    expect(b?.type === 'put' && [hex(b.key), hex(b.value)]).toEqual(['61', '6263']);
  });

  test('a put with an empty value decodes as a put with a 0-byte value, not a delete', () => {
    const [entry] = entriesOf(encodeBatchFrame(ctx, 3, [put('k', '')]));
    expect(entry?.type).toBe('put');
    expect(entry?.value).toBeInstanceOf(Uint8Array);
    expect(entry?.value?.length).toBe(0);
  });

  test('a delete has no value property at all', () => {
    const [entry] = entriesOf(encodeBatchFrame(ctx, 3, [del('k')]));
    expect(entry?.type).toBe('delete');
    expect('value' in (entry as object)).toBe(false);
  });

  test('an empty key is allowed for puts and deletes', () => {
    const entries = entriesOf(encodeBatchFrame(ctx, 0, [put('', 'v'), del('')]));
    expect(entries.map((e) => [e.type, e.key.length])).toEqual([
      ['put', 0],
      ['delete', 0],
    ]);
  });
});

describe('the salted frame CRC', () => {
  test('saltSeed is CRC-32 of the salt as 4 little-endian bytes', () => {
    fc.assert(
      fc.property(u32, (salt) => {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32LE(salt);
        expect(saltSeed(salt)).toBe(zlib.crc32(bytes));
      }),
    );
    // The cached seed of one salt is not handed out for another.
    expect(saltSeed(1)).not.toBe(saltSeed(2));
    expect(saltSeed(1)).toBe(zlib.crc32(Buffer.from([1, 0, 0, 0])));
  });

  test('the CRC is CRC-32 over salt LE, the 4 length bytes, then the record', () => {
    fc.assert(
      fc.property(u32, fc.nat({ max: 1000 }), (salt, first) => {
        const frame = encodeBatchFrame({ salt, synced: 48 }, first, [put('key', 'v'), del('x')]);
        const crc = expectedCrc(frame, salt);
        expect(view(frame).readUInt32LE(4)).toBe(crc);
        expect(frameChecksum(frame, 0, frame.length, saltSeed(salt))).toBe(crc);
      }),
    );
  });

  test('the salt is mixed in even when it is 0: the unsalted CRC does not match', () => {
    const frame = encodeBatchFrame({ salt: 0, synced: 48 }, 0, [put('a', '1')]);
    const unsalted = zlib.crc32(Buffer.concat([frame.subarray(0, 4), frame.subarray(8)]));
    expect(view(frame).readUInt32LE(4)).toBe(expectedCrc(frame, 0));
    expect(view(frame).readUInt32LE(4)).not.toBe(unsalted);
  });

  test('frameChecksum reads only [start, end) of a larger buffer', () => {
    const frame = encodeBatchFrame(ctx, 0, [put('a', '1')]);
    const padded = new Uint8Array(frame.length + 20).fill(0xee);
    padded.set(frame, 7);
    expect(frameChecksum(padded, 7, 7 + frame.length, saltSeed(SALT))).toBe(expectedCrc(frame));
  });
});

describe('batch frames', () => {
  test('the layout: length, CRC, type 1, synced, first sequence u64, op count, ops', () => {
    const frame = view(
      encodeBatchFrame({ salt: SALT, synced: 0x1234 }, 2 ** 40 + 3, [put('k', 'vv'), del('')]),
    );
    expect(frame.length).toBe(8 + 17 + (5 + 1 + 4 + 2) + 5);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 8);
    expect(frame[8]).toBe(1);
    expect(frame.readUInt32LE(9)).toBe(0x1234);
    expect(frame.readBigUInt64LE(13)).toBe(2n ** 40n + 3n);
    expect(frame.readUInt32LE(21)).toBe(2);
    expect(hex(frame.subarray(25))).toBe(
      '01' + '01000000' + '6b' + '02000000' + '7676' + '02' + '00000000',
    );
  });

  test('a batch takes consecutive sequences from its first', () => {
    const ops = [put('a', '1'), del('b'), put('c', '')];
    const frame = encodeBatchFrame(ctx, 41, ops);
    expect(entriesOf(frame).map((e) => e.sequence)).toEqual([41, 42, 43]);
    expect(decodeOne(frame)).toMatchObject({ type: 'batch', synced: 48, firstSequence: 41 });
  });

  test('recordSize counts the 17-byte prefix, op headers, keys and values', () => {
    expect(recordSize([del('')])).toBe(17 + 5);
    expect(recordSize([put('ab', 'cde')])).toBe(17 + 5 + 2 + 4 + 3);
    expect(recordSize([put('ab', 'cde'), del('x')])).toBe(17 + 5 + 2 + 4 + 3 + 5 + 1);
  });

  test('encodeBatch writes frames back to back and returns the offset after each', () => {
    const a = [put('x', 'y')];
    const b = [del('x')];
    const target = new Uint8Array(100).fill(0xee);
    const mid = encodeBatch(target, 3, ctx, 0, a);
    const end = encodeBatch(target, mid, { salt: SALT, synced: 52 }, 1, b, recordSize(b));
    expect(mid).toBe(3 + 8 + recordSize(a));
    expect(end).toBe(mid + 8 + recordSize(b));
    expect(target.subarray(3, mid)).toEqual(encodeBatchFrame(ctx, 0, a));
    expect(target.subarray(mid, end)).toEqual(encodeBatchFrame({ salt: SALT, synced: 52 }, 1, b));
    // Nothing outside the frames is touched.
    expect([...target.subarray(0, 3), ...target.subarray(end)].every((x) => x === 0xee)).toBe(true);
  });
});

describe('seal, hole and mark frames', () => {
  test('a seal: 29 bytes; type 2, synced, next sequence u64, records u32, bytes u32', () => {
    const seal = { nextSequence: 2 ** 50 + 9, records: 0xabcdef, bytes: 4000 };
    const frame = view(encodeSealFrame({ salt: SALT, synced: 1000 }, seal));
    expect(frame.length).toBe(29);
    expect(frame.readUInt32LE(0)).toBe(21);
    expect(frame.readUInt32LE(4)).toBe(expectedCrc(frame));
    expect([frame[8], frame.readUInt32LE(9)]).toEqual([2, 1000]);
    expect(frame.readBigUInt64LE(13)).toBe(2n ** 50n + 9n);
    expect([frame.readUInt32LE(21), frame.readUInt32LE(25)]).toEqual([0xabcdef, 4000]);
    // A seal decodes only where it ends at its own `bytes`.
    expect(decodeOne(frame, 4000 - 29)).toEqual({ type: 'seal', synced: 1000, ...seal });
  });

  test('a hole: 33 bytes; type 3, synced, first and next sequence u64, incident u32', () => {
    const hole = { firstSequence: 5, nextSequence: 2 ** 52, incident: 0xffff_ffff };
    const frame = view(encodeHoleFrame({ salt: SALT, synced: 48 }, hole));
    expect(frame.length).toBe(33);
    expect(frame.readUInt32LE(0)).toBe(25);
    expect(frame.readUInt32LE(4)).toBe(expectedCrc(frame));
    expect([frame[8], frame.readUInt32LE(9)]).toEqual([3, 48]);
    expect(frame.readBigUInt64LE(13)).toBe(5n);
    expect(frame.readBigUInt64LE(21)).toBe(2n ** 52n);
    expect(frame.readUInt32LE(29)).toBe(0xffff_ffff);
    expect(decodeOne(frame)).toEqual({ type: 'hole', synced: 48, ...hole });
  });

  test('a mark: 21 bytes; type 4, synced, next sequence u64', () => {
    const frame = view(encodeMarkFrame({ salt: SALT, synced: 60 }, 77));
    expect(frame.length).toBe(21);
    expect(frame.readUInt32LE(0)).toBe(13);
    expect(frame.readUInt32LE(4)).toBe(expectedCrc(frame));
    expect([frame[8], frame.readUInt32LE(9)]).toEqual([4, 60]);
    expect(frame.readBigUInt64LE(13)).toBe(77n);
    expect(decodeOne(frame, 60)).toEqual({ type: 'mark', synced: 60, nextSequence: 77 });
  });

  test('any seal, hole and mark round-trips, up to sequence 2^53 - 1', () => {
    fc.assert(
      fc.property(u32, sequence, u32, u32, (salt, next, records, bytes) => {
        const at = Math.max(48, bytes - 29);
        const synced = Math.min(at, 48 + (records % 1000));
        const seal = { nextSequence: next, records, bytes: at + 29 };
        expect(decodeOne(encodeSealFrame({ salt, synced }, seal), at, salt)).toEqual({
          type: 'seal',
          synced,
          ...seal,
        });
        expect(decodeOne(encodeMarkFrame({ salt, synced }, next), at, salt)).toEqual({
          type: 'mark',
          synced,
          nextSequence: next,
        });
        if (next > 0) {
          const hole = { firstSequence: records % next, nextSequence: next, incident: bytes };
          expect(decodeOne(encodeHoleFrame({ salt, synced }, hole), at, salt)).toEqual({
            type: 'hole',
            synced,
            ...hole,
          });
        }
      }),
    );
  });

  test('encodeMarkFrame writes into a target at an offset and touches nothing else', () => {
    const target = new Uint8Array(40).fill(0xee);
    const out = encodeMarkFrame(ctx, 9, target, 11);
    expect(out).toBe(target);
    expect(target.subarray(11, 32)).toEqual(encodeMarkFrame(ctx, 9));
    expect([...target.subarray(0, 11), ...target.subarray(32)].every((x) => x === 0xee)).toBe(true);
  });
});

describe('invalid arguments', () => {
  const key = new Uint8Array(1);
  const batch = (first: number, ops: WalOp[], max?: number) => () =>
    encodeBatchFrame(ctx, first, ops, max);
  const top = MAX_SEQUENCE - 1;
  const cases: [string, () => unknown, string][] = [
    ['no ops', batch(0, []), 'expected a non-empty array of ops, found an array of length 0'],
    [
      'ops not an array',
      batch(0, 'x' as unknown as WalOp[]),
      'expected a non-empty array of ops, found the string "x"',
    ],
    [
      'a string key',
      batch(0, [{ type: 'delete', key: 'k' as unknown as Uint8Array }]),
      'expected ops[0].key to be a Uint8Array or a Buffer (toBytes makes one), found the string "k"',
    ],
    [
      'a missing value',
      batch(0, [del('a'), { type: 'put', key } as WalOp]),
      'expected ops[1].value to be a Uint8Array or a Buffer (toBytes makes one), found undefined',
    ],
    [
      // Its length could disagree with the bytes `set` copies.
      'a Uint8Array subclass as a value',
      batch(0, [{ type: 'put', key, value: new (class Bytes extends Uint8Array {})(2) }]),
      'expected ops[0].value to be a Uint8Array or a Buffer (toBytes makes one), found a Uint8Array subclass (Bytes) of 2 bytes',
    ],
    [
      'a Proxy of a Uint8Array as a key',
      batch(0, [{ type: 'delete', key: new Proxy(new Uint8Array(1), {}) }]),
      'expected ops[0].key to be a Uint8Array or a Buffer (toBytes makes one), found a Proxy',
    ],
    [
      'an unknown op type',
      batch(0, [{ type: 'merge', key } as unknown as WalOp]),
      `expected ops[0].type to be 'put' or 'delete', found the string "merge"`,
    ],
    [
      'a null op',
      batch(0, [null as unknown as WalOp]),
      'expected ops[0].key to be a Uint8Array or a Buffer (toBytes makes one), found undefined',
    ],
    [
      'a negative sequence',
      batch(-1, [del('a')]),
      'expected a first sequence in [0, 9007199254740990] (room for 1 ops below 2^53 - 1), found the number -1',
    ],
    [
      'a fractional sequence',
      batch(1.5, [del('a')]),
      'expected a first sequence in [0, 9007199254740990] (room for 1 ops below 2^53 - 1), found the number 1.5',
    ],
    [
      'a batch whose next sequence would pass 2^53 - 1',
      batch(top, [del('a'), del('b')]),
      `expected a first sequence in [0, 9007199254740989] (room for 2 ops below 2^53 - 1), found the number ${top}`,
    ],
    [
      'a bigint sequence',
      batch(1n as unknown as number, [del('a')]),
      'expected a first sequence in [0, 9007199254740990] (room for 1 ops below 2^53 - 1), found bigint',
    ],
    [
      'a negative offset',
      () => encodeBatch(new Uint8Array(100), -4, ctx, 0, [del('a')]),
      'expected offset to be a non-negative safe integer, found the number -4',
    ],
    [
      'a negative salt',
      () => encodeBatchFrame({ salt: -1, synced: 48 }, 0, [del('a')]),
      'expected salt to be a u32, found the number -1',
    ],
    [
      'a salt of 2^32',
      () => encodeMarkFrame({ salt: 2 ** 32, synced: 48 }, 0),
      'expected salt to be a u32, found the number 4294967296',
    ],
    [
      'a string salt',
      () =>
        encodeSealFrame(
          { salt: '1' as unknown as number, synced: 48 },
          {
            nextSequence: 0,
            records: 0,
            bytes: 77,
          },
        ),
      'expected salt to be a u32, found the string "1"',
    ],
    [
      'a synced of 2^32',
      () =>
        encodeHoleFrame(
          { salt: 0, synced: 2 ** 32 },
          {
            firstSequence: 0,
            nextSequence: 1,
            incident: 0,
          },
        ),
      'expected synced to be a u32, found the number 4294967296',
    ],
    [
      'a missing synced',
      () => encodeBatchFrame({ salt: 0 } as never, 0, [del('a')]),
      'expected synced to be a u32, found undefined',
    ],
    [
      'a recordLength that is not recordSize(ops)',
      () => encodeBatch(new Uint8Array(100), 0, ctx, 0, [del('a')], 30),
      'expected recordLength to be recordSize(ops) = 23, found 30',
    ],
    [
      'a NaN maxRecordBytes',
      batch(0, [del('a')], Number.NaN),
      'expected maxRecordBytes to be an integer in [22, 1073741824], found the number NaN',
    ],
    [
      'a maxRecordBytes below the smallest batch',
      batch(0, [del('')], 21),
      'expected maxRecordBytes to be an integer in [22, 1073741824], found the number 21',
    ],
    [
      'too little room in the target',
      () => encodeBatch(new Uint8Array(20), 0, ctx, 0, [del('a')]),
      'expected 31 bytes of room at offset 0, found 20',
    ],
    [
      'a mark that does not fit its target',
      () => encodeMarkFrame(ctx, 0, new Uint8Array(30), 10),
      'expected 21 bytes of room at offset 10, found 20',
    ],
    [
      'a seal next sequence of 2^53',
      () => encodeSealFrame(ctx, { nextSequence: 2 ** 53, records: 0, bytes: 77 }),
      'expected nextSequence to be a sequence in [0, 2^53 - 1], found the number 9007199254740992',
    ],
    [
      'a negative seal record count',
      () => encodeSealFrame(ctx, { nextSequence: 0, records: -1, bytes: 77 }),
      'expected records to be a u32, found the number -1',
    ],
    [
      'a seal length of 2^32',
      () => encodeSealFrame(ctx, { nextSequence: 0, records: 0, bytes: 2 ** 32 }),
      'expected bytes to be a u32, found the number 4294967296',
    ],
    [
      'a hole that ends where it starts',
      () => encodeHoleFrame(ctx, { firstSequence: 5, nextSequence: 5, incident: 1 }),
      'expected nextSequence above firstSequence 5, found 5',
    ],
    [
      'a hole that ends before it starts',
      () => encodeHoleFrame(ctx, { firstSequence: 5, nextSequence: 4, incident: 1 }),
      'expected nextSequence above firstSequence 5, found 4',
    ],
    [
      'a hole past 2^53 - 1',
      () => encodeHoleFrame(ctx, { firstSequence: 5, nextSequence: 2 ** 53, incident: 1 }),
      'expected nextSequence to be a sequence in [0, 2^53 - 1], found the number 9007199254740992',
    ],
    [
      'a negative hole start',
      () => encodeHoleFrame(ctx, { firstSequence: -1, nextSequence: 4, incident: 1 }),
      'expected firstSequence to be a sequence in [0, 2^53 - 1], found the number -1',
    ],
    [
      'a fractional incident',
      () => encodeHoleFrame(ctx, { firstSequence: 1, nextSequence: 4, incident: 1.5 }),
      'expected incident to be a u32, found the number 1.5',
    ],
    [
      'a mark past 2^53 - 1',
      () => encodeMarkFrame(ctx, 2 ** 53),
      'expected nextSequence to be a sequence in [0, 2^53 - 1], found the number 9007199254740992',
    ],
  ];

  test.each(cases)(
    '%s throws WAL_INVALID_ARGUMENT saying what was expected and found',
    (_, fn, message) => {
      const e = thrown(fn);
      expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(e.message).toBe(message);
    },
  );

  test('a failed encode into a target leaves the target as it was', () => {
    const target = new Uint8Array(30).fill(0xee);
    thrown(() => encodeBatch(target, 0, ctx, 0, [del('a')]));
    thrown(() => encodeBatch(target, 0, { salt: -1, synced: 48 }, 0, [del('')]));
    expect(target.every((x) => x === 0xee)).toBe(true);
  });
});
