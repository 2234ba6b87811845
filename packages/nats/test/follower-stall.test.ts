import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { isStreamNotFound } from '../src/stream.js';
import { cluster, connectCluster, tempDir, uniqueName, until } from './helpers.js';

// The server an ordered consumer (R1) lives on, from the stream's one consumer.
async function consumerHost(nc: NatsConnection, stream: string): Promise<string> {
  const consumers = await (await jetstreamManager(nc)).consumers.list(stream).next();
  expect(consumers).toHaveLength(1);
  const host = consumers[0]?.cluster?.leader;
  if (!host) throw new Error(`expected the consumer of ${stream} to have a leader, found none`);
  return host;
}

describe('Follower, its consumer silent', () => {
  test('the server holding its consumer SIGKILLed as its connection reconnects: it makes a new consumer and applies the rest in order, once', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    // The follower's own connection, so that only it reconnects.
    const followerNc = await connectCluster();
    const stream = uniqueName('silent');
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream,
      publishTimeoutMs: 2_000,
    });
    for (let i = 0; i < 50; i++) await wal.put(`k${i}`, `v${i}`);
    const table = new Memtable();
    const follower = await Follower.start({ nats: followerNc, stream, table });
    await follower.waitFor(49);

    const host = await consumerHost(nc, stream);
    await nats.kill(host);
    try {
      // nats.js 3.3 stops its heartbeat monitor on the disconnect and, on the
      // reconnect, asks for the dead consumer's info until its server is back:
      // no message, no heartbeat, no status. The server stays down meanwhile.
      await followerNc.reconnect();
      for (let i = 50; i < 100; i++) await wal.put(`k${i}`, `v${i}`);
      await follower.waitFor(99, AbortSignal.timeout(60_000));
      await follower.stop();
      await wal.close();
    } finally {
      await nats.restart(host);
      await nats.waitHealthy();
    }

    expect(follower.error).toBeUndefined();
    // Any gap or duplicate would have stopped it with WAL_TRUNCATED.
    expect(follower.applied).toBe(100);
    expect(table.size).toBe(100);
    for (let i = 0; i < 100; i++) {
      expect(Buffer.from(table.get(`k${i}`) ?? new Uint8Array()).toString()).toBe(`v${i}`);
    }
  }, 180_000);

  test('the stream deleted while its consumer is silent: it still stops with WAL_REMOTE_ERROR (from the client status, or from stream info in the progress check)', async () => {
    const nats = cluster();
    const nc = await connectCluster();
    const followerNc = await connectCluster();
    const stream = uniqueName('silent-gone');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    for (let i = 0; i < 10; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.close();
    const table = new Memtable();
    const follower = await Follower.start({ nats: followerNc, stream, table });
    await follower.waitFor(9);

    const host = await consumerHost(nc, stream);
    await nats.kill(host);
    try {
      await followerNc.reconnect();
      // The meta leader may have been the killed server: retried until one answers. A
      // request that timed out may still have deleted it: then the stream is not found.
      await until(
        () =>
          jetstreamManager(nc, { checkAPI: false })
            .then((jsm) => jsm.streams.delete(stream))
            .then(
              () => true,
              (error) => isStreamNotFound(error),
            ),
        `stream ${stream} deleted`,
      );
      // A waiter fails with the follower's error; a follower still following times out instead.
      await expect(follower.waitFor(10, AbortSignal.timeout(60_000))).rejects.toMatchObject({
        code: 'WAL_REMOTE_ERROR',
        message: expect.stringContaining('deleted'),
      });
      await expect(follower.closed).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
    } finally {
      await nats.restart(host);
      await nats.waitHealthy();
    }
    expect(table.lastSequence).toBe(9);
  }, 180_000);
});
