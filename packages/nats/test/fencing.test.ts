import { cpSync } from 'node:fs';
import { jetstream } from '@nats-io/jetstream';
import { Wal } from '@wal/fs';
import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { connectCluster, streamMessages, streamRanges, tempDir, uniqueName } from './helpers.js';

describe('a second writer', () => {
  test('a copy of the log that diverges is fenced with WAL_FENCED at its first publish; the stream keeps one history', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('fence');
    const a = tempDir();
    const first = await ReplicatedWal.open({ dir: a, nats: nc, stream });
    for (let i = 0; i < 10; i++) await first.put(`k${i}`, 'a');
    await first.close();
    const b = tempDir();
    cpSync(a, b, { recursive: true });

    const writerA = await ReplicatedWal.open({ dir: a, nats: nc, stream });
    const writerB = await ReplicatedWal.open({ dir: b, nats: nc, stream });
    expect(writerB.logId).toBe(writerA.logId);
    expect(await writerA.put('x', 'from a')).toBe(10);
    // B's record 10 is durable in B's log, but the stream already holds A's record 10.
    await expect(writerB.put('x', 'from b')).rejects.toMatchObject({ code: 'WAL_FENCED' });
    expect(writerB.replicationError?.code).toBe('WAL_FENCED');
    await expect(writerB.put('y', 'again')).rejects.toMatchObject({ code: 'WAL_FENCED' });
    expect(await writerA.put('y', 'from a')).toBe(11);
    await writerB.close();
    await writerA.close();

    expect(await streamRanges(nc, stream)).toEqual(
      Array.from({ length: 12 }, (_, i) => [i, i + 1]),
    );
    const table = new Memtable();
    const follower = await Follower.start({ nats: nc, stream, table });
    await follower.waitFor(11);
    await follower.stop();
    expect(Buffer.from(table.get('x') ?? []).toString()).toBe('from a');
  });

  test('a copy that agrees with the stream is not fenced: its records are the same messages, deduplicated', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('agree');
    const a = tempDir();
    const writer = await ReplicatedWal.open({ dir: a, nats: nc, stream });
    await writer.put('k', 'v');
    await writer.close();
    const b = tempDir();
    cpSync(a, b, { recursive: true });
    const writerA = await ReplicatedWal.open({ dir: a, nats: nc, stream });
    const writerB = await ReplicatedWal.open({ dir: b, nats: nc, stream });
    await writerA.put('same', 'bytes');
    await writerB.put('same', 'bytes');
    expect(writerB.replicationStats.duplicates).toBe(1);
    await writerA.close();
    await writerB.close();
    expect(await streamRanges(nc, stream)).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  test('another log on the same stream is refused at open with WAL_FENCED', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('other');
    const writer = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await writer.put('k', 'v');
    await writer.close();
    const other = tempDir();
    await expect(ReplicatedWal.open({ dir: other, nats: nc, stream })).rejects.toMatchObject({
      code: 'WAL_FENCED',
      message: expect.stringContaining(`from log ${writer.logId}`),
    });
    // Nothing was published, and the refused writer's lock is released.
    expect(await streamRanges(nc, stream)).toEqual([[0, 1]]);
    await (await Wal.open(other)).close();
  });

  test('a log behind the stream (an old copy of the directory) is refused at open with WAL_FENCED', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('behind');
    const dir = tempDir();
    const writer = await ReplicatedWal.open({ dir, nats: nc, stream });
    await writer.put('k', 'v');
    const old = tempDir();
    cpSync(dir, old, { recursive: true });
    await writer.put('k2', 'v');
    await writer.close();
    await expect(ReplicatedWal.open({ dir: old, nats: nc, stream })).rejects.toMatchObject({
      code: 'WAL_FENCED',
      message: expect.stringContaining('through sequence 1'),
    });
  });

  test("a message no @wal writer published, after the writer's first record, fences it", async () => {
    const nc = await connectCluster();
    const stream = uniqueName('foreign');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('a', '1');
    await jetstream(nc).publish(`wal.${stream}`, 'not a record');
    await expect(wal.put('b', '2')).rejects.toMatchObject({
      code: 'WAL_FENCED',
      message: expect.stringContaining('which no @wal writer published'),
    });
    expect(wal.replicationError?.code).toBe('WAL_FENCED');
    await wal.close();
  });

  test("a message no @wal writer published, before the writer's first record, fences it: nothing is stored after it", async () => {
    const nc = await connectCluster();
    const stream = uniqueName('foreign0');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await jetstream(nc).publish(`wal.${stream}`, 'not a record');
    await expect(wal.put('a', '1')).rejects.toMatchObject({ code: 'WAL_FENCED' });
    await wal.close();
    expect((await streamMessages(nc, stream)).length).toBe(1);
  });
});
