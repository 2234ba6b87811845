// The memtable cases of the bench are code too: it must run, and every structure in
// it must do the work (each phase checks a checksum, each ingester its
// count, the memory case its children). No timing is asserted.
import { expect, test } from 'vitest';
import { memtableIngest } from '../src/cases/memtable-ingest.js';
import { memtableMemory } from '../src/cases/memtable-memory.js';
import { compareOrderedMaps } from '../src/cases/ordered-maps.js';

test.each(['', 'user:'])('compareOrderedMaps runs every structure (prefix %j)', (prefix) => {
  const result = compareOrderedMaps({ count: 3000, rounds: 1, prefix });
  expect(result.results.map((r) => r.name)).toEqual([
    'sorted-btree',
    'js-sdsl OrderedMap',
    '@wal B+-tree',
    '@wal B+-tree + Map index',
    'sorted-btree (Uint8Array keys, copied values)',
    '@wal Memtable (Uint8Array keys)',
  ]);
  for (const r of result.results) {
    for (const rate of [r.put, r.get, r.iterate]) expect(rate).toBeGreaterThan(0);
  }
});

test('memtableIngest runs every ingester over entries spread across chunks', async () => {
  const rows = await memtableIngest(20_000, 100, 1);
  expect(rows.map((r) => `${r.name} | ${r.unit}`)).toEqual(
    [
      '@wal Memtable.apply',
      'sorted-btree, a copy per entry',
      'entries made, stored nowhere',
    ].flatMap((name) => {
      const row = `ingest: ${name} (20000 entries, 100 B values, views into 1 MiB chunks)`;
      return [`${row} | entries/s`, `${row} | % time in GC`];
    }),
  );
  for (const r of rows) expect(r.median).toBeGreaterThanOrEqual(0);
});

test('memtableMemory measures both structures in child processes', () => {
  const rows = memtableMemory(5000);
  expect(rows).toHaveLength(6);
  for (const r of rows) expect(r.median).toBeGreaterThan(0);
  // Each value is 8 or 100 bytes after a 16-byte key: the formula counts at least those.
  const formula = rows.filter((r) => r.name.includes('sizeBytes')).map((r) => r.median);
  expect(formula).toEqual([16 + 8 + 64, 16 + 100 + 64]);
});
