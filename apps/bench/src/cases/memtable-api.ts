import { performance } from 'node:perf_hooks';
import { type CaseResult, randomBytes, summarize } from '../harness.js';
import { peer } from '../peers.js';
import { newMemtable } from '../wal-api.js';

interface SortedBTree {
  set(key: string, value: Uint8Array): boolean;
  readonly size: number;
}

// Node's native latin1 decoder, as the Memtable uses it; undeclared in @types/node.
const latin1Slice = (
  Buffer.prototype as unknown as {
    latin1Slice(this: Uint8Array, start: number, end: number): string;
  }
).latin1Slice;

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A copy from Node's Buffer pool, as the Memtable makes one. */
function copy(bytes: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(bytes.length);
  out.set(bytes);
  return out;
}

/** Row names: the Memtable, and sorted-btree doing the same work. */
export function memtablePutNames(count: number): { memtable: string; sortedBTree: string } {
  return {
    memtable: `memtable API: @wal Memtable.put, Uint8Array keys, copied values (${count} keys)`,
    sortedBTree: `memtable API: sorted-btree, latin1 keys from Uint8Array, copied values (${count} keys)`,
  };
}

/**
 * The full `Memtable.put` against sorted-btree given the same inputs and the
 * same duties: `count` random 16-byte Uint8Array keys, each turned into a
 * latin1 string (byte order), and 8-byte values copied from the caller's
 * buffer. Fresh structures each round, alternating; puts/s.
 */
export function memtablePut(count: number, rounds: number): CaseResult[] {
  const pool = randomBytes(count * 16, 11);
  const keys = Array.from({ length: count }, (_, i) => pool.subarray(i * 16, i * 16 + 16));
  const values = keys.map((_, i) => {
    const value = Buffer.alloc(8);
    value.writeUInt32LE(i);
    return value;
  });
  const { default: BTree } = peer<{
    default: new (entries: undefined, compare: typeof compareStrings) => SortedBTree;
  }>('sorted-btree');
  const names = memtablePutNames(count);
  const contestants: { name: string; put(): number }[] = [
    {
      name: names.memtable,
      put() {
        const table = newMemtable();
        for (let i = 0; i < count; i++) table.put(keys[i] as Uint8Array, values[i] as Uint8Array);
        return table.size;
      },
    },
    {
      name: names.sortedBTree,
      put() {
        const tree = new BTree(undefined, compareStrings);
        for (let i = 0; i < count; i++) {
          const key = keys[i] as Uint8Array;
          tree.set(latin1Slice.call(key, 0, key.length), copy(values[i] as Uint8Array));
        }
        return tree.size;
      },
    },
  ];
  const samples = contestants.map(() => [] as number[]);
  let size: number | undefined;
  for (let r = 0; r < rounds; r++) {
    contestants.forEach((c, i) => {
      const start = performance.now();
      const held = c.put();
      const seconds = (performance.now() - start) / 1000;
      if (size !== undefined && held !== size)
        throw new Error(`${c.name}: ${held} keys, expected ${size}`);
      size = held;
      samples[i]?.push(count / seconds);
    });
  }
  return contestants.map((c, i) => summarize(c.name, 'ops/s', samples[i] ?? []));
}
