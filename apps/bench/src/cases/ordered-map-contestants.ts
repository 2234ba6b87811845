/**
 * The structures `ordered-maps.ts` measures. Each one has its own loops, so
 * every call site sees one structure only, as in real use.
 * Every phase returns a checksum: `put` the number of keys held, `get` and
 * `iterate` the sum of the values read (value i is stored under key i).
 */
import { createRequire } from 'node:module';
import { Memtable } from '@wal/memtable';
import { BTree, Cursor, decodeKey, encodeKey } from '@wal/memtable/internal';
import { OrderedMap } from 'js-sdsl';
import type SortedBTreeModule from 'sorted-btree';

/** Operations per second; for `iterate`, keys scanned per second. */
export interface Timings {
  put: number;
  get: number;
  iterate: number;
}

export interface Phases {
  /** Inserts every key into an empty structure; returns its size. */
  put(): number;
  /** Looks up every key in the probe order; returns the sum of the values. */
  get(): number;
  /** Scans the structure in key order; returns the sum of the values. */
  iterate(): number;
}

export interface Contestant {
  name: string;
  /** A fresh structure for these keys (latin1 strings) and probes (the keys shuffled). */
  prepare(keys: readonly string[], probes: readonly string[]): Phases;
}

// sorted-btree is CommonJS with its class on `exports.default`. Node's ESM
// import and vitest's disagree on what the default import is; require() does not.
export const SortedBTree: typeof SortedBTreeModule.default = createRequire(import.meta.url)(
  'sorted-btree',
).default;

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const sortedBTree: Contestant = {
  name: 'sorted-btree',
  prepare(keys, probes) {
    const tree = new SortedBTree<string, number>(undefined, compareStrings);
    return {
      put() {
        for (let i = 0; i < keys.length; i++) tree.set(keys[i] as string, i);
        return tree.size;
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probes.length; i++) sum += tree.get(probes[i] as string) as number;
        return sum;
      },
      iterate() {
        let sum = 0;
        for (const [, v] of tree.entries()) sum += v;
        return sum;
      },
    };
  },
};

const jsSdsl: Contestant = {
  name: 'js-sdsl OrderedMap',
  prepare(keys, probes) {
    const map = new OrderedMap<string, number>(undefined, compareStrings);
    return {
      put() {
        for (let i = 0; i < keys.length; i++) map.setElement(keys[i] as string, i);
        return map.size();
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probes.length; i++) {
          sum += map.getElementByKey(probes[i] as string) as number;
        }
        return sum;
      },
      iterate() {
        let sum = 0;
        map.forEach(([, v]) => {
          sum += v;
        });
        return sum;
      },
    };
  },
};

const ourTree: Contestant = {
  name: '@wal B+-tree',
  prepare(keys, probes) {
    const tree = new BTree<number>();
    return {
      put() {
        for (let i = 0; i < keys.length; i++) tree.set(keys[i] as string, i);
        return tree.size;
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probes.length; i++) sum += tree.get(probes[i] as string) as number;
        return sum;
      },
      iterate() {
        let sum = 0;
        const cursor = new Cursor(tree);
        while (cursor.next()) sum += cursor.value as number;
        return sum;
      },
    };
  },
};

/** The alternative we measured and did not take: a Map beside the tree makes get O(1). */
const ourTreeWithMap: Contestant = {
  name: '@wal B+-tree + Map index',
  prepare(keys, probes) {
    const tree = new BTree<{ value: number }>();
    const index = new Map<string, { value: number }>();
    return {
      put() {
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          const slot = index.get(key);
          if (slot !== undefined) slot.value = i;
          else {
            const added = { value: i };
            index.set(key, added);
            tree.set(key, added);
          }
        }
        return tree.size;
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probes.length; i++) {
          sum += (index.get(probes[i] as string) as { value: number }).value;
        }
        return sum;
      },
      iterate() {
        let sum = 0;
        const cursor = new Cursor(tree);
        while (cursor.next()) sum += (cursor.value as { value: number }).value;
        return sum;
      },
    };
  },
};

/** The keys as Uint8Arrays, and 8-byte values holding i, so the checksums work as for the others. */
function asBytes(keys: readonly string[], probes: readonly string[]) {
  return {
    keyBytes: keys.map((k) => Buffer.from(k, 'latin1')),
    probeBytes: probes.map((k) => Buffer.from(k, 'latin1')),
    values: keys.map((_, i) => {
      const value = Buffer.alloc(8);
      value.writeUInt32LE(i);
      return value;
    }),
  };
}

/** The u32 little-endian a value starts with. */
const u32 = (v: Uint8Array): number =>
  ((v[0] as number) | ((v[1] as number) << 8) | ((v[2] as number) << 16)) +
  (v[3] as number) * 2 ** 24;

/**
 * What a user of sorted-btree writes for the Memtable's job, with the same
 * key handling: Uint8Array keys turned into latin1 strings by the Memtable's
 * own `encodeKey`, each value copied (`Buffer.allocUnsafe` and `set`, the
 * fastest per-value copy measured, from Node's shared pool), keys turned
 * back into bytes on the scan. Target 7c compares the Memtable's put with this.
 */
const sortedBTreeBytes: Contestant = {
  name: 'sorted-btree (Uint8Array keys, copied values)',
  prepare(keys, probes) {
    const tree = new SortedBTree<string, Uint8Array>(undefined, compareStrings);
    const { keyBytes, probeBytes, values } = asBytes(keys, probes);
    return {
      put() {
        for (let i = 0; i < keyBytes.length; i++) {
          const value = values[i] as Buffer;
          const copy = Buffer.allocUnsafe(value.length);
          copy.set(value);
          tree.set(encodeKey(keyBytes[i], 'key'), copy);
        }
        return tree.size;
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probeBytes.length; i++) {
          sum += u32(tree.get(encodeKey(probeBytes[i], 'key')) as Uint8Array);
        }
        return sum;
      },
      iterate() {
        let sum = 0;
        for (const [key, value] of tree.entries()) {
          decodeKey(key);
          sum += u32(value);
        }
        return sum;
      },
    };
  },
};

/** The public API end to end: key encoding, value copies, new key Buffers on the scan. */
const memtable: Contestant = {
  name: '@wal Memtable (Uint8Array keys)',
  prepare(keys, probes) {
    const table = new Memtable();
    const { keyBytes, probeBytes, values } = asBytes(keys, probes);
    return {
      put() {
        for (let i = 0; i < keyBytes.length; i++) {
          table.put(keyBytes[i] as Buffer, values[i] as Buffer);
        }
        return table.size;
      },
      get() {
        let sum = 0;
        for (let i = 0; i < probeBytes.length; i++) {
          sum += u32(table.get(probeBytes[i] as Buffer) as Uint8Array);
        }
        return sum;
      },
      iterate() {
        let sum = 0;
        for (const [, value] of table.entries()) sum += u32(value as Uint8Array);
        return sum;
      },
    };
  },
};

/** Every contestant, in report order. */
export const CONTESTANTS: readonly Contestant[] = [
  sortedBTree,
  jsSdsl,
  ourTree,
  ourTreeWithMap,
  sortedBTreeBytes,
  memtable,
];
