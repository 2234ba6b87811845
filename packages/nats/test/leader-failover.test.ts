import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import {
  cluster,
  connectCluster,
  replicaState,
  streamRanges,
  tempDir,
  uniqueName,
  until,
} from './helpers.js';

describe('the stream leader SIGKILLed mid-publish', () => {
  test('publishing goes on under a new leader, every acknowledged record is kept once, a follower goes on, and the restarted node catches up', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const stream = uniqueName('leader');
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream,
      publishTimeoutMs: 2_000,
    });
    const table = new Memtable();
    const follower = await Follower.start({ nats: nc, stream, table });
    const acked: number[] = [];
    let stop = false;
    const lanes = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; !stop; i++) acked.push(await wal.put(`k${lane}-${i}`, 'v'));
    });
    await until(() => acked.length >= 200, '200 replicated puts');
    const leader = await nats.streamLeader(stream);
    await nats.kill(leader);
    const atKill = acked.length;
    await until(() => acked.length >= atKill + 200, '200 more puts under a new leader', 90_000);
    stop = true;
    await Promise.all(lanes);
    const newLeader = await nats.streamLeader(stream);
    expect(newLeader).not.toBe(leader);
    expect(wal.replicationStats.resyncs).toBeGreaterThan(0);
    await wal.close();
    // The follower's consumer lived on a server too; it goes on from where it was.
    await follower.waitFor(wal.nextSequence - 1, AbortSignal.timeout(180_000));
    await follower.stop();
    expect(table.size).toBe(wal.nextSequence);

    const ranges = await streamRanges(nc, stream);
    expect(ranges).toEqual(Array.from({ length: wal.nextSequence }, (_, i) => [i, i + 1]));
    expect(new Set(acked).size).toBe(acked.length);
    expect(Math.max(...acked)).toBe(wal.nextSequence - 1);

    await nats.restart(leader);
    const node = nats.node(leader);
    await until(
      async () => (await replicaState(node, stream))?.last_seq === ranges.length,
      `${leader}'s replica to reach message ${ranges.length}`,
    );
    expect((await replicaState(node, stream))?.messages).toBe(ranges.length);
    await nats.waitHealthy();
  }, 300_000);
});
