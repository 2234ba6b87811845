// Replay into a table that already holds data takes the staging table's
// arena slabs over instead of copying values again; every value must still
// read back right from its new location, whatever slab it sat in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wal } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import { scanLog } from '@wal/recovery';
import { afterEach, expect, test } from 'vitest';
import { render } from './model.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// Lengths that cross slabs and take slabs of their own (above 256 KiB).
const LENGTHS = [0, 1, 9, 128, 20_000, 300_000, 70_000];
const patterned = (i: number) =>
  Buffer.alloc(LENGTHS[i % LENGTHS.length] as number, `${i % 251}:`.repeat(3));

test('replay into a table holding data: every value reads back, and views held before stay valid', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-replay-arena-'));
  dirs.push(dir);
  const wal = await Wal.open(dir);
  for (let i = 0; i < 60; i++) {
    if (i % 11 === 10) await wal.delete(`k${i % 20}`);
    else await wal.put(`k${i % 20}`, patterned(i));
  }
  await wal.close();

  const table = new Memtable();
  const expected = new Memtable();
  for (let i = 0; i < 30; i++) {
    for (const t of [table, expected]) t.put(`k${(i * 7) % 40}`, patterned(i + 3));
  }
  const held = Buffer.from(table.get('k7') as Uint8Array);
  const view = table.get('k7') as Uint8Array;
  let sequence = 0;
  for await (const entry of scanLog(dir)) {
    expected.apply(entry);
    sequence = entry.sequence;
  }

  const result = await replay(dir, table);
  expect(result.applied).toBe(60);
  expect(table.lastSequence).toBe(sequence);
  expect(render(table.entries())).toBe(render(expected.entries()));
  expect(table.sizeBytes).toBe(expected.sizeBytes);
  expect(Buffer.compare(view, held)).toBe(0);

  // The table goes on taking writes after adopting the slabs.
  table.put('after', patterned(5));
  expect(Buffer.compare(table.get('after') as Uint8Array, patterned(5))).toBe(0);
  expect(Buffer.compare(table.get('k1') as Uint8Array, expected.get('k1') as Uint8Array)).toBe(0);
});
