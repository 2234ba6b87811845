import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Memtable, replay } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { Follower, ReplicatedWal } from '../src/index.js';
import { loadCheckpoint } from './checkpoint.js';
import { cluster, connectCluster, tempDir, uniqueName } from './helpers.js';
import { startFixture } from './processes.js';

async function writeLog(wal: ReplicatedWal, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    if (i % 7 === 3) await wal.delete(`key-${i % 40}`);
    else if (i % 11 === 5) {
      await wal.batch([
        { type: 'put', key: `key-${i % 40}`, value: `b${i}` },
        { type: 'delete', key: `key-${(i + 1) % 40}` },
      ]);
    } else await wal.put(`key-${i % 40}`, `v${i}`);
  }
}

describe('Follower', () => {
  test('SIGKILLed and restarted, it resumes after its checkpoint and ends with the table a local replay builds', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('follow');
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    await writeLog(wal, 0, 600);
    const checkpoint = path.join(tempDir(), 'checkpoint.json');
    const follower = startFixture('follower', { stream, servers: cluster().servers, checkpoint });
    const writing = writeLog(wal, 600, 400);
    await follower.waitFor(
      (line) => line.startsWith('checkpoint ') && Number(line.slice(11)) >= 300,
      'a checkpoint past 300',
    );
    await follower.kill();
    await writing;
    await wal.close();

    const table = loadCheckpoint(readFileSync, checkpoint) as Memtable;
    const resumedAfter = table.lastSequence as number;
    expect(resumedAfter).toBeGreaterThanOrEqual(300);
    const restarted = await Follower.start({ nats: nc, stream, table });
    await restarted.waitFor(wal.nextSequence - 1);
    await restarted.stop();
    // It read only what came after the checkpoint.
    expect(restarted.applied).toBe(wal.nextSequence - 1 - resumedAfter);
    const local = new Memtable();
    await replay(dir, local);
    expect([...table.entries()]).toEqual([...local.entries()]);
  });

  test('never starts later than it must: WAL_TRUNCATED when the stream no longer holds the next sequence, WAL_SEQUENCE_REWOUND when it ends before the checkpoint', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('retained');
    // The stream keeps only its last five records.
    await jsm.streams.add({
      name: stream,
      subjects: [`wal.${stream}`],
      num_replicas: 3,
      storage: StorageType.File,
      max_msgs: 5,
    });
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    for (let i = 0; i < 20; i++) await wal.put(`k${i}`, 'v');
    await wal.close();

    await expect(Follower.start({ nats: nc, stream, table: new Memtable() })).rejects.toMatchObject(
      {
        code: 'WAL_TRUNCATED',
        message: expect.stringMatching(/sequence 0 .*found its next record at 15/),
      },
    );
    await expect(
      Follower.start({ nats: nc, stream, table: new Memtable({ lastSequence: 2 }) }),
    ).rejects.toMatchObject({
      code: 'WAL_TRUNCATED',
      message: expect.stringContaining('sequence 3'),
    });
    await expect(
      Follower.start({ nats: nc, stream, table: new Memtable({ lastSequence: 100 }) }),
    ).rejects.toMatchObject({
      code: 'WAL_SEQUENCE_REWOUND',
      message: expect.stringContaining('ending at sequence 19'),
    });

    const table = new Memtable({ lastSequence: 16 });
    const follower = await Follower.start({ nats: nc, stream, table });
    await follower.waitFor(19);
    await follower.stop();
    expect(follower.applied).toBe(3);
    expect([...table.entries()].map(([k]) => Buffer.from(k).toString())).toEqual([
      'k17',
      'k18',
      'k19',
    ]);
  });

  test('a deleted stream stops it with WAL_REMOTE_ERROR, not silently', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('gone');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('a', '1');
    await wal.close();
    const follower = await Follower.start({ nats: nc, stream, table: new Memtable() });
    await follower.waitFor(0);
    await (await jetstreamManager(nc)).streams.delete(stream);
    await expect(follower.closed).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
  });

  test('a message no @wal writer published stops it with WAL_REMOTE_ERROR; the table keeps what came before', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('junk');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('a', '1');
    await wal.close();
    await jetstream(nc).publish(`wal.${stream}`, 'not a record');
    const table = new Memtable();
    const follower = await Follower.start({ nats: nc, stream, table });
    await expect(follower.closed).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
    await expect(follower.waitFor(5)).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
    expect(table.lastSequence).toBe(0);
    expect(Buffer.from(table.get('a') ?? []).toString()).toBe('1');
  });

  test("a table checkpointed from another log is fenced, not fed this log's later records", async () => {
    const nc = await connectCluster();
    const stream = uniqueName('otherlog');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    for (let i = 0; i < 4; i++) await wal.put(`k${i}`, 'v');
    await wal.close();
    const other = 'ffffffffffffffff';
    const table = new Memtable({ lastSequence: 1, logId: other });
    const follower = await Follower.start({ nats: nc, stream, table });
    await expect(follower.closed).rejects.toMatchObject({
      code: 'WAL_FENCED',
      message: expect.stringContaining(`not ${other}`),
    });
    expect(table.lastSequence).toBe(1);
    expect(table.has('k2')).toBe(false);
    // Its own log's checkpoint follows on.
    const own = new Memtable({ lastSequence: 1, logId: wal.logId });
    const again = await Follower.start({ nats: nc, stream, table: own });
    await again.waitFor(3);
    await again.stop();
    expect(own.has('k3')).toBe(true);
  });

  test('stop() rejects a pending waitFor with WAL_CLOSED, and every later one', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('stop');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('a', '1');
    await wal.close();
    const follower = await Follower.start({ nats: nc, stream, table: new Memtable() });
    await follower.waitFor(0);
    const pending = follower.waitFor(10);
    await follower.stop();
    await expect(pending).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    await expect(follower.waitFor(11)).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    await expect(follower.waitFor(0)).resolves.toBeUndefined();
    expect(follower.error).toBeUndefined();
  });

  test('bad options are refused with WAL_INVALID_OPTIONS before any I/O', async () => {
    const nc = await connectCluster();
    const cases: [string, object][] = [
      ['stream', { stream: 'has.dot' }],
      ['stream', { stream: 42 }],
      ['nats', { nats: {} }],
      ['logId', { logId: 'xyz' }],
      ['openTimeoutMs', { openTimeoutMs: Number.NaN }],
      ['openTimeoutMs', { openTimeoutMs: -1 }],
    ];
    for (const [name, bad] of cases) {
      await expect(
        Follower.start({ nats: nc, stream: uniqueName('fopt'), table: new Memtable(), ...bad }),
      ).rejects.toMatchObject({
        code: 'WAL_INVALID_OPTIONS',
        message: expect.stringContaining(name),
      });
    }
    await expect(Follower.start(null as never)).rejects.toMatchObject({
      code: 'WAL_INVALID_OPTIONS',
    });
  });
});
