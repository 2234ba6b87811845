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
 * - hop: one durable writer whose writes go to libuv's thread pool (the
 *   default `nodeFs`) or are made with writeSync on the main thread (a WalFs
 *   whose `write` is synchronous; its fdatasync stays on the pool), beside
 *   the raw writeSync+fdatasyncSync and fs.write+fs.fdatasync loops.
 *
 * Prints one table per study: median ops/s, the spread, the ratio to the
 * study's first row, and the event-loop delay where it was watched.
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

/** nodeFs, but writes are made on the main thread: one syscall, no hop to the pool. */
const syncWrites: WalFs = {
  ...nodeFs,
  write: (fd, buffer, position) =>
    Promise.resolve(fs.writeSync(fd, buffer, 0, buffer.length, position)),
};

function renamed(c: SliceCase, suffix: string): SliceCase {
  return { ...c, name: `${c.name}, ${suffix}` };
}

const studies: [string, SliceCase[]][] = [];
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
  studies.push([
    'preallocation on and off',
    [
      fdatasyncAfterWrite('append'),
      fdatasyncAfterWrite('overwrite'),
      ...variants(1 << 20, 'preallocateBytes 1 MiB'),
      ...variants(0, 'preallocateBytes 0'),
    ],
  ]);
}
if (only.has('hop')) {
  const V = 100;
  studies.push([
    'one writer: the thread-pool hop',
    [
      rawFdatasync(V),
      watched(rawFdatasyncCallbacks(V)),
      renamed(watched(walWrites(V, { concurrency: 1, sync: 'always' })), 'writes on the pool'),
      renamed(
        watched(walWrites(V, { concurrency: 1, sync: 'always' }, { fs: syncWrites })),
        'writeSync on the main thread',
      ),
    ],
  ]);
}

for (const [title, cases] of studies) {
  log(`${title}: ${cases.length} cases, ${rounds} rounds of ${sliceMs} ms slices`);
  const rows = await interleave(cases, rounds, sliceMs, log);
  process.stdout.write(`\n${title} (${process.version})\n${render(rows)}\n`);
}

function render(rows: CaseResult[]): string {
  const rates = rows.filter((r) => r.unit === 'ops/s' || r.unit === 'syncs/s');
  const first = rates[0]?.median ?? 1;
  const p99 = (name: string) => rows.find((r) => r.name === name && r.unit === LOOP_UNITS.p99);
  const lines = rates.map((r) => {
    const loop = p99(r.name);
    const spread = `${Math.round(r.min)}-${Math.round(r.max)}`;
    const delay = loop ? `  p99 ${loop.median.toFixed(2)} ms` : '';
    return `${Math.round(r.median).toString().padStart(9)} ${r.unit.padEnd(7)} ${(r.median / first).toFixed(2).padStart(6)}x  [${spread}]${delay}  ${r.name}`;
  });
  const extras = rows
    .filter((r) => r.unit.startsWith('µs'))
    .map((r) => `${r.median.toFixed(0).padStart(9)} ${r.unit}  ${r.name}`);
  return [...lines, ...extras].join('\n');
}
