import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LOOP_UNITS, watchLoop } from './loop-delay.js';

/** One line of the results: a figure with its spread over rounds. */
export interface CaseResult {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** What one slice of a {@link SliceCase} did: ops completed, and any figures of its own by unit. */
export interface SliceOutcome {
  ops: number;
  extra?: Record<string, number>;
}

/** A throughput case measured in short slices, interleaved with the others. */
export interface SliceCase {
  name: string;
  /** Unit of the rate row. Default `ops/s`. */
  unit?: string;
  /** Also report the event-loop delay (p50, p99, max) during this case's slices. */
  watchLoop?: boolean;
  setup(): Promise<void>;
  /** Runs for about `ms` and returns how many entries it made durable (or wrote). */
  run(ms: number): Promise<number | SliceOutcome>;
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
 * all fsync-bound figures are taken under the same disk conditions. The
 * event loop is watched during every slice, so every case runs beside the
 * same monitor; only `watchLoop` cases report it.
 */
export async function interleave(
  cases: SliceCase[],
  rounds: number,
  sliceMs: number,
  progress: (line: string) => void,
): Promise<CaseResult[]> {
  const samples = new Map<SliceCase, Map<string, number[]>>(cases.map((c) => [c, new Map()]));
  const record = (c: SliceCase, unit: string, value: number) => {
    const byUnit = samples.get(c) as Map<string, number[]>;
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), value]);
  };
  for (const c of cases) await c.setup();
  try {
    for (let r = 0; r < rounds; r++) {
      progress(`round ${r + 1}/${rounds}`);
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + r) % cases.length] as SliceCase;
        const stopWatch = await watchLoop();
        const start = performance.now();
        const outcome = await c.run(sliceMs);
        const seconds = (performance.now() - start) / 1000;
        const loop = await stopWatch();
        const { ops, extra } = typeof outcome === 'number' ? { ops: outcome, extra: {} } : outcome;
        record(c, c.unit ?? 'ops/s', ops / seconds);
        for (const [unit, value] of Object.entries(extra ?? {})) record(c, unit, value);
        if (c.watchLoop) {
          for (const key of ['p50', 'p99', 'max'] as const) record(c, LOOP_UNITS[key], loop[key]);
        }
      }
    }
  } finally {
    for (const c of cases) await c.teardown();
  }
  return cases.flatMap((c) =>
    [...(samples.get(c) ?? [])].map(([unit, values]) => summarize(c.name, unit, values)),
  );
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
