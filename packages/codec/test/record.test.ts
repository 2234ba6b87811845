import zlib from 'node:zlib';
import {
  decodeAll,
  ErrorCode,
  encodeFrame,
  encodeRecord,
  frameChecksum,
  RECORD_PREFIX_SIZE,
  recordSize,
  WalError,
  type WalOp,
} from '@wal/codec';
import { describe, expect, test } from 'vitest';
import { del, hex, put } from './helpers.js';

function decodeOne(frame: Uint8Array) {
  const results = decodeAll(frame);
  expect(results).toHaveLength(1);
  const [r] = results;
  if (r?.kind !== 'record') throw new Error(`expected a record, found ${JSON.stringify(r)}`);
  return r.record;
}

function thrown(fn: () => unknown): WalError {
  try {
    fn();
  } catch (e) {
    if (WalError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe("the seed's weak points", () => {
  test('key "ab" value "c" and key "a" value "bc" give different frames and both round-trip', () => {
    const first = encodeRecord(7, [put('ab', 'c')]);
    const second = encodeRecord(7, [put('a', 'bc')]);
    expect(hex(first)).not.toBe(hex(second));
    // The checksums differ too: the lengths are under the CRC.
    expect(first.subarray(4, 8)).not.toEqual(second.subarray(4, 8));
    const a = decodeOne(first).entries[0];
    const b = decodeOne(second).entries[0];
    expect(a?.type === 'put' && [hex(a.key), hex(a.value)]).toEqual(['6162', '63']);
    expect(b?.type === 'put' && [hex(b.key), hex(b.value)]).toEqual(['61', '6263']);
  });

  test('a put with an empty value decodes as a put with a 0-byte value, not a delete', () => {
    const [entry] = decodeOne(encodeRecord(3, [put('k', '')])).entries;
    expect(entry?.type).toBe('put');
    expect(entry?.value).toBeInstanceOf(Uint8Array);
    expect(entry?.value?.length).toBe(0);
  });

  test('a delete has no value property at all', () => {
    const [entry] = decodeOne(encodeRecord(3, [del('k')])).entries;
    expect(entry?.type).toBe('delete');
    expect('value' in (entry as object)).toBe(false);
  });

  test('an empty key is allowed for puts and deletes', () => {
    const { entries } = decodeOne(encodeRecord(0, [put('', 'v'), del('')]));
    expect(entries.map((e) => [e.type, e.key.length])).toEqual([
      ['put', 0],
      ['delete', 0],
    ]);
  });
});

describe('encoding', () => {
  test('the CRC is zlib CRC-32 over the 4 length bytes followed by the record', () => {
    const frame = encodeRecord(1, [put('key', 'value'), del('gone')]);
    const expected = zlib.crc32(Buffer.concat([frame.subarray(0, 4), frame.subarray(8)]));
    expect(Buffer.from(frame).readUInt32LE(4)).toBe(expected);
    expect(frameChecksum(frame, 0, frame.length)).toBe(expected);
  });

  test('a batch takes consecutive sequences from its first', () => {
    const ops = [put('a', '1'), del('b'), put('c', '')];
    expect(decodeOne(encodeRecord(41, ops)).entries.map((e) => e.sequence)).toEqual([41, 42, 43]);
  });

  test('recordSize counts prefix, op headers, keys and values', () => {
    expect(recordSize([del('')])).toBe(RECORD_PREFIX_SIZE + 5);
    expect(recordSize([put('ab', 'cde')])).toBe(RECORD_PREFIX_SIZE + 5 + 2 + 4 + 3);
  });

  test('encodeFrame writes frames back to back and returns the offset after each', () => {
    const a = [put('x', 'y')];
    const b = [del('x')];
    const target = new Uint8Array(100).fill(0xee);
    const mid = encodeFrame(target, 3, 0, a);
    const end = encodeFrame(target, mid, 1, b);
    expect(mid).toBe(3 + 8 + recordSize(a));
    expect(end).toBe(mid + 8 + recordSize(b));
    expect(target.subarray(3, mid)).toEqual(encodeRecord(0, a));
    expect(target.subarray(mid, end)).toEqual(encodeRecord(1, b));
    // Nothing outside the frames is touched.
    expect([...target.subarray(0, 3), ...target.subarray(end)].every((x) => x === 0xee)).toBe(true);
  });
});

describe('invalid arguments', () => {
  const key = new Uint8Array(1);
  const cases: [string, () => unknown, string][] = [
    [
      'no ops',
      () => encodeRecord(0, []),
      'expected a non-empty array of ops, found an array of length 0',
    ],
    [
      'ops not an array',
      () => encodeRecord(0, 'x' as unknown as WalOp[]),
      'expected a non-empty array of ops, found a string of length 1',
    ],
    [
      'a string key',
      () => encodeRecord(0, [{ type: 'delete', key: 'k' as unknown as Uint8Array }]),
      'expected ops[0].key to be a Uint8Array, found a string of length 1',
    ],
    [
      'a missing value',
      () => encodeRecord(0, [del('a'), { type: 'put', key } as WalOp]),
      'expected ops[1].value to be a Uint8Array, found undefined',
    ],
    [
      'an unknown op type',
      () => encodeRecord(0, [{ type: 'merge', key } as unknown as WalOp]),
      "expected ops[0].type to be 'put' or 'delete', found a string of length 5",
    ],
    [
      'a null op',
      () => encodeRecord(0, [null as unknown as WalOp]),
      'expected ops[0].key to be a Uint8Array, found undefined',
    ],
    [
      'a negative sequence',
      () => encodeRecord(-1, [del('a')]),
      'expected a first sequence in [0, 2^53 - 1], found the number -1',
    ],
    [
      'a fractional sequence',
      () => encodeRecord(1.5, [del('a')]),
      'expected a first sequence in [0, 2^53 - 1], found the number 1.5',
    ],
    [
      'a batch running past 2^53 - 1',
      () => encodeRecord(Number.MAX_SAFE_INTEGER, [del('a'), del('b')]),
      `expected a first sequence in [0, 2^53 - 2], found the number ${Number.MAX_SAFE_INTEGER}`,
    ],
    [
      'a bigint sequence',
      () => encodeRecord(1n as unknown as number, [del('a')]),
      'expected a first sequence in [0, 2^53 - 1], found bigint',
    ],
    [
      'a negative offset',
      () => encodeFrame(new Uint8Array(100), -4, 0, [del('a')]),
      'expected offset to be a non-negative safe integer, found the number -4',
    ],
    [
      'a recordLength that is not recordSize(ops)',
      () => encodeFrame(new Uint8Array(100), 0, 0, [del('a')], 30),
      'expected recordLength to be recordSize(ops) = 19, found 30',
    ],
    [
      'a NaN maxRecordBytes',
      () => encodeRecord(0, [del('a')], Number.NaN),
      'expected maxRecordBytes to be an integer in [18, 1073741824], found the number NaN',
    ],
    [
      'a maxRecordBytes below the smallest record',
      () => encodeRecord(0, [del('a')], 17),
      'expected maxRecordBytes to be an integer in [18, 1073741824], found the number 17',
    ],
    [
      'too little room in the target',
      () => encodeFrame(new Uint8Array(20), 0, 0, [del('a')]),
      'expected 27 bytes of room at offset 0, found 20',
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
});
