import { cpSync } from 'node:fs';
import { Wal } from '@wal/fs';
import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

/**
 * Writer A puts k0..k2, a copy B of its directory is taken, then A puts
 * k3..k5 = 'a' (stream records 3..5). Returns both directories.
 */
async function streamAheadOfCopy(stream: string) {
  const nc = await connectCluster();
  const a = tempDir();
  const first = await ReplicatedWal.open({ dir: a, nats: nc, stream });
  for (let i = 0; i < 3; i++) await first.put(`k${i}`, 'a');
  await first.close();
  const b = tempDir();
  cpSync(a, b, { recursive: true });
  const again = await ReplicatedWal.open({ dir: a, nats: nc, stream });
  for (let i = 3; i < 6; i++) await again.put(`k${i}`, 'a');
  await again.close();
  expect(await streamRanges(nc, stream)).toEqual(Array.from({ length: 6 }, (_, i) => [i, i + 1]));
  return { nc, a, b, logId: first.logId };
}

/** The follower's view of the stream: k0..k5 = 'a', A's history, nothing of B's. */
async function expectStreamIsA(nc: Awaited<ReturnType<typeof connectCluster>>, stream: string) {
  expect(await streamRanges(nc, stream)).toEqual(Array.from({ length: 6 }, (_, i) => [i, i + 1]));
  const table = new Memtable();
  const follower = await Follower.start({ nats: nc, stream, table });
  await follower.waitFor(5);
  await follower.stop();
  for (let i = 0; i < 6; i++) expect(Buffer.from(table.get(`k${i}`) ?? []).toString()).toBe('a');
}

describe('a copy of the log that diverged from the stream, at least as long as its history', () => {
  for (const extra of [0, 2]) {
    test(`the same sequences, other values${extra ? `, and ${extra} records more` : ''}: open rejects with WAL_FENCED naming the sequence, sending nothing`, async () => {
      const stream = uniqueName('diverged');
      const { nc, b, logId } = await streamAheadOfCopy(stream);
      const wal = await Wal.open({ dir: b });
      for (let i = 3; i < 6 + extra; i++) await wal.put(`k${i}`, 'b');
      await wal.close();

      const opening = ReplicatedWal.open({ dir: b, nats: nc, stream });
      await expect(opening).rejects.toMatchObject({
        code: 'WAL_FENCED',
        message: expect.stringMatching(/^expected .*found .*sequence 5\b.*diverged/),
      });
      await expectStreamIsA(nc, stream);
      // The refused open released the log, unchanged.
      const check = await Wal.open({ dir: b });
      expect(check.logId).toBe(logId);
      expect(check.nextSequence).toBe(6 + extra);
      await check.close();
    });
  }

  test('the same entries in one batch (other record boundaries): open rejects with WAL_FENCED', async () => {
    const stream = uniqueName('diverged-batch');
    const { nc, b } = await streamAheadOfCopy(stream);
    const wal = await Wal.open({ dir: b });
    await wal.batch([3, 4, 5].map((i) => ({ type: 'put' as const, key: `k${i}`, value: 'a' })));
    await wal.close();
    await expect(ReplicatedWal.open({ dir: b, nats: nc, stream })).rejects.toMatchObject({
      code: 'WAL_FENCED',
      message: expect.stringContaining('sequence 5'),
    });
    await expectStreamIsA(nc, stream);
  });

  test('a copy that wrote the same records is not fenced: it goes on after the stream', async () => {
    const stream = uniqueName('agreed');
    const { nc, b } = await streamAheadOfCopy(stream);
    const wal = await Wal.open({ dir: b });
    for (let i = 3; i < 6; i++) await wal.put(`k${i}`, 'a');
    await wal.close();
    const writer = await ReplicatedWal.open({ dir: b, nats: nc, stream });
    try {
      expect(writer.replicatedSequence).toBe(6);
      expect(await writer.put('k6', 'b')).toBe(6);
      expect(writer.replicationStats).toEqual({ published: 1, duplicates: 0, resyncs: 0 });
    } finally {
      await writer.close();
    }
    expect(await streamRanges(nc, stream)).toEqual(Array.from({ length: 7 }, (_, i) => [i, i + 1]));
  });

  test('a copy whose record at the stream tip retention already deleted cannot be compared: it opens', async () => {
    const stream = uniqueName('diverged-gone');
    const { nc, b } = await streamAheadOfCopy(stream);
    const wal = await Wal.open({ dir: b });
    for (let i = 3; i < 6; i++) await wal.put(`k${i}`, 'b');
    await wal.rotate();
    // Every record through 5 gone from the local log: nothing to compare the stream's with.
    expect(await wal.truncateThrough(5)).toBeGreaterThan(0);
    await wal.close();
    const writer = await ReplicatedWal.open({ dir: b, nats: nc, stream });
    try {
      expect(writer.nextSequence).toBe(6);
      expect(writer.replicatedSequence).toBe(6);
    } finally {
      await writer.close();
    }
    await expectStreamIsA(nc, stream);
  });
});
