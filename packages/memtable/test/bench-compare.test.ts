// The comparison benchmark is code too: it must run, and every structure in
// it must do the work (each phase checks a checksum). No timing is asserted.
import { expect, test } from 'vitest';
import { compareOrderedMaps } from '../bench/compare.js';

test.each(['', 'user:'])('compareOrderedMaps runs every structure (prefix %j)', (prefix) => {
  const result = compareOrderedMaps({ count: 3000, rounds: 1, prefix });
  expect(result.results.map((r) => r.name)).toEqual([
    'sorted-btree',
    'js-sdsl OrderedMap',
    '@wal B+-tree',
    '@wal B+-tree + Map index',
    '@wal Memtable (Uint8Array keys)',
  ]);
  for (const r of result.results) {
    for (const rate of [r.put, r.get, r.iterate]) expect(rate).toBeGreaterThan(0);
  }
});
