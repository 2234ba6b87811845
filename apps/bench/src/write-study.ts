/**
 * The write path's design choices, measured beside each other in one run
 * (interleaved slices, so every figure sees the same disk):
 *
 *   node --conditions=@wal/source --import tsx apps/bench/src/write-study.ts \
 *     [--rounds 5] [--slice 400] [--only prealloc,hop]
 *
 * - prealloc: the writer with its default 1 MiB preallocation and without
 *   (`preallocateBytes: 0`), at 1, 16 and 256 durable writers, batch(100),
 *   and 'none' x256; the raw fdatasync after an append and after an overwrite.
 * - hop: the writer whose small writes are made on the main thread (the
 *   default `nodeFs`: writeSync, the fdatasync on the pool) or go to libuv's
 *   thread pool too (a WalFs whose `write` is `fs.write`), at 1, 16 and 256
 *   durable writers and 'none' x256, beside the raw writeSync+fdatasyncSync
 *   and fs.write+fs.fdatasync loops.
 *
 * Prints, per study, each case's median rate (and event-loop delay p99 where
 * watched), then the median of per-round ratios for the pairs compared: on a
 * busy machine a ratio taken within one round is far steadier than the ratio
 * of two medians.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { nodeFs, type WalFs } from '@wal/fs';
import { fdatasyncAfterWrite, rawFdatasync, rawFdatasyncCallbacks } from './cases/physical.js';
import { walWrites } from './cases/wal-writes.js';
import { type CaseResult, interleave, type SliceCase } from './harness.js';
import { LOOP_UNITS } from './loop-delay.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    slice: { type: 'string', default: '400' },
    only: { type: 'string', default: 'prealloc,hop' },
  },
});
const rounds = Number(values.rounds);
const sliceMs = Number(values.slice);
const only = new Set(values.only.split(','));
const log = (line: string) => process.stderr.write(`write-study: ${line}\n`);
const watched = (c: SliceCase): SliceCase => ({ ...c, watchLoop: true });

/** nodeFs, but every write goes to the thread pool too (fs.write), as before the hybrid. */
const poolWrites: WalFs = {
  ...nodeFs,
  write: (fd, buffer, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buffer, 0, buffer.length, position, (error, n) =>
        error ? reject(error) : resolve(n),
      ),
    ),
};

function renamed(c: SliceCase, suffix: string): SliceCase {
  return { ...c, name: `${c.name}, ${suffix}` };
}

/** A study: its cases, and pairs whose per-round ratio it reports (case over versus). */
interface Study {
  title: string;
  cases: SliceCase[];
  pairs: [SliceCase, SliceCase][];
}

const studies: Study[] = [];
if (only.has('prealloc')) {
  const V = 100;
  const variants = (preallocateBytes: number, label: string) => [
    ...[1, 16, 256].map((n) =>
      renamed(
        watched(walWrites(V, { concurrency: n, sync: 'always' }, { preallocateBytes })),
        label,
      ),
    ),
    renamed(
      walWrites(V, { concurrency: 1, sync: 'always', batch: 100 }, { preallocateBytes }),
      label,
    ),
    renamed(walWrites(V, { concurrency: 256, sync: 'none' }, { preallocateBytes }), label),
  ];
  const on = variants(1 << 20, 'preallocateBytes 1 MiB');
  const off = variants(0, 'preallocateBytes 0');
  const append = fdatasyncAfterWrite('append');
  const overwrite = fdatasyncAfterWrite('overwrite');
  studies.push({
    title: 'preallocation on and off',
    cases: [append, overwrite, ...on, ...off],
    pairs: [
      [overwrite, append],
      ...on.map((c, i): [SliceCase, SliceCase] => [c, off[i] as SliceCase]),
    ],
  });
}
if (only.has('hop')) {
  const V = 100;
  const raw = rawFdatasync(V);
  const callbacks = watched(rawFdatasyncCallbacks(V));
  const pool = (n: number, sync: 'always' | 'none') =>
    renamed(
      watched(walWrites(V, { concurrency: n, sync }, { fs: poolWrites })),
      'writes on the pool',
    );
  const main = (n: number, sync: 'always' | 'none') =>
    renamed(
      watched(walWrites(V, { concurrency: n, sync })),
      'small writes on the main thread (default)',
    );
  const pairs: [SliceCase, SliceCase][] = [];
  const cases: SliceCase[] = [raw, callbacks];
  for (const [n, sync] of [
    [1, 'always'],
    [16, 'always'],
    [256, 'always'],
    [256, 'none'],
  ] as const) {
    const [p, m] = [pool(n, sync), main(n, sync)];
    cases.push(p, m);
    pairs.push([m, p]);
    if (n === 1) pairs.push([p, raw], [p, callbacks], [m, raw], [m, callbacks]);
  }
  pairs.push([callbacks, raw]);
  studies.push({ title: 'the thread-pool hop for writes', cases, pairs });
}

// Each round runs every case once, in an order rotated per round, so a pair's
// two figures come from the same minute of the disk; the ratios are per round.
for (const study of studies) {
  log(`${study.title}: ${study.cases.length} cases, ${rounds} rounds of ${sliceMs} ms slices`);
  const perRound: Map<string, number>[] = [];
  const all: CaseResult[][] = [];
  for (let r = 0; r < rounds; r++) {
    const k = r % study.cases.length;
    const order = [...study.cases.slice(k), ...study.cases.slice(0, k)];
    const rows = await interleave(order, 1, sliceMs, () => undefined);
    all.push(rows);
    perRound.push(
      new Map(
        rows
          .filter((x) => x.unit !== 'µs per fdatasync (median)')
          .map((x) => [`${x.name}|${x.unit}`, x.median]),
      ),
    );
    log(`round ${r + 1}/${rounds}`);
  }
  process.stdout.write(`\n${study.title} (${process.version}, ${rounds} rounds)\n`);
  for (const c of study.cases) {
    const unit = c.unit ?? 'ops/s';
    const rates = perRound.map((m) => m.get(`${c.name}|${unit}`) ?? 0);
    const p99 = perRound
      .map((m) => m.get(`${c.name}|${LOOP_UNITS.p99}`))
      .filter((v) => v !== undefined);
    const extra = all.flatMap((rows) =>
      rows.filter((x) => x.name === c.name && x.unit.startsWith('µs')).map((x) => x.median),
    );
    process.stdout.write(
      `${Math.round(median(rates)).toString().padStart(9)} ${unit.padEnd(7)}${p99.length ? `  p99 ${median(p99 as number[]).toFixed(2)} ms` : ''}${extra.length ? `  ${median(extra).toFixed(0)} µs/sync` : ''}  ${c.name}\n`,
    );
  }
  for (const [a, b] of study.pairs) {
    const ratios = perRound.map(
      (m) =>
        (m.get(`${a.name}|${a.unit ?? 'ops/s'}`) ?? 0) /
        (m.get(`${b.name}|${b.unit ?? 'ops/s'}`) ?? 1),
    );
    const sorted = [...ratios].sort((x, y) => x - y);
    process.stdout.write(
      `  ${median(ratios).toFixed(2)}x (per-round ratios ${sorted[0]?.toFixed(2)}-${sorted.at(-1)?.toFixed(2)})  ${a.name}  /  ${b.name}\n`,
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
