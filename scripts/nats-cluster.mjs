#!/usr/bin/env node
// Starts or stops the local nats-server cluster the NATS tests and
// `pnpm demo:replicate` use: `node scripts/nats-cluster.mjs start|stop <dir>`.
// The code is packages/nats/src/testing (@wal/nats/testing), run from source.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../packages/nats/src/testing/cli.ts', import.meta.url));
const { status } = spawnSync(
  process.execPath,
  ['--conditions=@wal/source', '--import', 'tsx', cli, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(status ?? 1);
