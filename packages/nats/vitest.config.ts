import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The `nats` project: `pnpm test:nats`. Its tests need nats-server; the global
// setup starts a three-node cluster on loopback ports (or attaches to the one
// WAL_NATS_CLUSTER names, as .ci/run does) and stops it by pid. The files run
// one at a time: they share the cluster, and some kill and restart its nodes.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  ssr: {
    resolve: {
      conditions: ['@wal/source', 'module', 'node', 'development|production'],
    },
  },
  test: {
    name: 'nats',
    include: ['packages/nats/test/**/*.test.ts'],
    globalSetup: ['packages/nats/test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
