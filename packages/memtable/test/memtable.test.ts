import { DEFAULT_MAX_SIZE_BYTES, ENTRY_OVERHEAD_BYTES, Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { render } from './model.js';

const b = (...bytes: number[]) => Uint8Array.from(bytes);
const keysOf = (pairs: Iterable<[Uint8Array, unknown]>) =>
  Array.from(pairs, ([k]) => Buffer.from(k).toString('latin1'));
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();

describe('order', () => {
  test('keys sort by unsigned bytes; strings by their UTF-8 bytes', () => {
    const table = new Memtable();
    // UTF-8: 'é' is c3 a9, 'ÿ' is c3 bf, '€' is e2 82 ac, so all sort after 'z' (7a).
    for (const key of ['z', 'é', 'ÿ', '€', 'a', 'B', '', 'a\u0000']) table.put(key, 'v');
    table.put(b(0x80), 'v');
    table.put(b(0xff, 0x00), 'v');
    expect(keysOf(table.entries()).map((k) => Buffer.from(k, 'latin1').toString('hex'))).toEqual([
      '',
      '42',
      '61',
      '6100',
      '7a',
      '80',
      'c3a9',
      'c3bf',
      'e282ac',
      'ff00',
    ]);
  });

  test('a string key and its UTF-8 bytes are the same key', () => {
    const table = new Memtable();
    table.put('é', 'first');
    table.put(b(0xc3, 0xa9), 'second');
    expect(table.size).toBe(1);
    expect(text(table.get('é'))).toBe('second');
    table.delete(Buffer.from('é'));
    expect(table.has('é')).toBe(false);
  });

  test('a lone surrogate is encoded as U+FFFD, as Buffer.from does', () => {
    const table = new Memtable();
    table.put('\ud800', 'v');
    expect(table.has('\ufffd')).toBe(true);
  });
});

describe('empty keys and values', () => {
  test('an empty value is a value, not a delete', () => {
    const table = new Memtable();
    table.put('k', 'old');
    table.put('k', new Uint8Array(0));
    expect(table.get('k')?.length).toBe(0);
    expect(table.has('k')).toBe(true);
    expect(render(table.range())).toBe('6b=\n');
    // 'old' stays in the arena (and counted) until clear().
    expect(table.sizeBytes).toBe(1 + 3 + ENTRY_OVERHEAD_BYTES);
  });

  test('an empty key is a key like any other, and sorts first', () => {
    const table = new Memtable();
    table.put('a', '1');
    table.put('', '');
    expect(table.get('')?.length).toBe(0);
    expect(table.get(new Uint8Array(0))?.length).toBe(0);
    expect(keysOf(table.entries())).toEqual(['', 'a']);
    table.delete('');
    expect(table.has('')).toBe(false);
    expect(table.size).toBe(2);
    expect(table.sizeBytes).toBe(ENTRY_OVERHEAD_BYTES + 2 + ENTRY_OVERHEAD_BYTES);
  });
});

describe('tombstones', () => {
  test('a delete leaves a tombstone: counted, listed by entries(), hidden from get and range', () => {
    const table = new Memtable();
    table.put('a', 'value');
    table.delete('a');
    table.delete('never-put');
    expect(table.get('a')).toBeUndefined();
    expect(table.has('a')).toBe(false);
    expect(table.size).toBe(2);
    // Keys 'a' and 'never-put', and the 5 bytes of 'value', which stay in the arena.
    expect(table.sizeBytes).toBe(1 + 9 + 5 + 2 * ENTRY_OVERHEAD_BYTES);
    expect([...table.entries()]).toEqual([
      [Buffer.from('a'), undefined],
      [Buffer.from('never-put'), undefined],
    ]);
    expect([...table.range()]).toEqual([]);
  });

  test('a put over a tombstone brings the key back', () => {
    const table = new Memtable();
    table.delete('a');
    table.put('a', 'xy');
    expect(text(table.get('a'))).toBe('xy');
    expect(table.sizeBytes).toBe(1 + 2 + ENTRY_OVERHEAD_BYTES);
  });
});

describe('the table owns its bytes', () => {
  test('changing the buffers passed to put changes nothing', () => {
    const table = new Memtable();
    const key = Buffer.from('key');
    const value = Buffer.from('value');
    table.put(key, value);
    key.fill(0);
    value.fill(0);
    expect(text(table.get('key'))).toBe('value');
    expect(table.has(key)).toBe(false);
  });

  test('an applied entry is copied out of its read chunk, not kept as a view', () => {
    const table = new Memtable();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    table.apply({
      sequence: 0,
      type: 'put',
      key: chunk.subarray(0, 3),
      value: chunk.subarray(3, 8),
    });
    const stored = table.get('aaa') as Uint8Array;
    expect(stored.buffer).not.toBe(chunk.buffer);
    chunk.fill(0);
    expect(text(stored)).toBe('aaaaa');
  });

  test('get returns bytes a later put leaves alone', () => {
    const table = new Memtable();
    table.put('k', 'one');
    const first = table.get('k');
    table.put('k', 'two');
    expect(text(first)).toBe('one');
    expect(text(table.get('k'))).toBe('two');
  });
});

describe('values live in the arena', () => {
  // Lengths around the LEB128 length prefix's steps (127/128, 16383/16384),
  // the byte-loop copy's limit (8/9), a slab's 16 KiB start, and values big
  // enough for a slab of their own (above 256 KiB).
  const lengths = [0, 1, 8, 9, 100, 127, 128, 5000, 16383, 16384, 16385, 262_000, 262_200, 300_000];
  const patterned = (i: number, length: number) => {
    const value = Buffer.alloc(length);
    for (let j = 0; j < length; j++) value[j] = (i * 31 + j * 7) & 0xff;
    return value;
  };

  test('every length round-trips, across many slabs, through get, range and entries', () => {
    const table = new Memtable();
    const expected: Buffer[] = [];
    // 3 rounds of each length, interleaved, fill several slabs up to the 1 MiB maximum and past it.
    for (let i = 0; i < lengths.length * 3; i++) {
      const value = patterned(i, lengths[i % lengths.length] as number);
      expected.push(value);
      table.put(`k${String(i).padStart(3, '0')}`, value);
    }
    expected.forEach((value, i) => {
      expect(Buffer.compare(table.get(`k${String(i).padStart(3, '0')}`) as Uint8Array, value)).toBe(
        0,
      );
    });
    const fromRange = Array.from(table.range(), ([, v]) => Buffer.from(v).toString('hex'));
    expect(fromRange).toEqual(expected.map((v) => v.toString('hex')));
    expect(table.sizeBytes).toBe(
      expected.reduce((sum, v) => sum + v.length + 4 + ENTRY_OVERHEAD_BYTES, 0),
    );
  });

  test('a view from get stays valid after overwrites, deletes, more slabs and clear()', () => {
    const table = new Memtable();
    table.put('k', 'first');
    const held = table.get('k') as Uint8Array;
    table.put('k', 'second');
    table.delete('k');
    for (let i = 0; i < 2000; i++) table.put(`x${i}`, patterned(i, 1000));
    table.clear();
    for (let i = 0; i < 2000; i++) table.put(`x${i}`, patterned(i + 1, 1000));
    expect(text(held)).toBe('first');
  });

  test('views are exactly the value: no bytes of neighbours through length or offset', () => {
    const table = new Memtable();
    table.put('a', 'aaaa');
    table.put('b', 'bb');
    table.put('c', '');
    const b = table.get('b') as Uint8Array;
    expect([b.length, text(b)]).toEqual([2, 'bb']);
    expect(table.get('c')?.length).toBe(0);
    expect(text(table.get('a'))).toBe('aaaa');
  });
});

describe('apply', () => {
  test("the Rust WAL's replay case (seed/wal.rs): put key1, put key2, delete key1, put key3", () => {
    const table = new Memtable();
    const key = (s: string) => Buffer.from(s);
    table.apply({ sequence: 0, type: 'put', key: key('key1'), value: key('value1') });
    table.apply({ sequence: 1, type: 'put', key: key('key2'), value: key('value2') });
    table.apply({ sequence: 2, type: 'delete', key: key('key1') });
    table.apply({ sequence: 3, type: 'put', key: key('key3'), value: key('value3') });
    expect(table.has('key1')).toBe(false);
    expect(text(table.get('key2'))).toBe('value2');
    expect(text(table.get('key3'))).toBe('value3');
    expect(table.lastSequence).toBe(3);
  });

  test('entries at or below lastSequence are ignored, so applying twice is idempotent', () => {
    const entries = [
      { sequence: 5, type: 'put', key: b(1), value: b(1) },
      { sequence: 6, type: 'put', key: b(2), value: b() },
      { sequence: 9, type: 'delete', key: b(1) },
    ] as const;
    const table = new Memtable();
    expect(entries.map((e) => table.apply(e))).toEqual([true, true, true]);
    const once = render(table.entries());
    const sizeBytes = table.sizeBytes;
    expect(entries.map((e) => table.apply(e))).toEqual([false, false, false]);
    expect(table.apply({ sequence: 8, type: 'put', key: b(3), value: b(3) })).toBe(false);
    expect(render(table.entries())).toBe(once);
    expect(table.sizeBytes).toBe(sizeBytes);
    expect(table.lastSequence).toBe(9);
    expect(table.apply({ sequence: 10, type: 'put', key: b(3), value: b(3) })).toBe(true);
  });

  test('put and delete called directly leave lastSequence alone', () => {
    const table = new Memtable();
    table.put('a', 'b');
    table.delete('a');
    expect(table.lastSequence).toBeNull();
    table.apply({ sequence: 0, type: 'put', key: b(1), value: b(2) });
    table.put('c', 'd');
    expect(table.lastSequence).toBe(0);
  });

  test('clear keeps lastSequence, so cleared entries are not replayed back', () => {
    const table = new Memtable();
    table.apply({ sequence: 7, type: 'put', key: b(1), value: b(2) });
    table.clear();
    expect(table.size).toBe(0);
    expect(table.sizeBytes).toBe(0);
    expect(table.lastSequence).toBe(7);
    expect(table.apply({ sequence: 7, type: 'put', key: b(1), value: b(2) })).toBe(false);
    expect(table.size).toBe(0);
  });
});

describe('size accounting and shouldFlush', () => {
  test('an overwrite adds its value bytes: the overwritten bytes stay in the arena until clear', () => {
    const table = new Memtable();
    table.put('key', '12345');
    expect(table.sizeBytes).toBe(3 + 5 + ENTRY_OVERHEAD_BYTES);
    table.put('key', '1');
    expect(table.sizeBytes).toBe(3 + 5 + 1 + ENTRY_OVERHEAD_BYTES);
    table.delete('key');
    expect(table.sizeBytes).toBe(3 + 5 + 1 + ENTRY_OVERHEAD_BYTES);
    table.clear();
    table.put('key', '1');
    expect(table.sizeBytes).toBe(3 + 1 + ENTRY_OVERHEAD_BYTES);
  });

  test('an entry skipped by apply adds nothing', () => {
    const table = new Memtable({ lastSequence: 5 });
    expect(table.apply({ sequence: 5, type: 'put', key: b(1), value: b(1, 2, 3) })).toBe(false);
    expect(table.sizeBytes).toBe(0);
  });

  test('shouldFlush turns true at maxSizeBytes and false after clear', () => {
    const limit = 2 * ENTRY_OVERHEAD_BYTES + 4;
    const table = new Memtable({ maxSizeBytes: limit });
    expect(table.maxSizeBytes).toBe(limit);
    table.put('a', 'b');
    expect(table.shouldFlush()).toBe(false);
    table.put('c', 'd');
    expect(table.sizeBytes).toBe(limit);
    expect(table.shouldFlush()).toBe(true);
    table.clear();
    expect(table.shouldFlush()).toBe(false);
  });

  test('the default threshold is 64 MiB', () => {
    expect(new Memtable().maxSizeBytes).toBe(DEFAULT_MAX_SIZE_BYTES);
    expect(new Memtable({}).maxSizeBytes).toBe(64 * 1024 * 1024);
  });
});
