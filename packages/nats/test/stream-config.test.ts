import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { ReplicatedWal } from '../src/index.js';
import { connectCluster, streamMessages, tempDir, uniqueName } from './helpers.js';

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
