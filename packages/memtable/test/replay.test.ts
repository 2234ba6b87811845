import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import { listSegments, nodeFs, Wal } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-replay-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();

/** Every [key, value] of a table, tombstones as null, as strings. */
function dump(table: Memtable): [string, string | null][] {
  return [...table.entries()].map(([k, v]) => [
    Buffer.from(k).toString(),
    v === undefined ? null : Buffer.from(v).toString(),
  ]);
}

async function tearLastSegment(dir: string, bytes: number): Promise<void> {
  const last = listSegments(nodeFs, dir).at(-1);
  if (!last) throw new Error('no segment');
  const size = fs.statSync(last.path).size;
  fs.truncateSync(last.path, size - bytes);
}

describe('replay', () => {
  test("the original's case: put key1, put key2, delete key1, put key3", async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.put('key1', 'value1');
    await wal.put('key2', 'value2');
    await wal.delete('key1');
    await wal.put('key3', 'value3');
    await wal.close();

    const table = new Memtable();
    const result = await replay(dir, table);
    expect(table.has('key1')).toBe(false);
    expect(text(table.get('key2'))).toBe('value2');
    expect(text(table.get('key3'))).toBe('value3');
    expect(table.lastSequence).toBe(3);
    expect(result).toMatchObject({ nextSequence: 4, applied: 4, skipped: 0 });
    // The delete left a tombstone, so a flush can shadow older data.
    expect(dump(table)).toEqual([
      ['key1', null],
      ['key2', 'value2'],
      ['key3', 'value3'],
    ]);
  });

  test('an empty value survives replay as a value, shadowing the older one', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.put('k', 'old');
    await wal.put('k', '');
    await wal.close();
    const table = new Memtable();
    await replay(dir, table);
    expect(table.has('k')).toBe(true);
    expect(table.get('k')).toEqual(new Uint8Array(0));
  });

  test('replaying twice gives the same table; a table restored at a sequence skips what it holds', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    for (let i = 0; i < 10; i++) await wal.put(`k${i % 4}`, `v${i}`);
    await wal.close();

    const table = new Memtable();
    await replay(dir, table);
    const once = { entries: dump(table), sizeBytes: table.sizeBytes, last: table.lastSequence };
    const again = await replay(dir, table);
    expect(again).toMatchObject({ applied: 0, skipped: 10, nextSequence: 10 });
    expect({ entries: dump(table), sizeBytes: table.sizeBytes, last: table.lastSequence }).toEqual(
      once,
    );

    // A checkpoint held everything up to sequence 5: only 6..9 are applied.
    const restored = new Memtable({ lastSequence: 5 });
    const result = await replay(dir, restored);
    expect(result).toMatchObject({ applied: 4, skipped: 6 });
    expect(dump(restored)).toEqual([
      ['k0', 'v8'],
      ['k1', 'v9'],
      ['k2', 'v6'],
      ['k3', 'v7'],
    ]);
  });

  test('a batch is replayed whole, with consecutive sequences', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.put('a', '1');
    await wal.batch([
      { type: 'put', key: 'b', value: '2' },
      { type: 'delete', key: 'a' },
      { type: 'put', key: 'c', value: '' },
    ]);
    await wal.close();
    const table = new Memtable();
    const result = await replay(dir, table);
    expect(result.applied).toBe(4);
    expect(table.lastSequence).toBe(3);
    expect(dump(table)).toEqual([
      ['a', null],
      ['b', '2'],
      ['c', ''],
    ]);
  });

  test('after a crash that tore the tail: every complete record, through @wal/fs and @wal/recovery', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, maxSegmentBytes: 256 });
    for (let i = 0; i < 20; i++) await wal.put(`key-${i}`, `value-${i}`);
    await wal.close();
    await tearLastSegment(dir, 5);

    const table = new Memtable();
    const result = await replay(dir, table);
    expect(result.stats.tornTail).not.toBeNull();
    expect(result.applied).toBe(19);
    expect(text(table.get('key-18'))).toBe('value-18');
    expect(table.has('key-19')).toBe(false);

    // The writer cuts the tail on open and continues the sequence.
    const reopened = await Wal.open({ dir, maxSegmentBytes: 256 });
    expect(reopened.nextSequence).toBe(19);
    await reopened.put('key-19', 'again');
    await reopened.close();
    const next = await replay(dir, table);
    expect(next).toMatchObject({ applied: 1, skipped: 19, nextSequence: 20 });
    expect(text(table.get('key-19'))).toBe('again');
  });

  test.each([
    ['an empty table', () => new Memtable()],
    [
      'a table holding data',
      () => {
        const t = new Memtable();
        t.put('zz', 'mine');
        t.delete('key-3');
        return t;
      },
    ],
  ])('a strict-mode failure leaves %s exactly as it was', async (_, make) => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    for (let i = 0; i < 8; i++) await wal.put(`key-${i}`, `value-${i}`);
    await wal.close();
    await tearLastSegment(dir, 3);

    const table = make();
    const before = {
      entries: dump(table),
      sizeBytes: table.sizeBytes,
      size: table.size,
      last: table.lastSequence,
    };
    const error = await replay(dir, table, { mode: 'strict' }).catch((e: unknown) => e);
    expect(WalError.isInstance(error, ErrorCode.CORRUPTION)).toBe(true);
    expect({
      entries: dump(table),
      sizeBytes: table.sizeBytes,
      size: table.size,
      last: table.lastSequence,
    }).toEqual(before);
  });

  test('replay over a table with its own writes equals applying the log on top of them', async () => {
    const op = fc.record({
      type: fc.constantFrom('put' as const, 'delete' as const),
      key: fc.constantFrom('a', 'b', 'c', 'd', ''),
      value: fc.string({ maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 12 }),
        fc.array(op, { minLength: 1, maxLength: 12 }),
        async (mine, logged) => {
          const dir = tempDir();
          const wal = await Wal.open(dir);
          for (const o of logged) {
            if (o.type === 'put') await wal.put(o.key, o.value);
            else await wal.delete(o.key);
          }
          await wal.close();
          const table = new Memtable();
          const model = new Memtable();
          for (const o of mine)
            for (const t of [table, model]) {
              if (o.type === 'put') t.put(o.key, o.value);
              else t.delete(o.key);
            }
          for (const [sequence, o] of logged.entries()) {
            model.apply(
              o.type === 'put'
                ? { sequence, type: 'put', key: Buffer.from(o.key), value: Buffer.from(o.value) }
                : { sequence, type: 'delete', key: Buffer.from(o.key) },
            );
          }
          await replay(dir, table);
          expect(dump(table)).toEqual(dump(model));
          expect(table.sizeBytes).toBe(model.sizeBytes);
          expect(table.lastSequence).toBe(logged.length - 1);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('lastSequence must be null or a non-negative safe integer', () => {
    for (const lastSequence of [-1, 1.5, Number.NaN, '3', 2 ** 53]) {
      expect(() => new Memtable({ lastSequence: lastSequence as number })).toThrow(
        expect.objectContaining({ code: 'WAL_INVALID_OPTIONS' }),
      );
    }
    expect(new Memtable({ lastSequence: 0 }).lastSequence).toBe(0);
  });
});
