import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

describe('a stream that lost records', () => {
  test('a stream ReplicatedWal creates refuses a purge', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('nopurge');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('k', 'v');
    await wal.close();
    expect((await jsm.streams.info(stream)).config).toMatchObject({
      deny_purge: true,
      deny_delete: true,
    });
    await expect(jsm.streams.purge(stream)).rejects.toThrow();
    expect(await streamRanges(nc, stream)).toEqual([[0, 1]]);
  });

  test('reopening on a purged stream is refused with WAL_REMOTE_ERROR: the resends would be acknowledged as duplicates of messages it no longer holds', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('purged');
    // A stream its owner made without deny_purge.
    await jsm.streams.add({
      name: stream,
      subjects: [`wal.${stream}`],
      num_replicas: 3,
      storage: StorageType.File,
    });
    const dir = tempDir();
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    for (let i = 0; i < 5; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.close();
    await jsm.streams.purge(stream);

    await expect(ReplicatedWal.open({ dir, nats: nc, stream })).rejects.toMatchObject({
      code: 'WAL_REMOTE_ERROR',
      message: expect.stringContaining('the stream lost acknowledged records'),
    });
    expect(await streamRanges(nc, stream)).toEqual([]);
  });

  test('a fresh log may start on an emptied stream', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('emptied');
    await jsm.streams.add({
      name: stream,
      subjects: [`wal.${stream}`],
      num_replicas: 3,
      storage: StorageType.File,
    });
    const old = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await old.put('k', 'v');
    await old.close();
    await jsm.streams.purge(stream);
    const fresh = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    expect(await fresh.put('k', 'new')).toBe(0);
    await fresh.close();
    expect(await streamRanges(nc, stream)).toEqual([[0, 1]]);
  });
});
