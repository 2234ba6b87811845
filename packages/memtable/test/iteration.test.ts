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

  test('start is inclusive, end exclusive; tombstones are left out', () => {
    expect(keysOf(table.range('b', 'd'))).toEqual(['b', 'bb']);
    expect(keysOf(table.range('ba', 'e'))).toEqual(['bb', 'd']);
  });

  test('either bound may be omitted', () => {
    expect(keysOf(table.range(undefined, 'b'))).toEqual(['a']);
    expect(keysOf(table.range('bb'))).toEqual(['bb', 'd']);
    expect(keysOf(table.range())).toEqual(['a', 'b', 'bb', 'd']);
  });

  test('an empty or inverted range yields nothing', () => {
    expect(keysOf(table.range('b', 'b'))).toEqual([]);
    expect(keysOf(table.range('d', 'a'))).toEqual([]);
    expect(keysOf(new Memtable().range())).toEqual([]);
  });

  test('bounds may be bytes', () => {
    expect(keysOf(table.range(Buffer.from('b'), Uint8Array.of(0x63)))).toEqual(['b', 'bb']);
  });

  test('values come with their keys', () => {
    expect(
      Array.from(table.range('a', 'b'), ([k, v]) => [
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
