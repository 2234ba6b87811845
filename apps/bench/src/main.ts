import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { memtableIngest } from './cases/memtable-ingest.js';
import { memtableMemory } from './cases/memtable-memory.js';
import { memtableCompare } from './cases/ordered-maps.js';
import { randomBytes, removeDir, tempDir } from './harness.js';
import { ensurePeers } from './peers.js';
import {
  barChart,
  crcTables,
  inOwnTable,
  loopTable,
  machineFacts,
  type Row,
  table,
  targetTable,
} from './report.js';
import { codecSuite, readLogs, readSuite, type Settings, writeSuite } from './suites.js';
import { checkTargets, targets as targetList } from './targets.js';

const HELP = `pnpm bench [--quick] [--md] [--only groups]

  --quick  shorter slices, 3 rounds, smaller logs (64 MiB and 128 MiB): about a minute
  --md     also write BENCHMARKS.md and docs/benchmarks-durable.svg from this run
  --only   a comma-separated subset of: write, codec, read, memtable (default: all);
           targets whose rows were not measured read n/a
  --help   this text

Prints the results and the targets, and writes apps/bench/results/latest.json.
Run it on a quiet machine: the full run takes about 4-5 minutes there (twice that under load).`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    md: { type: 'boolean', default: false },
    only: { type: 'string', default: 'write,codec,read,memtable' },
    help: { type: 'boolean', default: false },
  },
});
const GROUPS = ['write', 'codec', 'read', 'memtable'];
const only = new Set(values.only.split(',').map((g) => g.trim()));
for (const group of only) {
  if (!GROUPS.includes(group)) {
    process.stderr.write(
      `bench: expected --only groups from ${GROUPS.join(', ')}, found ${group}\n`,
    );
    process.exit(2);
  }
}
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const quick = values.quick;
const rounds = quick ? 3 : 5;
const sliceMs = quick ? 120 : 400;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const started = performance.now();
const log = (line: string) =>
  process.stderr.write(`bench: [${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
const settings: Settings = { quick, rounds, sliceMs, log };
// Other work on the machine skews every figure: say so in the results.
const loadAtStart = os.loadavg()[0] ?? 0;
if (loadAtStart > 1) log(`load average ${loadAtStart.toFixed(1)}: this machine is not quiet`);

if (only.has('write')) ensurePeers(log);
warmUp(quick ? 64 : 256);

const rows: Row[] = [
  ...(only.has('write') ? await writeSuite(settings) : []),
  ...(only.has('codec') ? await codecSuite(settings) : []),
  ...(only.has('read') ? await readSuite(settings) : []),
];

const memtableKeys = quick ? 200_000 : 1_000_000;
if (only.has('memtable')) await memtableSuite();
async function memtableSuite(): Promise<void> {
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
  rows.push(...memtableMemory(memtableKeys));
}

const targets = checkTargets(rows, targetList(memtableKeys, readLogs(quick).labels));
const sections = [
  table(rows.filter((r) => !inOwnTable(r))),
  '',
  'Event-loop delay during the durable puts (how late a 1 ms timer fired):',
  '',
  loopTable(rows),
  '',
  'CRC-32:',
  '',
  crcTables(rows),
  '',
  targetTable(targets),
];
process.stdout.write(`${sections.join('\n')}\n`);
const load = { start: loadAtStart, end: os.loadavg()[0] ?? 0 };
log(
  `done in ${((performance.now() - started) / 60_000).toFixed(1)} min, load average ${load.start.toFixed(1)} at start, ${load.end.toFixed(1)} at end`,
);

const resultsDir = path.join(root, 'apps/bench/results');
fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(
  path.join(resultsDir, 'latest.json'),
  `${JSON.stringify({ quick, date: new Date().toISOString(), machine: machineFacts(os.tmpdir()), load, cases: rows, targets }, null, 2)}\n`,
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
      `- load average (1 min) at start and end of the run: ${load.start.toFixed(1)}, ${load.end.toFixed(1)}`,
      '',
      '## Targets',
      '',
      targetTable(targets),
      '',
      '## Durable writes',
      '',
      '![durable writes](docs/benchmarks-durable.svg)',
      '',
      '## Event-loop delay',
      '',
      'How late a 1 ms timer fired (`monitorEventLoopDelay`, less its resolution) during each slice of the durable puts; medians over slices.',
      '',
      loopTable(rows),
      '',
      '## CRC-32',
      '',
      'GB/s per input size, inputs back to back in a 1 MiB chunk; then the cost per frame of checking a chunk of 146-byte frames.',
      '',
      crcTables(rows),
      '',
      '## All cases',
      '',
      'Ratios are against the baseline named in the last column, measured in the same run.',
      '',
      table(rows.filter((r) => !inOwnTable(r))),
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
