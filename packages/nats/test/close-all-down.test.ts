import { ErrorCode, WalError } from '@wal/codec';
import { scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { cluster, connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

const text = new TextDecoder();

describe('close() while every cluster node is down', () => {
  test('settles, the local log holds every acknowledged record, and a reopened writer goes on after them', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('close-down');
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream, publishTimeoutMs: 1_000 });
    const acked: number[] = [];
    for (let i = 0; i < 20; i++) acked.push(await wal.put(`k${i}`, `v${i}`));
    const names = nats.nodes.map((n) => n.name);
    let inFlight: PromiseSettledResult<number>[] = [];
    let closed: unknown;
    let end: number;
    try {
      for (const name of names) await nats.kill(name);
      // Appended locally, waiting for a stream no server can store.
      const pending = [20, 21, 22].map((i) => wal.put(`k${i}`, `v${i}`));
      await wal.sync();
      end = wal.nextSequence;
      // The API's own bound on the wait; a hang would show as the test's timeout.
      closed = await wal.close({ signal: AbortSignal.timeout(5_000) }).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      inFlight = await Promise.allSettled(pending);
    } finally {
      // The next files share the cluster: bring every node back whatever failed.
      // Together: a lone node reports no /healthz until it has a JetStream quorum.
      await Promise.all(names.map((name) => nats.restart(name)));
      await nats.waitHealthy();
    }
    if (closed !== 'resolved') {
      expect(WalError.isInstance(closed)).toBe(true);
      expect(Object.values(ErrorCode)).toContain((closed as WalError).code);
    }
    expect(wal.state).toBe('closed');
    // No put in flight was reported replicated: each was refused as closed.
    for (const outcome of inFlight) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') {
        expect(WalError.isInstance(outcome.reason, ErrorCode.CLOSED)).toBe(true);
      }
    }
    expect(end).toBe(23);

    // The local log holds every record, the acknowledged ones included.
    const local: [number, string, string][] = [];
    for await (const e of scanLog(dir)) {
      local.push([e.sequence, text.decode(e.key), e.type === 'put' ? text.decode(e.value) : '']);
    }
    expect(local).toEqual(Array.from({ length: 23 }, (_, i) => [i, `k${i}`, `v${i}`]));
    expect(acked).toEqual(Array.from({ length: 20 }, (_, i) => i));

    // Reopened once the cluster is back: it sends what the stream lacks and goes on at 23.
    const reopened = await ReplicatedWal.open({ dir, nats: nc, stream, publishTimeoutMs: 2_000 });
    try {
      expect(reopened.nextSequence).toBe(23);
      const next = [await reopened.put('k23', 'v23'), await reopened.put('k24', 'v24')];
      expect(next).toEqual([23, 24]);
    } finally {
      await reopened.close();
    }
    expect(await streamRanges(nc, stream)).toEqual(
      Array.from({ length: 25 }, (_, i) => [i, i + 1]),
    );
  }, 180_000);
});
