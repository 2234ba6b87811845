import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';

const keysOf = (pairs: Iterable<[Uint8Array, unknown]>) =>
  Array.from(pairs, ([k]) => Buffer.from(k).toString());
const filled = (...keys: string[]) => {
  const table = new Memtable();
  for (const key of keys) table.put(key, key.toUpperCase());
  return table;
};

describe('range', () => {
  const table = filled('a', 'b', 'bb', 'c', 'd');
  table.delete('c');

  test('gte and lt: lower bound in, upper bound out; tombstones are left out', () => {
    expect(keysOf(table.range({ gte: 'b', lt: 'd' }))).toEqual(['b', 'bb']);
    expect(keysOf(table.range({ gte: 'ba', lt: 'e' }))).toEqual(['bb', 'd']);
  });

  test('gt and lte: lower bound out, upper bound in', () => {
    expect(keysOf(table.range({ gt: 'b', lte: 'd' }))).toEqual(['bb', 'd']);
    expect(keysOf(table.range({ gt: 'a', lte: 'bb' }))).toEqual(['b', 'bb']);
  });

  test('either bound may be omitted, or undefined', () => {
    expect(keysOf(table.range({ lt: 'b' }))).toEqual(['a']);
    expect(keysOf(table.range({ gte: 'bb', lt: undefined }))).toEqual(['bb', 'd']);
    expect(keysOf(table.range())).toEqual(['a', 'b', 'bb', 'd']);
    expect(keysOf(table.range({}))).toEqual(['a', 'b', 'bb', 'd']);
  });

  test('reverse walks from the upper bound down, honouring which bounds are inclusive', () => {
    expect(keysOf(table.range({ reverse: true }))).toEqual(['d', 'bb', 'b', 'a']);
    expect(keysOf(table.range({ gt: 'a', lt: 'd', reverse: true }))).toEqual(['bb', 'b']);
    expect(keysOf(table.range({ gte: 'a', lte: 'd', reverse: true }))).toEqual([
      'd',
      'bb',
      'b',
      'a',
    ]);
    // A tombstone at the upper bound is skipped, not the end of the walk.
    expect(keysOf(table.range({ lte: 'c', reverse: true }))).toEqual(['bb', 'b', 'a']);
  });

  test('limit counts live entries from where the walk starts; -1 and Infinity mean none', () => {
    expect(keysOf(table.range({ limit: 2 }))).toEqual(['a', 'b']);
    expect(keysOf(table.range({ limit: 2, reverse: true }))).toEqual(['d', 'bb']);
    // The tombstone 'c' is passed over without using up the limit.
    expect(keysOf(table.range({ gte: 'bb', limit: 2 }))).toEqual(['bb', 'd']);
    expect(keysOf(table.range({ limit: 0 }))).toEqual([]);
    expect(keysOf(table.range({ limit: -1 }))).toHaveLength(4);
    expect(keysOf(table.range({ limit: Number.POSITIVE_INFINITY }))).toHaveLength(4);
  });

  test('an empty or inverted range yields nothing', () => {
    expect(keysOf(table.range({ gte: 'b', lt: 'b' }))).toEqual([]);
    expect(keysOf(table.range({ gt: 'b', lte: 'b' }))).toEqual([]);
    expect(keysOf(table.range({ gte: 'd', lte: 'a' }))).toEqual([]);
    expect(keysOf(table.range({ gte: 'd', lte: 'a', reverse: true }))).toEqual([]);
    expect(keysOf(new Memtable().range())).toEqual([]);
    expect(keysOf(new Memtable().range({ reverse: true }))).toEqual([]);
  });

  test('bounds may be bytes', () => {
    expect(keysOf(table.range({ gte: Buffer.from('b'), lt: Uint8Array.of(0x63) }))).toEqual([
      'b',
      'bb',
    ]);
  });

  test('values come with their keys', () => {
    expect(
      Array.from(table.range({ lt: 'b' }), ([k, v]) => [
        Buffer.from(k).toString(),
        Buffer.from(v).toString(),
      ]),
    ).toEqual([['a', 'A']]);
  });
});

describe('iterators are live', () => {
  test('keys added ahead of an open iterator are seen, keys behind it are not', () => {
    const table = filled('b', 'd', 'f');
    const seen: string[] = [];
    for (const [key] of table.entries()) {
      const k = Buffer.from(key).toString();
      seen.push(k);
      if (k === 'd') {
        table.put('a', 'behind');
        table.put('e', 'ahead');
      }
    }
    expect(seen).toEqual(['b', 'd', 'e', 'f']);
  });

  test('thousands of inserts during a scan (splitting nodes) neither repeat nor skip a key', () => {
    const table = new Memtable();
    const name = (i: number) => `k${String(i).padStart(6, '0')}`;
    for (let i = 0; i < 2000; i += 2) table.put(name(i), 'even');
    const seen: string[] = [];
    for (const [key] of table.range()) {
      const k = Buffer.from(key).toString();
      seen.push(k);
      const i = Number(k.slice(1));
      // Fill in the odd keys just ahead of the scan, and some far behind it.
      if (i % 2 === 0 && i + 1 < 2000) table.put(name(i + 1), 'odd');
      if (i % 10 === 0) table.put(`a${k}`, 'behind');
    }
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => name(i)));
  });

  test('in reverse, keys added below the position are seen, keys above it are not', () => {
    const table = filled('b', 'd', 'f');
    const seen: string[] = [];
    for (const [key] of table.range({ reverse: true })) {
      const k = Buffer.from(key).toString();
      seen.push(k);
      if (k === 'd') {
        table.put('z', 'behind');
        table.put('c', 'ahead');
      }
    }
    expect(seen).toEqual(['f', 'd', 'c', 'b']);
  });

  test('thousands of inserts during a reverse scan neither repeat nor skip a key', () => {
    const table = new Memtable();
    const name = (i: number) => `k${String(i).padStart(6, '0')}`;
    for (let i = 1; i < 2000; i += 2) table.put(name(i), 'odd');
    const seen: string[] = [];
    for (const [key] of table.range({ gte: name(0), reverse: true })) {
      const k = Buffer.from(key).toString();
      seen.push(k);
      const i = Number(k.slice(1));
      // Fill in the even keys just below the scan, and some far above it.
      if (i % 2 === 1) table.put(name(i - 1), 'even');
      if (i % 10 === 1) table.put(`z${k}`, 'behind');
    }
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => name(1999 - i)));
  });

  test('a limited range stops at its limit even while keys are added', () => {
    const table = filled('a', 'c', 'e');
    const seen: string[] = [];
    for (const [key] of table.range({ limit: 3 })) {
      seen.push(Buffer.from(key).toString());
      table.put(`${seen.at(-1)}${seen.at(-1)}`, 'x');
    }
    expect(seen).toEqual(['a', 'aa', 'aaaa']);
  });

  test('a value changed ahead of the iterator is read when reached', () => {
    const table = filled('a', 'b');
    const values: (string | undefined)[] = [];
    for (const [key, value] of table.entries()) {
      values.push(value && Buffer.from(value).toString());
      if (Buffer.from(key).toString() === 'a') table.delete('b');
    }
    expect(values).toEqual(['A', undefined]);
  });

  test('an iterator open across clear() ends', () => {
    const table = filled('a', 'b', 'c');
    const it = table.entries();
    it.next();
    table.clear();
    expect(it.next().done).toBe(true);
  });
});
