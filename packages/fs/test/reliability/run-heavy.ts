// `pnpm test:crash`: the reliability loops at the size you ask for.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const FILES: Record<string, string[]> = {
  sim: ['sim-fs'],
  crash: ['crash-loop', 'exhaustive', 'regressions', 'guarantees'],
  faults: ['fault-loop', 'recovery-faults'],
  kills: ['kill-loop'],
  model: ['model', 'races', 'bad-input'],
};

const HELP = `Usage: pnpm test:crash [options]

Runs the reliability loops at the size you ask for.

  pnpm test:crash                          # heavy defaults, every loop
  pnpm test:crash --states 1000000         # more crash states
  pnpm test:crash --kills 2000 --only kills
  pnpm test:crash --seed 42 --only crash   # replay a reported seed

Options (each also read from the environment variable shown):
  --states N        crash states (WAL_CRASH_STATES, default here 100000)
  --kills N         SIGKILLs (WAL_KILLS, default here 200)
  --faults N        fault-loop workloads (WAL_FAULT_WORKLOADS, default here 30)
  --model-runs N    fast-check runs per model property (WAL_MODEL_RUNS, default here 1000)
  --seed N          first seed (WAL_SEED)
  --only LIST       comma-separated: ${Object.keys(FILES).join(', ')}
  -h, --help        this help`;

/** A usage error: one line, exit 2. */
function usage(message: string): never {
  console.error(`test:crash: ${message} (see pnpm test:crash --help)`);
  process.exit(2);
}

const COUNTS = ['states', 'kills', 'faults', 'model-runs', 'seed'] as const;

function parse() {
  try {
    return parseArgs({
      options: {
        states: { type: 'string', default: process.env.WAL_CRASH_STATES ?? '100000' },
        kills: { type: 'string', default: process.env.WAL_KILLS ?? '200' },
        faults: { type: 'string', default: process.env.WAL_FAULT_WORKLOADS ?? '30' },
        'model-runs': { type: 'string', default: process.env.WAL_MODEL_RUNS ?? '1000' },
        seed: { type: 'string', default: process.env.WAL_SEED ?? '1' },
        only: { type: 'string', default: Object.keys(FILES).join(',') },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    // parseArgs's errors (unknown option, missing value, stray argument) are
    // usage errors; their first sentence says which.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      usage((error as Error).message.split(/\.\s/)[0] as string);
    }
    throw error;
  }
}

const values = parse();
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
for (const name of COUNTS) {
  const raw = values[name];
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    usage(`expected --${name} to be a whole number, found '${raw}'`);
  }
}

const groups = values.only.split(',');
const unknown = groups.filter((g) => !FILES[g]);
if (unknown.length > 0) {
  usage(
    `expected --only groups from ${Object.keys(FILES).join(', ')}, found ${unknown.join(', ')}`,
  );
}
const dir = fileURLToPath(new URL('.', import.meta.url));
const files = groups.flatMap((g) => (FILES[g] as string[]).map((f) => `${dir}${f}`));
const vitest = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);
const result = spawnSync(process.execPath, [vitest, 'run', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    WAL_CRASH_STATES: values.states,
    WAL_KILLS: values.kills,
    WAL_FAULT_WORKLOADS: values.faults,
    WAL_MODEL_RUNS: values['model-runs'],
    WAL_SEED: values.seed,
  },
});
process.exit(result.status ?? 1);
