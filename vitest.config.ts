import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// Test files that start child processes, run the reliability loops, fill
// hundreds of MiB or build a tree of many keys. `pnpm test` runs them with the
// rest; `pnpm test:fast` (the `fast` project) leaves them out, for the edit loop.
const SLOW = [
  'apps/reliability/test/**/*.test.ts',
  'packages/fs/test/{io-error-loop,lock,lock-churn,lock-guarantees,open-repair-crash}.test.ts',
  'packages/recovery/test/{concurrent,memory}.test.ts',
  'packages/memtable/test/many-keys.test.ts',
  'packages/cli/test/{process,dump-memory,paths}.test.ts',
  'apps/demo/test/**/*.test.ts',
  'apps/docs-check/test/**/*.test.ts',
];

// Tests against a real nats-server cluster: `pnpm test:nats` runs them (the
// `nats` project, packages/nats/vitest.config.ts); `pnpm test` never does.
const NATS = ['packages/nats/test/**/*.test.ts'];

// Workspace packages are imported from source through the `@wal/source`
// export condition, so `pnpm test` needs no build.
export default defineConfig({
  ssr: {
    resolve: {
      conditions: ['@wal/source', 'module', 'node', 'development|production'],
    },
  },
  test: {
    testTimeout: 30_000,
    // Vitest's default, one worker fewer than the cores, runs the files one
    // at a time on two cores. The files are independent: one per core.
    maxWorkers: availableParallelism(),
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: [
            'packages/*/test/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'scripts/test/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, ...SLOW, ...NATS],
        },
      },
      // A slow file runs for seconds on a quiet machine; the long timeout
      // is for a loaded one (a timeout is never a finding here).
      { extends: true, test: { name: 'slow', include: SLOW, testTimeout: 180_000 } },
    ],
  },
});
