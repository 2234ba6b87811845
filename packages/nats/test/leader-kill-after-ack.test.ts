import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { cluster, connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

describe('the stream leader SIGKILLed right after a replicated put resolved', () => {
  test('the stream holds that record exactly once, in order, and the writer goes on publishing', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const stream = uniqueName('leader-kill');
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream,
      publishTimeoutMs: 2_000,
    });
    for (let i = 0; i < 10; i++) await wal.put(`before-${i}`, 'v');
    const acked = await wal.put('the-one', 'v');
    const leader = await nats.streamLeader(stream);
    await nats.kill(leader);
    const after: number[] = [];
    try {
      for (let i = 0; i < 10; i++) after.push(await wal.put(`after-${i}`, 'v'));
      await wal.close();
    } finally {
      // The next files share the cluster: bring the node back whatever failed.
      await nats.restart(leader);
      await nats.waitHealthy();
    }
    expect(acked).toBe(10);
    expect(after).toEqual(Array.from({ length: 10 }, (_, i) => 11 + i));
    expect(await streamRanges(nc, stream)).toEqual(
      Array.from({ length: 21 }, (_, i) => [i, i + 1]),
    );
  }, 120_000);
});
