import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { describe, expect, test } from 'vitest';

const keysOf = (pairs: Iterable<[Uint8Array, unknown]>) =>
  Array.from(pairs, ([k]) => Buffer.from(k).toString());

/** A log in a fresh SimFs holding a put of each key. */
async function logOf(...keys: string[]): Promise<SimFs> {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (const key of keys) await wal.put(key, `v-${key}`);
  await wal.close();
  return sim;
}

describe('an iterator open while replay fills the table sees what replay added', () => {
  test('control: over a table holding data, keys replay adds ahead of it are seen', async () => {
    const sim = await logOf('b', 'c', 'd');
    const table = new Memtable();
    table.put('a', 'mine');
    const it = table.range();
    expect(keysOf([it.next().value as [Uint8Array, Uint8Array]])).toEqual(['a']);
    await replay('/wal', table, { fs: sim });
    expect(keysOf(it)).toEqual(['b', 'c', 'd']);
  });

  test('control: across clear(), a put ahead of it is seen', () => {
    const table = new Memtable();
    table.put('a', 'mine');
    table.put('z', 'mine');
    const it = table.range();
    it.next();
    table.clear();
    table.put('b', 'x');
    expect(keysOf(it)).toEqual(['b']);
  });

  test.each([
    ['forward', false, 'a', ['b', 'c', 'd']],
    ['in reverse', true, 'z', ['d', 'c', 'b']],
  ])(
    'across clear(), %s, it goes on in what replay put into the emptied table',
    async (_, reverse, first, rest) => {
      const sim = await logOf('b', 'c', 'd');
      const table = new Memtable();
      table.put('a', 'mine');
      table.put('z', 'mine');
      const it = table.range({ reverse });
      expect(keysOf([it.next().value as [Uint8Array, Uint8Array]])).toEqual([first]);
      table.clear();
      await replay('/wal', table, { fs: sim });
      expect(keysOf(table.range({ reverse }))).toEqual(rest);
      expect(keysOf(it)).toEqual(rest);
    },
  );

  test('across clear() and replay, a later put is seen too, with the values replay absorbed', async () => {
    const sim = await logOf('b');
    const table = new Memtable();
    table.put('a', 'mine');
    const it = table.entries();
    it.next();
    table.clear();
    await replay('/wal', table, { fs: sim });
    table.put('c', 'x');
    const rest = Array.from(it, ([k, v]) => [
      Buffer.from(k).toString(),
      Buffer.from(v ?? []).toString(),
    ]);
    expect(rest).toEqual([
      ['b', 'v-b'],
      ['c', 'x'],
    ]);
  });
});
