import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { NatsCluster } from '../src/testing/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the cluster's `cluster.json`. */
    natsCluster: string;
  }
}

/** Attaches to WAL_NATS_CLUSTER, or starts a cluster of its own and stops it afterwards. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.WAL_NATS_CLUSTER;
  if (given) {
    project.provide('natsCluster', path.resolve(given));
    return async () => {};
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wal-nats-'));
  await NatsCluster.start({ dir });
  project.provide('natsCluster', dir);
  return async () => {
    // Re-read: tests that restarted a node wrote its new pid.
    await NatsCluster.attach(dir).stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
