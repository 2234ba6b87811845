import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { connectCluster, streamMessages, streamRanges, tempDir, uniqueName } from './helpers.js';

describe('an existing stream', () => {
  test.each([
    ['does not capture the subject', (s: string) => [`other.${s}`]],
    ['captures other subjects too', (s: string) => [`wal.${s}`, `other.${s}`]],
    ['captures the subject through a wildcard', (s: string) => [`wal.${s}.>`, `wal.${s}`]],
  ])(
    'that %s is refused at open with WAL_INVALID_OPTIONS, before anything is published',
    async (_, subjects) => {
      const nc = await connectCluster();
      const jsm = await jetstreamManager(nc);
      const stream = uniqueName('subj');
      await jsm.streams.add({
        name: stream,
        subjects: subjects(stream),
        num_replicas: 3,
        storage: StorageType.File,
      });
      await expect(ReplicatedWal.open({ dir: tempDir(), nats: nc, stream })).rejects.toMatchObject({
        code: 'WAL_INVALID_OPTIONS',
        message: expect.stringContaining(`wal.${stream}`),
      });
      expect((await jsm.streams.info(stream)).state.messages).toBe(0);
    },
  );

  test('a message on a subject added to the stream later does not stop the writer', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('added');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    await wal.put('a', '1');
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, subjects: [`wal.${stream}`, `other.${stream}`] });
    await jetstream(nc).publish(`other.${stream}`, 'x');
    expect(await wal.put('b', '2')).toBe(1);
    expect(wal.replicationError).toBeUndefined();
    await wal.close();
    const ours = (await streamMessages(nc, stream)).filter((m) => m.subject === `wal.${stream}`);
    expect(ours.map((m) => [m.header.get('Wal-Sequence'), m.header.get('Wal-Next')])).toEqual([
      ['0', '1'],
      ['1', '2'],
    ]);
  });
});

/** `promise`'s rejection, or an Error once `ms` pass first (a hang fails the test, not its timeout). */
async function rejectionWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`expected a settlement within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, late]);
    return new Error('expected a rejection, found a resolution');
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

/** The messages along an error's cause chain, joined. */
function causeMessages(error: unknown): string {
  const messages: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) messages.push(e.message);
  return messages.join(' <- ');
}

describe("a stream's subjects changed after open", () => {
  test("so that they no longer capture the writer's subject: replication fails with WAL_INVALID_OPTIONS, a waiting put and waitReplicated reject", async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('moved');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    expect(await wal.put('a', '1')).toBe(0);
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, subjects: [`other.${stream}`] });

    const error = await rejectionWithin(wal.put('b', '2'), 15_000);
    expect(error).toMatchObject({
      code: 'WAL_INVALID_OPTIONS',
      message: expect.stringContaining(
        `expected stream ${stream} to capture the subject wal.${stream}, found ["other.${stream}"]`,
      ),
    });
    // Its cause: the publish the server answered with no responders.
    expect(causeMessages((error as Error).cause)).toContain('no responders');
    expect(wal.replicationError).toBe(error);
    await expect(wal.waitReplicated(1)).rejects.toBe(error);
    await expect(wal.put('c', '3')).rejects.toBe(error);
    expect(wal.replicatedSequence).toBe(1);
    await wal.close();
    expect(await streamRanges(nc, stream)).toEqual([[0, 1]]);
  });

  test("so that another stream captures the writer's subject: its acknowledgement is no replication, WAL_INVALID_OPTIONS", async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('taken');
    const other = uniqueName('taker');
    const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream });
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, subjects: [`other.${stream}`] });
    // Empty like the writer's stream: the first publish, expecting last sequence 0, is stored there.
    await jsm.streams.add({
      name: other,
      subjects: [`wal.${stream}`],
      num_replicas: 3,
      storage: StorageType.File,
    });

    const error = await rejectionWithin(wal.put('a', '1'), 15_000);
    expect(error).toMatchObject({
      code: 'WAL_INVALID_OPTIONS',
      message: expect.stringContaining(
        `expected stream ${stream} to capture the subject wal.${stream}, found record 0 stored in stream ${other}`,
      ),
    });
    expect(wal.replicationError).toBe(error);
    expect(wal.replicatedSequence).toBe(0);
    await wal.close();
    expect((await jsm.streams.info(stream)).state.messages).toBe(0);
    await jsm.streams.delete(other);
  });

  test.each([
    ['*', (s: string) => `*.${s}.log`, (s: string) => `other.${s}.log`],
    ['>', (s: string) => `w.${s}.>`, (s: string) => `w.${s}.other`],
  ])(
    "to a wildcard (%s) that still captures the writer's subject: the writer goes on, through a resync",
    async (_, pattern, otherSubject) => {
      const nc = await connectCluster();
      const jsm = await jetstreamManager(nc);
      const stream = uniqueName('wild');
      const subject = `w.${stream}.log`;
      const wal = await ReplicatedWal.open({ dir: tempDir(), nats: nc, stream, subject });
      expect(await wal.put('a', '1')).toBe(0);
      const { config } = await jsm.streams.info(stream);
      await jsm.streams.update(stream, { ...config, subjects: [pattern(stream)] });
      // Another subject's message between: the next publish's expectation fails, and the writer resyncs.
      await jetstream(nc).publish(otherSubject(stream), 'x');
      expect(await wal.put('b', '2')).toBe(1);
      expect(wal.replicationError).toBeUndefined();
      expect(wal.replicationStats.resyncs).toBe(1);
      await wal.close();
    },
  );
});
