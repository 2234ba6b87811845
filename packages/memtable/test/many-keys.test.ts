// Enough keys for a tree several levels deep, from key families that stress
// its different paths: random keys, ascending and descending runs (splits at
// the right and left edges), long shared prefixes (nodes that skip many
// bytes), long keys and keys that are prefixes of one another (zero padding).
import { Memtable } from '@wal/memtable';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { expectSameState, Model, type ModelRange, render, renderModel } from './model.js';

function generator(seed: number) {
  let s = seed | 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const bytes = (n: number, alphabet?: number[]) =>
    Buffer.from(
      Array.from({ length: n }, () =>
        alphabet ? (alphabet[next() % alphabet.length] as number) : next() & 0xff,
      ),
    );
  let up = 0;
  let down = 0xffffffff;
  let last = 0;
  const families: (() => Buffer)[] = [
    () => bytes(16),
    () => {
      // Above every other family: appends at the right edge of the tree.
      const key = Buffer.alloc(7, 0xff);
      key.writeUInt32BE(last++, 3);
      return key;
    },
    () => Buffer.from(`user:${String(up++).padStart(10, '0')}`),
    () => {
      const key = Buffer.alloc(8);
      key.writeUInt32BE(down--, 4);
      return key;
    },
    () => Buffer.concat([Buffer.alloc(next() % 24, 0x61), bytes(next() % 4, [0, 1, 0x61, 0xff])]),
    () => Buffer.concat([Buffer.from('table/'), bytes(2), Buffer.alloc(next() % 3)]),
    // Long keys (30 to 69 bytes) sharing 30 bytes.
    () => Buffer.concat([Buffer.alloc(30, 0x6b), bytes(next() % 40)]),
  ];
  return { next, key: () => (families[next() % families.length] as () => Buffer)() };
}

test('a deep tree matches the model for get, has, entries and ranges in both directions', () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const random = generator(seed);
      const table = new Memtable();
      const model = new Model();
      const used: Buffer[] = [];
      for (let i = 0; i < 40_000; i++) {
        const roll = random.next() % 10;
        const key =
          roll < 8 || used.length === 0
            ? random.key()
            : (used[random.next() % used.length] as Buffer);
        used.push(key);
        if (roll === 9) {
          table.delete(key);
          model.delete(key);
        } else {
          const value = Buffer.alloc(random.next() % 5, i & 0xff);
          table.put(key, value);
          model.put(key, value);
        }
      }
      expectSameState(table, model);
      const probes = [...used.slice(0, 2000), ...Array.from({ length: 500 }, random.key)];
      const show = (v: Uint8Array | undefined) =>
        v === undefined ? '∅' : Buffer.from(v).toString('hex');
      expect(probes.map((k) => show(table.get(k))).join()).toBe(
        probes.map((k) => show(model.get(k))).join(),
      );
      expect(probes.map((k) => table.has(k))).toEqual(
        probes.map((k) => model.get(k) !== undefined),
      );
      const sorted = model.entries();
      for (let i = 0; i < 40; i++) {
        const pick = () => (random.next() % 4 === 0 ? undefined : random.key());
        const options: ModelRange = {
          [random.next() % 2 ? 'gt' : 'gte']: pick(),
          [random.next() % 2 ? 'lt' : 'lte']: pick(),
          reverse: random.next() % 2 === 0,
          limit: random.next() % 3 === 0 ? random.next() % 300 : -1,
        };
        expect(render(table.range(options))).toBe(renderModel(model.range(options, sorted)));
      }
    }),
    { numRuns: 3 },
  );
});
