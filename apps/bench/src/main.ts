import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listSegments, nodeFs } from '@wal/fs';
import { codecThroughput } from './cases/codec.js';
import { memtableIngest } from './cases/memtable-ingest.js';
import { memtableMemory } from './cases/memtable-memory.js';
import { memtableCompare } from './cases/ordered-maps.js';
import { classicLevel, sqlite } from './cases/peers-durable.js';
import { naiveWal, rawFdatasync, sequentialRead, writevBandwidth } from './cases/physical.js';
import { readPath, writeLog } from './cases/read-path.js';
import { walWrites } from './cases/wal-writes.js';
import { interleave, randomBytes, removeDir, type SliceCase, tempDir } from './harness.js';
import { ensurePeers } from './peers.js';
import { barChart, machineFacts, type Row, table, targetTable } from './report.js';
import { checkTargets, targets as targetList } from './targets.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, md: { type: 'boolean', default: false } },
});
const quick = values.quick;
const rounds = quick ? 3 : 5;
const sliceMs = quick ? 120 : 400;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

ensurePeers(log);
warmUp(quick ? 64 : 256);

const rows: Row[] = [];
const add = (results: Row[], baseline?: string) => {
  for (const r of results) rows.push(baseline && r.name !== baseline ? { ...r, baseline } : r);
};

for (const size of [100, 1024]) {
  const raw = rawFdatasync(size);
  const durable: SliceCase[] = [
    raw,
    naiveWal(size, true),
    classicLevel(size, { concurrency: 1, sync: true }),
    classicLevel(size, { concurrency: 16, sync: true }),
    classicLevel(size, { concurrency: 256, sync: true }),
    classicLevel(size, { concurrency: 1, sync: true, batch: 100 }),
    sqlite(size, { synchronous: 'FULL', transaction: 1 }),
    sqlite(size, { synchronous: 'NORMAL', transaction: 1 }),
    sqlite(size, { synchronous: 'FULL', transaction: 100 }),
    walWrites(size, { concurrency: 1, sync: 'always' }),
    walWrites(size, { concurrency: 16, sync: 'always' }),
    walWrites(size, { concurrency: 256, sync: 'always' }),
    walWrites(size, { concurrency: 1, sync: 'always', batch: 100 }),
  ];
  log(`durable writes, ${size} B values (${durable.length} cases interleaved)`);
  add(await interleave(durable, rounds, sliceMs, log), raw.name);

  const naive = naiveWal(size, false);
  const buffered: SliceCase[] = [
    naive,
    classicLevel(size, { concurrency: 64, sync: false }),
    walWrites(size, { concurrency: 256, sync: 'interval' }),
    walWrites(size, { concurrency: 256, sync: 'none' }),
  ];
  log(`buffered writes, ${size} B values`);
  add(await interleave(buffered, rounds, sliceMs, log), naive.name);
}

log('bandwidth and codec');
add([await writevBandwidth(rounds, quick ? 64e6 : 256e6)]);
for (const size of [100, 1024]) add(await codecThroughput(size, quick ? 50_000 : 200_000, rounds));

const logMiB = quick ? 64 : 256;
for (const size of [100, 1024]) {
  const dir = tempDir('log');
  try {
    log(`read path: writing a ${logMiB} MiB log of ${size} B values`);
    await writeLog(dir, logMiB, size);
    const segment = listSegments(nodeFs, dir)[0];
    if (segment) add([await sequentialRead(rounds, segment.path)]);
    log('read path: scan, naive reader, replay (child processes)');
    const label = `${size === 100 ? '100 B' : '1 KiB'} values`;
    // Each round re-reads 256 MiB per reader in a child: three rounds keep the full run near 5 min.
    const results = readPath(dir, label, Math.min(rounds, 3));
    const naive = `naive reader: whole files into an array ${label}`;
    for (const r of results) {
      const sameUnit = results.find((x) => x.name === naive && x.unit === r.unit);
      rows.push(
        r.name !== naive && sameUnit && r.unit !== 'peak RSS MiB' ? { ...r, baseline: naive } : r,
      );
    }
  } finally {
    removeDir(dir);
  }
}

const memtableKeys = quick ? 200_000 : 1_000_000;
log(`memtable: ${memtableKeys} random 16-byte keys`);
const maps = memtableCompare(memtableKeys, quick ? 2 : 3);
for (const r of maps) {
  // Rows with Uint8Array keys are compared with sorted-btree given the same key handling.
  const op = r.name.match(/, (put|get|iterate) /)?.[1];
  const bytes = r.name.includes('Uint8Array keys');
  const base = maps.find(
    (m) =>
      m.name.startsWith(`ordered map: sorted-btree${bytes ? ' (Uint8Array keys' : ','}`) &&
      m.name.includes(`, ${op} `),
  );
  rows.push(base && base !== r ? { ...r, baseline: base.name } : r);
}
log('memtable: replay-style ingestion and memory per entry');
const ingest = await memtableIngest(memtableKeys, 100, quick ? 2 : 3);
for (const r of ingest) {
  const base = ingest.find((m) => m.name.includes('a copy per entry') && m.unit === r.unit);
  rows.push(base && base !== r && r.unit === 'entries/s' ? { ...r, baseline: base.name } : r);
}
add(memtableMemory(memtableKeys));

const targets = checkTargets(rows, targetList(memtableKeys));
const output = [table(rows), '', targetTable(targets)].join('\n');
process.stdout.write(`${output}\n`);

const resultsDir = path.join(root, 'apps/bench/results');
fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(
  path.join(resultsDir, 'latest.json'),
  `${JSON.stringify({ quick, date: new Date().toISOString(), machine: machineFacts(os.tmpdir()), cases: rows, targets }, null, 2)}\n`,
);

if (values.md) {
  const durableRows = rows.filter(
    (r) =>
      r.unit === 'ops/s' &&
      r.name.endsWith('(100 B)') &&
      !/none|interval|no fsync|sync:false|NORMAL/.test(r.name),
  );
  fs.writeFileSync(
    path.join(root, 'docs/benchmarks-durable.svg'),
    barChart('Durable writes, 100-byte values (ops/s, higher is better)', durableRows),
  );
  fs.writeFileSync(
    path.join(root, 'BENCHMARKS.md'),
    [
      '# Benchmarks',
      '',
      `Generated by \`pnpm bench${quick ? ' --quick' : ''} --md\` on ${new Date().toISOString().slice(0, 10)}. Figures are medians of ${rounds} rounds; fsync-bound cases ran interleaved in ${sliceMs} ms slices, so their ratios were taken under the same disk conditions. Read the ratios, not the absolute numbers: these machines are noisy.`,
      '',
      '## Machine',
      '',
      ...machineFacts(os.tmpdir()).map((f) => `- ${f}`),
      '',
      '## Targets',
      '',
      targetTable(targets),
      '',
      '## Durable writes',
      '',
      '![durable writes](docs/benchmarks-durable.svg)',
      '',
      '## All cases',
      '',
      'Ratios are against the baseline named in the last column, measured in the same run.',
      '',
      table(rows),
      '',
    ].join('\n'),
  );
  log('wrote BENCHMARKS.md and docs/benchmarks-durable.svg');
}

// These machines hand idle memory back to the host: the first large write
// after idle is several times slower. Pay that before measuring.
function warmUp(mib: number): void {
  log(`warm-up: writing ${mib} MiB`);
  const dir = tempDir('warmup');
  try {
    const fd = fs.openSync(path.join(dir, 'warm'), 'w');
    const chunk = randomBytes(1 << 20, 7);
    for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
  } finally {
    removeDir(dir);
  }
}
