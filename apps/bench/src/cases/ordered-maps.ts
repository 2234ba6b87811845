/**
 * The measurement behind @wal/memtable's data structure: its B+-tree against
 * the npm ordered maps sorted-btree (a B+-tree) and js-sdsl's OrderedMap (a
 * red-black tree), on put, get and a full in-order scan.
 *
 * Fairness:
 * - every structure gets the same keys in the same representation, latin1
 *   strings (one char per byte, the memtable's key form), made before timing;
 *   the two rows with Uint8Array keys get the same keys as Buffers, and the
 *   same 8-byte value Buffers;
 * - the npm maps get the comparator `a < b ? -1 : a > b ? 1 : 0`, the
 *   fastest correct one for such keys;
 * - each scan uses the structure's fastest full scan: sorted-btree's
 *   `entries()` iterator, js-sdsl's `forEach` (its iterator is 2x slower), our
 *   cursor;
 * - checksums prove every structure did the work;
 * - rounds alternate between structures; each figure is the best round;
 * - a full GC before each structure, so none pays for the one before it.
 * More rows show what surrounds our tree: the alternative of a `Map` beside
 * it for O(1) get, and the whole `Memtable` against sorted-btree given the
 * same Uint8Array key handling and value copies (see `ordered-map-contestants.ts`).
 *
 * `pnpm bench` reports the figures; `src/memtable-cli.ts` prints them alone.
 */
import { collectGarbage } from '../collect-garbage.js';
import { type CaseResult, summarize } from '../harness.js';
import { CONTESTANTS, type Timings } from './ordered-map-contestants.js';

export interface CompareOptions {
  /** Keys inserted. Default 1,000,000. */
  count?: number;
  /** Bytes per key, prefix included. Default 16. */
  keyBytes?: number;
  /** Bytes every key starts with (latin1), e.g. 'user:'. Default none: fully random keys. */
  prefix?: string;
  /** Rounds per structure; the best one counts. Default 3. */
  rounds?: number;
  /** Seed of the key generator. Default 1. */
  seed?: number;
}

/** One structure's figures: operations per second (for `iterate`, keys scanned per second). */
export interface StructureResult extends Timings {
  name: string;
}

export interface CompareResult {
  count: number;
  keyBytes: number;
  prefix: string;
  rounds: number;
  node: string;
  results: StructureResult[];
}

/** Runs every contestant on the same keys; returns the best round of each. */
export function compareOrderedMaps(options: CompareOptions = {}): CompareResult {
  const { count = 1_000_000, keyBytes = 16, prefix = '', rounds = 3, seed = 1 } = options;
  const keys = randomKeys(count, keyBytes, prefix, seed);
  const probes = shuffled(keys, seed + 1);
  // Value i is stored under key i, so reading every key sums 0..count-1.
  const sum = (count * (count - 1)) / 2;
  const results = CONTESTANTS.map((c) => ({ name: c.name, put: 0, get: 0, iterate: 0 }));
  for (let round = 0; round < rounds; round++) {
    CONTESTANTS.forEach((contestant, i) => {
      collectGarbage();
      const phases = contestant.prepare(keys, probes);
      const best = results[i] as StructureResult;
      const rate = (phase: keyof Timings, expected: number): number => {
        const start = performance.now();
        const checksum = phases[phase]();
        const seconds = (performance.now() - start) / 1000;
        if (checksum !== expected) {
          throw new Error(
            `${contestant.name} ${phase}: checksum ${checksum}, expected ${expected}`,
          );
        }
        return count / seconds;
      };
      best.put = Math.max(best.put, rate('put', count));
      best.get = Math.max(best.get, rate('get', sum));
      best.iterate = Math.max(best.iterate, rate('iterate', sum));
    });
  }
  return { count, keyBytes, prefix, rounds, node: process.version, results };
}

/**
 * Bench rows for `rounds` separate runs of every contestant (one round each),
 * so each row is a median like the rest of the bench.
 */
export function memtableCompare(count: number, rounds: number): CaseResult[] {
  const all = Array.from({ length: rounds }, () => compareOrderedMaps({ count, rounds: 1 }));
  const first = all[0] as CompareResult;
  return first.results.flatMap((s, i) =>
    (['put', 'get', 'iterate'] as const).map((op) =>
      summarize(
        `ordered map: ${s.name}, ${op} (${count} keys)`,
        'ops/s',
        all.map((r) => (r.results[i] as StructureResult)[op]),
      ),
    ),
  );
}

/** `count` distinct keys of `bytes` bytes starting with `prefix`, as flat latin1 strings. */
export function randomKeys(count: number, bytes: number, prefix: string, seed: number): string[] {
  const random = xorshift(seed);
  const buf = Buffer.alloc(bytes);
  const start = buf.write(prefix, 'latin1');
  if (bytes - start < 4) throw new RangeError('keys need at least 4 random bytes after the prefix');
  const keys = new Set<string>();
  while (keys.size < count) {
    for (let j = start; j < bytes; j++) buf[j] = random() & 0xff;
    keys.add(buf.toString('latin1'));
  }
  return [...keys];
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = xorshift(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (random() >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A small seeded generator (xorshift32), so every run measures the same keys. */
export function xorshift(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s;
  };
}
