// Options and inputs: everything invalid is refused before any I/O, and a
// refused append writes nothing and consumes no sequence.
import fs from 'node:fs';
import path from 'node:path';
import {
  FRAME_HEADER_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MIN_BATCH_BYTES,
  recordSize,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import { MIN_SEGMENT_BYTES, nodeFs, Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import {
  openWal,
  readEntries,
  readSegments,
  rejectsWith,
  rootCode,
  segmentNames,
  snapshot,
  tempDir,
} from './helpers.js';

const { lock: _lock, ...withoutLock } = nodeFs;

const invalidOptions: [string, unknown][] = [
  ['no options', undefined],
  ['null', null],
  ['a number', 42],
  ['an array', ['dir']],
  ['an empty dir string', ''],
  ['an unknown key', { syncMode: 'always' }],
  ['a misspelt key', { maxSegmentSize: 1024 }],
  ['dir: a number', { dir: 42 }],
  ['dir: empty', { dir: '' }],
  ['sync: unknown mode', { sync: 'sometimes' }],
  ['sync: a boolean', { sync: true }],
  ['syncIntervalMs: 0', { syncIntervalMs: 0 }],
  ['syncIntervalMs: negative', { syncIntervalMs: -5 }],
  ['syncIntervalMs: fractional', { syncIntervalMs: 1.5 }],
  ['syncIntervalMs: NaN', { syncIntervalMs: Number.NaN }],
  ['syncIntervalMs: Infinity', { syncIntervalMs: Number.POSITIVE_INFINITY }],
  ['syncIntervalMs: a string', { syncIntervalMs: '100' }],
  ['syncIntervalMs: over an hour', { syncIntervalMs: 3_600_001 }],
  ['maxSegmentBytes: 0', { maxSegmentBytes: 0 }],
  ['maxSegmentBytes: smaller than a header', { maxSegmentBytes: SEGMENT_HEADER_SIZE - 1 }],
  ['maxSegmentBytes: no room for a frame', { maxSegmentBytes: MIN_SEGMENT_BYTES - 1 }],
  ['maxSegmentBytes: negative', { maxSegmentBytes: -1 }],
  ['maxSegmentBytes: fractional', { maxSegmentBytes: 1024.5 }],
  ['maxSegmentBytes: NaN', { maxSegmentBytes: Number.NaN }],
  ['maxSegmentBytes: Infinity', { maxSegmentBytes: Number.POSITIVE_INFINITY }],
  ['maxSegmentBytes: 2^53', { maxSegmentBytes: 2 ** 53 }],
  ['maxSegmentBytes: above 2 GiB', { maxSegmentBytes: 2 * 1024 ** 3 + 1 }],
  ['maxSegmentBytes: a bigint', { maxSegmentBytes: 1024n }],
  ['maxRecordBytes: below the smallest batch', { maxRecordBytes: MIN_BATCH_BYTES - 1 }],
  ['maxRecordBytes: above the codec limit', { maxRecordBytes: MAX_RECORD_BYTES_LIMIT + 1 }],
  ['maxRecordBytes: NaN', { maxRecordBytes: Number.NaN }],
  ['maxRecordBytes: fractional', { maxRecordBytes: 100.5 }],
  ['maxRecordBytes: negative', { maxRecordBytes: -100 }],
  ['maxSegments: 0', { maxSegments: 0 }],
  ['maxSegments: negative', { maxSegments: -1 }],
  ['maxSegments: fractional', { maxSegments: 2.5 }],
  ['maxSegments: NaN', { maxSegments: Number.NaN }],
  ['maxSegments: a string', { maxSegments: '3' }],
  ['preallocateBytes: negative', { preallocateBytes: -1 }],
  ['preallocateBytes: fractional', { preallocateBytes: 512.5 }],
  ['preallocateBytes: NaN', { preallocateBytes: Number.NaN }],
  ['preallocateBytes: above 2 GiB', { preallocateBytes: 2 * 1024 ** 3 + 1 }],
  ['preallocateBytes: a string', { preallocateBytes: '1MiB' }],
  ['fs: null', { fs: null }],
  ['fs: a string', { fs: 'node:fs' }],
  ['fs: an empty object', { fs: {} }],
  ['fs: a method that is not a function', { fs: { ...nodeFs, fdatasync: true } }],
  ['fs: a method missing', { fs: withoutLock }],
];

describe('invalid options reject WAL_INVALID_OPTIONS before any I/O', () => {
  test.each(invalidOptions)('%s', async (_, options) => {
    const dir = path.join(tempDir(), 'never-created');
    const input =
      typeof options === 'object' && options !== null && !Array.isArray(options)
        ? { dir, ...options }
        : options;
    const error = await rejectsWith(Wal.open(input as never), 'WAL_INVALID_OPTIONS');
    expect(error.message).toMatch(/^expected valid Wal options, found /);
    expect(error.message).toMatch(/: expected .+, found /);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('options after a directory (plain JavaScript) are refused, not ignored', async () => {
    const dir = path.join(tempDir(), 'never-created');
    const open = Wal.open as (...args: unknown[]) => Promise<Wal>;
    const error = await rejectsWith(open(dir, { sync: 'none' }), 'WAL_INVALID_OPTIONS');
    expect(error.message).toBe(
      'expected valid Wal options, found arguments: expected one (a directory, or an options object such as { dir, sync }), found 2: the options after the directory would be ignored',
    );
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('the message names the offending key', async () => {
    const dir = path.join(tempDir(), 'x');
    const error = await rejectsWith(Wal.open({ dir, maxSegmentBytes: 10 }), 'WAL_INVALID_OPTIONS');
    expect(error.message).toContain('maxSegmentBytes');
  });

  test('an invalid option never reaches a given fs', async () => {
    const faulty = new FaultyFs();
    await rejectsWith(
      Wal.open({ dir: tempDir(), fs: faulty.fs, sync: 'never' } as never),
      'WAL_INVALID_OPTIONS',
    );
    expect(faulty.calls).toEqual([]);
  });

  test('a dir with a NUL byte is an invalid option, refused before any I/O', async () => {
    const faulty = new FaultyFs();
    const dir = `${tempDir()}/a\0b`;
    const error = await rejectsWith(Wal.open({ dir, fs: faulty.fs }), 'WAL_INVALID_OPTIONS');
    expect(error.message).toMatch(/dir: expected a non-empty path without NUL bytes/);
    expect(faulty.calls).toEqual([]);
  });

  test('a dir that is a file rejects WAL_INVALID_ARGUMENT and changes nothing', async () => {
    const base = tempDir();
    const file = path.join(base, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const before = snapshot(base);
    const error = await rejectsWith(Wal.open(file), 'WAL_INVALID_ARGUMENT');
    expect(error.message).toContain(file);
    expect(snapshot(base)).toEqual(before);
  });

  test('a dir through a file rejects WAL_INVALID_ARGUMENT and changes nothing', async () => {
    const base = tempDir();
    const file = path.join(base, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const before = snapshot(base);
    const dir = path.join(file, 'log');
    const error = await rejectsWith(Wal.open(dir), 'WAL_INVALID_ARGUMENT');
    expect(error.message).toContain(dir);
    expect(rootCode(error)).toBe('ENOTDIR');
    expect(snapshot(base)).toEqual(before);
  });

  test('the smallest valid limits work: a segment holds the smallest batch and its seal', async () => {
    const dir = tempDir();
    const wal = await openWal({
      dir,
      maxSegmentBytes: MIN_SEGMENT_BYTES,
      maxRecordBytes: MIN_BATCH_BYTES,
      maxSegments: 2,
    });
    expect(await wal.delete('')).toBe(0);
    expect(await wal.delete('')).toBe(1);
    expect(wal.segment).toBe(1);
    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + MIN_BATCH_BYTES);
    const sealed = readSegments(dir)[0];
    expect(sealed?.size).toBe(
      SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + MIN_BATCH_BYTES + SEAL_FRAME_SIZE,
    );
    expect(sealed?.size).toBeLessThanOrEqual(MIN_SEGMENT_BYTES);
    expect(await wal.delete('')).toBe(2);
    await wal.close();
    expect(segmentNames(dir)).toEqual(['wal_00000001.log', 'wal_00000002.log']);
    // Closed (a mark after the record) and reopened, a segment still seals within the limit.
    const again = await openWal({ dir, maxSegmentBytes: MIN_SEGMENT_BYTES, maxSegments: 2 });
    expect(await again.delete('')).toBe(3);
    await again.close();
    expect(readSegments(dir).map((s) => s.size <= MIN_SEGMENT_BYTES)).toEqual([true, true]);
  });
});

const badBytes: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 42],
  ['a boolean', true],
  ['an object', { length: 1 }],
  ['an array of bytes', [1, 2]],
  ['an ArrayBuffer', new ArrayBuffer(2)],
  ['a DataView', new DataView(new ArrayBuffer(2))],
  ['an Int8Array', new Int8Array(2)],
  ['a bigint', 1n],
];

describe('wrong-typed arguments reject WAL_INVALID_ARGUMENT and write nothing', () => {
  test('every one, and the log is unchanged afterwards', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs });
    const writes = faulty.count('write');
    const calls: [string, () => Promise<unknown>][] = [];
    for (const [what, bad] of badBytes) {
      calls.push([`put key ${what}`, () => wal.put(bad as never, 'v')]);
      calls.push([`put value ${what}`, () => wal.put('k', bad as never)]);
      calls.push([`delete key ${what}`, () => wal.delete(bad as never)]);
      calls.push([
        `batch put key ${what}`,
        () => wal.batch([{ type: 'put', key: bad as never, value: 'v' }]),
      ]);
      calls.push([
        `batch put value ${what}`,
        () => wal.batch([{ type: 'put', key: 'k', value: bad as never }]),
      ]);
      calls.push([
        `batch delete key ${what}`,
        () => wal.batch([{ type: 'delete', key: bad as never }]),
      ]);
      calls.push([`batch ops ${what}`, () => wal.batch(bad as never)]);
      if (typeof bad !== 'number') {
        calls.push([`truncateThrough ${what}`, () => wal.truncateThrough(bad as never)]);
      }
    }
    const more: [string, () => Promise<unknown>][] = [
      ['an empty batch', () => wal.batch([])],
      ['a batch with a hole', () => wal.batch(new Array(2) as never)],
      ['a null op', () => wal.batch([null as never])],
      ['an unknown op type', () => wal.batch([{ type: 'upsert', key: 'k' } as never])],
      ['a put without a value', () => wal.batch([{ type: 'put', key: 'k' } as never])],
      [
        'a bad op after good ones',
        () =>
          wal.batch([
            { type: 'put', key: 'ok', value: 'ok' },
            { type: 'delete', key: 7 as never },
          ]),
      ],
      [
        'a delete with a value',
        () => wal.batch([{ type: 'delete', key: 'k', value: 'v' } as never]),
      ],
      ['truncateThrough(-1)', () => wal.truncateThrough(-1)],
      ['truncateThrough(1.5)', () => wal.truncateThrough(1.5)],
      ['truncateThrough(NaN)', () => wal.truncateThrough(Number.NaN)],
      ['truncateThrough(2^53)', () => wal.truncateThrough(2 ** 53)],
    ];
    for (const [what, call] of [...calls, ...more]) {
      const error = await rejectsWith(call(), 'WAL_INVALID_ARGUMENT').catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      expect(error.message, what).toMatch(/^expected /);
    }
    expect(faulty.count('write')).toBe(writes);
    expect(wal.nextSequence).toBe(0);
    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE);
    expect(await wal.put('k', 'v')).toBe(0);
  });

  test('a batch op is refused with what was found: a delete with a value, an unknown type', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    const withValue = await rejectsWith(
      wal.batch([
        { type: 'put', key: 'a', value: '1' },
        { type: 'delete', key: 'k', value: 'v' } as never,
      ]),
      'WAL_INVALID_ARGUMENT',
    );
    expect(withValue.message).toBe(
      'expected ops[1], a delete, to have no value, found the string "v"',
    );
    const badType = await rejectsWith(
      wal.batch([{ type: 'upsert', key: 'k', value: 'v' } as never]),
      'WAL_INVALID_ARGUMENT',
    );
    expect(badType.message).toBe(
      `expected ops[0].type to be 'put' or 'delete', found the string "upsert"`,
    );
    const numeric = await rejectsWith(
      wal.batch([{ type: 1, key: 'k' } as never]),
      'WAL_INVALID_ARGUMENT',
    );
    expect(numeric.message).toContain('found the number 1');
    for (const [ops, label] of [
      [
        [
          { type: 'put', key: 'a', value: '1' },
          { type: 'put', key: 7, value: '1' },
        ],
        'ops[1].key',
      ],
      [[{ type: 'put', key: 'a', value: null }], 'ops[0].value'],
      [[{ type: 'delete', key: {} }], 'ops[0].key'],
    ] as const) {
      const bad = await rejectsWith(wal.batch(ops as never), 'WAL_INVALID_ARGUMENT');
      const expected = `expected ${label} to be a Uint8Array or a string, found `;
      expect(bad.message.slice(0, expected.length)).toBe(expected);
    }
    expect(wal.nextSequence).toBe(0);
    await wal.close();
    expect(readEntries(dir)).toEqual([]);
  });

  test('a bad call does not disturb valid ones issued in the same tick', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    const results = await Promise.allSettled([
      wal.put('a', '1'),
      wal.put(42 as never, 'x'),
      wal.put('b', '2'),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([
      0,
      'rejected',
      1,
    ]);
    await wal.close();
    expect(readEntries(dir).map((e) => e.key)).toEqual(['a', 'b']);
  });
});

describe('maxRecordBytes is enforced before writing', () => {
  test('a record over the limit rejects WAL_RECORD_TOO_LARGE; one at the limit is written', async () => {
    const dir = tempDir();
    const maxRecordBytes = 1_000;
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, maxRecordBytes, fs: faulty.fs });
    const writes = faulty.count('write');
    // The record length is what the limit bounds: prefix, op header, key, value length, value.
    const fits = 'v'.repeat(
      maxRecordBytes -
        recordSize([{ type: 'put', key: new Uint8Array(1), value: new Uint8Array(0) }]),
    );
    const error = await rejectsWith(wal.put('k', `${fits}!`), 'WAL_RECORD_TOO_LARGE');
    expect(error.message).toContain(String(maxRecordBytes));
    await rejectsWith(
      wal.batch([
        // Each op fits alone; together they do not.
        { type: 'put', key: 'a', value: fits.slice(400) },
        { type: 'put', key: 'b', value: fits.slice(400) },
      ]),
      'WAL_RECORD_TOO_LARGE',
    );
    expect(faulty.count('write')).toBe(writes);
    expect(wal.nextSequence).toBe(0);

    expect(await wal.put('k', fits)).toBe(0);
    expect(wal.segmentSize).toBe(SEGMENT_HEADER_SIZE + FRAME_HEADER_SIZE + maxRecordBytes);
    await wal.close();
    const reopened = await openWal({ dir, maxRecordBytes });
    expect(reopened.nextSequence).toBe(1);
  });
});
