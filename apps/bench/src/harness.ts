import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** One line of the results: a figure with its spread over rounds. */
export interface CaseResult {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** A throughput case measured in short slices, interleaved with the others. */
export interface SliceCase {
  name: string;
  /** Entries (ops) per op call: 100 for a batch of 100. */
  setup(): Promise<void>;
  /** Runs for about `ms` and returns how many entries it made durable (or wrote). */
  run(ms: number): Promise<number>;
  teardown(): Promise<void>;
}

export function summarize(name: string, unit: string, samples: number[]): CaseResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { name, unit, median, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0, runs: samples.length };
}

/**
 * Runs every case for `sliceMs`, round after round, rotating the order, so
 * all fsync-bound figures are taken under the same disk conditions.
 */
export async function interleave(
  cases: SliceCase[],
  rounds: number,
  sliceMs: number,
  progress: (line: string) => void,
): Promise<CaseResult[]> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) await c.setup();
  try {
    for (let r = 0; r < rounds; r++) {
      progress(`round ${r + 1}/${rounds}`);
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + r) % cases.length] as SliceCase;
        const start = performance.now();
        const ops = await c.run(sliceMs);
        const seconds = (performance.now() - start) / 1000;
        samples.get(c.name)?.push(ops / seconds);
      }
    }
  } finally {
    for (const c of cases) await c.teardown();
  }
  return cases.map((c) => summarize(c.name, 'ops/s', samples.get(c.name) ?? []));
}

/** `n` concurrent loops calling `op` until the deadline; returns entries done. */
export async function concurrently(
  n: number,
  ms: number,
  entriesPerOp: number,
  op: () => Promise<unknown>,
): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      await op();
      done += entriesPerOp;
    }
  };
  await Promise.all(Array.from({ length: n }, loop));
  return done;
}

/** Runs `fn` `rounds` times and summarises `measure(result, seconds)`. */
export async function repeat(
  name: string,
  unit: string,
  rounds: number,
  fn: () => Promise<number> | number,
): Promise<CaseResult> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(await fn());
  return summarize(name, unit, samples);
}

/** A fresh directory under the OS temp dir, removed by `cleanupTemp`. */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `wal-bench-${label}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic pseudo-random bytes (xorshift), so every run writes the same data. */
export function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const KEY_PREFIX = Buffer.from('key-\0\0\0\0\0\0\0\0', 'latin1');

/**
 * 16-byte keys: a fixed prefix and the counter, like an app's ids. A fresh
 * buffer per key (peers may hold on to it), made without a string write, so
 * the key maker is not what the figures measure.
 */
export function keyFor(i: number): Buffer {
  const key = Buffer.allocUnsafe(16);
  KEY_PREFIX.copy(key, 0);
  key.writeUInt32BE(i >>> 0, 12);
  return key;
}

/** How a write case drives its store: puts at a concurrency, or batches of `batch` puts. */
export interface WriteMode {
  concurrency: number;
  batch?: number;
}

/** `put x16` or `batch(100)`, for case names. */
export function describeWrites(mode: WriteMode): string {
  return mode.batch ? `batch(${mode.batch})` : `put x${mode.concurrency}`;
}

/**
 * Drives a store for about `ms` with fresh 16-byte keys and `value`, through
 * `put` or `batch` as `mode` says; returns entries written.
 */
export function driveWrites(
  mode: WriteMode,
  ms: number,
  value: Uint8Array,
  store: {
    put(key: Uint8Array, value: Uint8Array): Promise<unknown>;
    batch(ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[]): Promise<unknown>;
  },
): Promise<number> {
  const size = mode.batch;
  if (size) {
    return concurrently(mode.concurrency, ms, size, () =>
      store.batch(
        Array.from({ length: size }, () => ({
          type: 'put' as const,
          key: keyFor(nextKey++),
          value,
        })),
      ),
    );
  }
  return concurrently(mode.concurrency, ms, 1, () => store.put(keyFor(nextKey++), value));
}

let nextKey = 0;
