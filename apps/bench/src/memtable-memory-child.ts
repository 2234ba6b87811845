// One table per process, so the heap it is measured in holds nothing else.
// Run with --expose-gc: node --expose-gc --conditions=@wal/source --import tsx
//   memtable-memory-child.ts <memtable|sorted-btree> <count> <valueBytes>
// Prints JSON: bytes per entry (V8 heap plus ArrayBuffer memory, after a full
// GC, over the same with only the inputs made) and the Memtable's sizeBytes per entry.
import { Memtable } from '@wal/memtable';
import { encodeKey } from '@wal/memtable/internal';
import { compareStrings, SortedBTree } from './cases/ordered-map-contestants.js';
import { randomKeys } from './cases/ordered-maps.js';

const [structure, countArg, valueArg] = process.argv.slice(2) as [string, string, string];
const count = Number(countArg);
const valueBytes = Number(valueArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const keys = randomKeys(count, 16, '', 5).map((k) => Buffer.from(k, 'latin1'));
const value = Buffer.alloc(valueBytes, 0x61);
const used = () => {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

const before = used();
let sizeBytes = 0;
let keep: unknown;
if (structure === 'memtable') {
  const table = new Memtable();
  for (const key of keys) table.put(key, value);
  sizeBytes = table.sizeBytes;
  keep = table;
} else {
  const tree = new SortedBTree<string, Uint8Array>(undefined, compareStrings);
  for (const key of keys) {
    const copy = Buffer.allocUnsafe(value.length);
    copy.set(value);
    tree.set(encodeKey(key, 'key'), copy);
  }
  keep = tree;
}
const after = used();
process.stdout.write(
  JSON.stringify({
    bytesPerEntry: (after - before) / count,
    sizeBytesPerEntry: sizeBytes / count,
    held: (keep as { size: number }).size,
    // Read last, so the inputs stay alive through the second measurement.
    inputs: keys.length + value.length,
  }),
);
