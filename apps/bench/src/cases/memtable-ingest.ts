/**
 * Replay-style ingestion into a table: `count` log entries whose keys and
 * values are views into 1 MiB read chunks, as recovery hands them over,
 * applied one by one. The table must copy them out (a kept view would pin
 * its chunk), so this is where per-entry allocations show up as GC time.
 *
 * Rows, each with its share of time spent in GC:
 * - `Memtable.apply` (the arena: one copy into a slab, no object per value);
 * - sorted-btree with a copy per entry (`Buffer.allocUnsafe` + `set`, what
 *   the Memtable did before the arena), keys encoded as the Memtable does;
 * - the entry objects and views alone, stored nowhere: the floor.
 * The chunks are made before timing; the entry objects are made inside the
 * loop, as a decoder makes them. A full GC runs before each ingester.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Memtable } from '@wal/memtable';
import { encodeKey } from '@wal/memtable/internal';
import { collectGarbage } from '../collect-garbage.js';
import { type CaseResult, summarize } from '../harness.js';
import { compareStrings, SortedBTree } from './ordered-map-contestants.js';
import { randomKeys } from './ordered-maps.js';

const CHUNK_BYTES = 1 << 20;
const KEY_BYTES = 16;

interface Entry {
  sequence: number;
  type: 'put';
  key: Uint8Array;
  value: Uint8Array;
}

/** Consumes one entry; returns nothing the loop needs. */
type Sink = (entry: Entry) => void;

interface Ingester {
  name: string;
  /** A fresh sink, and how many entries it holds at the end. */
  make(): { sink: Sink; held: () => number };
}

const INGESTERS: Ingester[] = [
  {
    name: '@wal Memtable.apply',
    make() {
      const table = new Memtable();
      return { sink: (entry) => table.apply(entry), held: () => table.size };
    },
  },
  {
    name: 'sorted-btree, a copy per entry',
    make() {
      const tree = new SortedBTree<string, Uint8Array>(undefined, compareStrings);
      return {
        sink(entry) {
          const copy = Buffer.allocUnsafe(entry.value.length);
          copy.set(entry.value);
          tree.set(encodeKey(entry.key, 'key'), copy);
        },
        held: () => tree.size,
      };
    },
  },
  {
    name: 'entries made, stored nowhere',
    make() {
      let seen = 0;
      return {
        sink(entry) {
          seen += entry.value.length > 0 ? 1 : 0;
        },
        held: () => seen,
      };
    },
  },
];

/** 1 MiB chunks packed with `count` [16-byte random key][value] records. */
function makeChunks(count: number, valueBytes: number): { chunk: Buffer; records: number }[] {
  const keys = randomKeys(count, KEY_BYTES, '', 3);
  const perChunk = Math.floor(CHUNK_BYTES / (KEY_BYTES + valueBytes));
  const chunks: { chunk: Buffer; records: number }[] = [];
  for (let first = 0; first < count; first += perChunk) {
    const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
    const records = Math.min(perChunk, count - first);
    for (let r = 0; r < records; r++) {
      const at = r * (KEY_BYTES + valueBytes);
      chunk.write(keys[first + r] as string, at, 'latin1');
      chunk.writeUInt32LE(first + r, at + KEY_BYTES);
    }
    chunks.push({ chunk, records });
  }
  return chunks;
}

/** Sums the duration of GC pauses while it is observing. */
function gcClock(): { start(): void; stop(): Promise<number> } {
  let total = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) total += entry.duration;
  });
  return {
    start() {
      total = 0;
      observer.observe({ entryTypes: ['gc'] });
    },
    async stop() {
      // GC entries are delivered asynchronously: after a timer, not yet at setImmediate.
      await sleep(1);
      observer.disconnect();
      return total;
    },
  };
}

/** Entries/s and GC share of every ingester, `rounds` interleaved rounds. */
export async function memtableIngest(
  count: number,
  valueBytes: number,
  rounds: number,
): Promise<CaseResult[]> {
  const chunks = makeChunks(count, valueBytes);
  const rate = new Map<string, number[]>(INGESTERS.map((i) => [i.name, []]));
  const gcShare = new Map<string, number[]>(INGESTERS.map((i) => [i.name, []]));
  const clock = gcClock();
  for (let round = 0; round < rounds; round++) {
    for (const ingester of INGESTERS) {
      collectGarbage();
      const { sink, held } = ingester.make();
      clock.start();
      const start = performance.now();
      let sequence = 0;
      for (const { chunk, records } of chunks) {
        for (let r = 0; r < records; r++) {
          const at = r * (KEY_BYTES + valueBytes);
          sink({
            sequence: sequence++,
            type: 'put',
            key: chunk.subarray(at, at + KEY_BYTES),
            value: chunk.subarray(at + KEY_BYTES, at + KEY_BYTES + valueBytes),
          });
        }
      }
      const ms = performance.now() - start;
      const gcMs = await clock.stop();
      if (held() !== count) throw new Error(`${ingester.name}: holds ${held()}, expected ${count}`);
      rate.get(ingester.name)?.push((count / ms) * 1000);
      gcShare.get(ingester.name)?.push((100 * gcMs) / ms);
    }
  }
  const label = `(${count} entries, ${valueBytes} B values, views into 1 MiB chunks)`;
  return INGESTERS.flatMap((i) => [
    summarize(`ingest: ${i.name} ${label}`, 'entries/s', rate.get(i.name) ?? []),
    summarize(`ingest: ${i.name} ${label}`, '% time in GC', gcShare.get(i.name) ?? []),
  ]);
}
