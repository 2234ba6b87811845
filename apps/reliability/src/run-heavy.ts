/**
 * `pnpm test:crash`: the reliability loops at the size you ask for. Runs
 * vitest over this package's tests with the counts in the environment
 * variables the tests read (test/support/settings.ts).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Test files (under test/) of each group.
const GROUPS: Record<string, string[]> = {
  sim: ['sim-fs'],
  crash: [
    'crash-always',
    'crash-interval',
    'crash-none',
    'exhaustive',
    'regressions',
    'guarantees',
  ],
  faults: ['fault-loop', 'recovery-faults'],
  kills: ['kill-loop', 'writer-churn'],
  model: ['model', 'races', 'bad-input'],
  damage: ['damage-repair', 'byte-flip'],
};

const HELP = `Usage: pnpm test:crash [options]

Runs the reliability loops of @wal/reliability at heavy sizes (pnpm test runs
them at small ones). Every failure message names the seed that replays it.

Options (each also read from the environment variable shown):
  --states N       crash states of sync 'always'; 'interval' and 'none' get a
                   fifth each (WAL_CRASH_STATES, default 200000)
  --kills N        SIGKILLs, split over the three sync modes (WAL_KILLS, default 200)
  --faults N       fault-loop workloads of sync 'always'; the other modes get two
                   thirds (WAL_FAULT_WORKLOADS, default 30)
  --model-runs N   fast-check runs per model property and mode (WAL_MODEL_RUNS, default 1000)
  --damage-runs N  damage-and-repair workloads (WAL_DAMAGE_RUNS, default 3000)
  --flip-logs N    logs whose every byte is flipped, per mode (WAL_FLIP_LOGS, default 4)
  --flip-segment-bytes N
                   segment size of those logs (WAL_FLIP_SEGMENT_BYTES, default 1024)
  --seed N         first seed of the seeded loops (WAL_SEED, default 1)
  --only LIST      comma-separated groups: ${Object.keys(GROUPS).join(', ')}
  -h, --help       show this help

Examples:
  pnpm test:crash --states 1000000 --only crash
  pnpm test:crash --kills 2000 --only kills
  pnpm test:crash --seed 42 --only crash          # replay a reported seed
  WAL_MODEL_SEED=123456 pnpm test:crash --only model`;

// Option, environment variable, heavy default.
const COUNTS = [
  ['states', 'WAL_CRASH_STATES', '200000'],
  ['kills', 'WAL_KILLS', '200'],
  ['faults', 'WAL_FAULT_WORKLOADS', '30'],
  ['model-runs', 'WAL_MODEL_RUNS', '1000'],
  ['damage-runs', 'WAL_DAMAGE_RUNS', '3000'],
  ['flip-logs', 'WAL_FLIP_LOGS', '4'],
  ['flip-segment-bytes', 'WAL_FLIP_SEGMENT_BYTES', '1024'],
  ['seed', 'WAL_SEED', '1'],
] as const;

function usage(message: string): never {
  console.error(`test:crash: ${message} (see --help)`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      ...Object.fromEntries(COUNTS.map(([name]) => [name, { type: 'string' as const }])),
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  usage((error as Error).message);
}

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const env: Record<string, string> = {};
for (const [name, variable, fallback] of COUNTS) {
  const raw = (values[name] as string | undefined) ?? process.env[variable] ?? fallback;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    usage(`expected --${name} to be a non-negative integer, found ${JSON.stringify(raw)}`);
  }
  env[variable] = raw;
}

const groups = ((values.only as string | undefined) ?? Object.keys(GROUPS).join(',')).split(',');
const unknown = groups.filter((g) => !GROUPS[g]);
if (unknown.length > 0) {
  usage(
    `expected --only groups among ${Object.keys(GROUPS).join(', ')}, found ${unknown.join(', ')}`,
  );
}

// The workspace root holds the vitest config (source conditions, includes).
const root = fileURLToPath(new URL('../../../', import.meta.url));
const tests = fileURLToPath(new URL('../test/', import.meta.url));
const files = groups.flatMap((g) =>
  (GROUPS[g] as string[]).map((f) => path.join(tests, `${f}.test.ts`)),
);
const vitest = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const result = spawnSync(process.execPath, [vitest, 'run', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...env },
});
process.exit(result.status ?? 1);
