import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { listSealedSegments, Wal } from '@wal/fs';
import { Memtable, replay } from '@wal/memtable';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Follower, ObjectStoreArchive, ReplicatedWal } from '../src/index.js';
import { connectCluster, streamRanges, tempDir, uniqueName } from './helpers.js';

type Op =
  | { type: 'put'; key: string; value: string }
  | { type: 'delete'; key: string }
  | {
      type: 'batch';
      ops: ({ type: 'put'; key: string; value: string } | { type: 'delete'; key: string })[];
    };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const single = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key, value: fc.string({ maxLength: 8 }) }),
  fc.record({ type: fc.constant('delete' as const), key }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  single,
  fc.record({
    type: fc.constant('batch' as const),
    ops: fc.array(single, { minLength: 1, maxLength: 4 }),
  }),
);

function apply(wal: ReplicatedWal, o: Op): Promise<number> {
  if (o.type === 'put') return wal.put(o.key, o.value);
  if (o.type === 'delete') return wal.delete(o.key);
  return wal.batch(o.ops);
}

function contents(table: Memtable): [string, string | undefined][] {
  return [...table.entries()].map(([k, v]) => [
    Buffer.from(k).toString(),
    v === undefined ? undefined : Buffer.from(v).toString(),
  ]);
}

describe('ReplicatedWal', () => {
  test('every acknowledged record is in the stream once, in order, one message per record, and a follower rebuilds the same table as a local replay', async () => {
    const nc = await connectCluster();
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        async (ops, concurrent) => {
          const dir = tempDir();
          const stream = uniqueName('rep');
          const wal = await ReplicatedWal.open({ dir, nats: nc, stream, replicas: 3 });
          const firsts = concurrent
            ? await Promise.all(ops.map((o) => apply(wal, o)))
            : await ops.reduce<Promise<number[]>>(
                async (acc, o) => [...(await acc), await apply(wal, o)],
                Promise.resolve([]),
              );
          // Resolved with ack 'replicated': the stream has every one already.
          expect(wal.replicatedSequence).toBe(wal.nextSequence);
          const ranges = await streamRanges(nc, stream);
          const sizes = ops.map((o) => (o.type === 'batch' ? o.ops.length : 1));
          expect(ranges).toEqual(firsts.map((first, i) => [first, first + (sizes[i] as number)]));
          await wal.close();

          const local = new Memtable();
          await replay(dir, local);
          const table = new Memtable();
          const follower = await Follower.start({ nats: nc, stream, table });
          await follower.waitFor(wal.nextSequence - 1);
          await follower.stop();
          expect(contents(table)).toEqual(contents(local));
          expect(table.lastSequence).toBe(local.lastSequence);
        },
      ),
      { numRuns: 6 },
    );
  });

  test('reopening publishes the records the stream lacks (a crash left them unpublished), nothing twice', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('reopen');
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    for (let i = 0; i < 50; i++) await wal.put(`k${i}`, 'v');
    await wal.close();
    // Records the stream never got: appended by a writer that died before publishing them.
    const plain = await Wal.open({ dir, maxRecordBytes: 64 * 1024 });
    await plain.batch([
      { type: 'put', key: 'b', value: '1' },
      { type: 'delete', key: 'k0' },
    ]);
    for (let i = 0; i < 150; i++) await plain.put(`p${i}`, 'v');
    await plain.rotate();
    await plain.put('after-rotate', 'v');
    await plain.close();

    const again = await ReplicatedWal.open({ dir, nats: nc, stream, ack: 'local' });
    const last = await again.put('last', 'v');
    await again.waitReplicated(last);
    expect(again.replicatedSequence).toBe(last + 1);
    await again.close();
    const ranges = await streamRanges(nc, stream);
    expect(ranges).toEqual([
      ...Array.from({ length: 50 }, (_, i): [number, number] => [i, i + 1]),
      [50, 52],
      ...Array.from({ length: 152 }, (_, i): [number, number] => [52 + i, 53 + i]),
    ]);
  });

  test("sync 'none': a record is published only once a sync() made it durable", async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('none');
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream, sync: 'none', ack: 'local' });
    await wal.put('k', 'v');
    await wal.put('k2', 'v');
    // Time enough for a publish; nothing goes out while the records could still be lost.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(wal.replicatedSequence).toBe(0);
    expect(await streamRanges(nc, stream)).toEqual([]);
    await wal.sync();
    await wal.waitReplicated(1);
    expect(await streamRanges(nc, stream)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    await wal.close();
  });

  test('truncateThrough never deletes a segment the stream does not have yet', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const stream = uniqueName('trunc');
    // Sealed segments the stream has never seen.
    const plain = await Wal.open({ dir, maxSegmentBytes: 16 * 1024, maxRecordBytes: 64 * 1024 });
    for (let i = 0; i < 300; i++) await plain.put(`k${i}`, Buffer.alloc(100, i));
    await plain.close();
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream, maxSegmentBytes: 16 * 1024 });
    // Nothing is replicated yet: the catch-up still needs every segment.
    expect(await wal.truncateThrough(1_000)).toBe(0);
    await wal.waitReplicated(299);
    expect(await wal.truncateThrough(1_000)).toBeGreaterThan(0);
    await wal.close();
    expect(await streamRanges(nc, stream)).toEqual(
      Array.from({ length: 300 }, (_, i) => [i, i + 1]),
    );
  });

  test('the archive option ships each sealed segment to the Object Store', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const target = await ObjectStoreArchive.open({ nats: nc, bucket: uniqueName('arch') });
    const wal = await ReplicatedWal.open({
      dir,
      nats: nc,
      stream: uniqueName('arch'),
      maxSegmentBytes: 16 * 1024,
      archive: { target },
    });
    for (let i = 0; i < 300; i++) await wal.put(`k${i}`, Buffer.alloc(100, i));
    await wal.rotate();
    await wal.archiver?.idle();
    const sealed = await listSealedSegments(dir);
    expect(sealed.length).toBeGreaterThanOrEqual(3);
    expect(await target.list()).toEqual(sealed.map(({ file: _, ...info }) => info));
    await wal.close();
  });

  test('bad options are refused with WAL_INVALID_OPTIONS before any I/O', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const cases: [string, object][] = [
      ['stream', { stream: 'has.dot' }],
      ['ack', { ack: 'quorum' }],
      ['maxInFlight', { maxInFlight: 0 }],
      ['publishTimeoutMs', { publishTimeoutMs: -1 }],
      ['subject', { subject: 'wal.*' }],
      ['maxRecordBytes', { maxRecordBytes: 2 * 1024 * 1024 }],
      ['sync', { sync: 'none' }],
      // Wal.open's and archiveLog's own checks run before any request to NATS too.
      ['maxSegmentBytes', { maxSegmentBytes: -1 }],
      ['archive', { archive: { target: {} } }],
      ['replicas', { replicas: 0 }],
      ['replicas', { replicas: 1.5 }],
      ['duplicateWindowMs', { duplicateWindowMs: -5 }],
    ];
    const tried: string[] = [];
    for (const [name, bad] of cases) {
      const stream = uniqueName('opt');
      tried.push(stream);
      await expect(
        ReplicatedWal.open({ dir: `${dir}/${name}`, nats: nc, stream, ...bad }),
      ).rejects.toMatchObject({
        code: 'WAL_INVALID_OPTIONS',
        message: expect.stringContaining(name === 'archive' ? 'target' : name),
      });
      // Nothing on disk either: not the directory, not a lock, not a segment.
      expect(existsSync(`${dir}/${name}`), name).toBe(false);
    }
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names.filter((n) => tried.includes(n))).toEqual([]);
  });

  test('an open refused for its options publishes nothing of the log in the directory', async () => {
    const nc = await connectCluster();
    const dir = tempDir();
    const plain = await Wal.open({ dir });
    for (let i = 0; i < 3; i++) await plain.put(`k${i}`, 'v');
    await plain.close();
    const stream = uniqueName('refused');
    await expect(
      ReplicatedWal.open({ dir, nats: nc, stream, archive: { target: {} as never } }),
    ).rejects.toMatchObject({ code: 'WAL_INVALID_OPTIONS' });
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.info(stream)).rejects.toThrow();
    // The refused open let go of everything: the log opens again.
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    await wal.waitReplicated(2);
    await wal.close();
    expect(await streamRanges(nc, stream)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  test('close() settles a put still waiting for the stream (WAL_CLOSED), and a later waitReplicated rejects the same way', async () => {
    const nc = await connectCluster();
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('closing');
    const wal = await ReplicatedWal.open({
      dir: tempDir(),
      nats: nc,
      stream,
      publishTimeoutMs: 500,
    });
    await wal.put('a', '1');
    // The stream takes no more messages: the next put waits for it.
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, max_msgs: 1, discard: DiscardPolicy.New });
    const put = wal.put('b', '2');
    put.catch(() => undefined);
    await wal.close({ signal: AbortSignal.timeout(200) });
    await expect(put).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    await expect(wal.waitReplicated(1)).rejects.toMatchObject({ code: 'WAL_CLOSED' });
    await expect(wal.waitReplicated(0)).resolves.toBeUndefined();
    expect(wal.replicationError).toBeUndefined();
  });

  test('batch reads each op once: the stream gets what the log got', async () => {
    const nc = await connectCluster();
    const stream = uniqueName('once');
    const dir = tempDir();
    const wal = await ReplicatedWal.open({ dir, nats: nc, stream });
    let reads = 0;
    const op = {
      type: 'put' as const,
      key: 'k',
      get value() {
        reads++;
        return `read-${reads}`;
      },
    };
    await wal.batch([op]);
    await wal.close();
    expect(reads).toBe(1);
    const local = new Memtable();
    await replay(dir, local);
    const table = new Memtable();
    const follower = await Follower.start({ nats: nc, stream, table });
    await follower.waitFor(0);
    await follower.stop();
    expect(contents(table)).toEqual([['k', 'read-1']]);
    expect(contents(local)).toEqual([['k', 'read-1']]);
  });

  test.each([
    ['WAL_TRUNCATED', 'retention deleted records the stream lacks'],
    ['WAL_CORRUPTION', 'a record the stream lacks is damaged'],
  ])(
    'a catch-up that cannot read the log stops replication with %s (%s): replicationError, and appends reject with it',
    async (code) => {
      const nc = await connectCluster();
      const dir = tempDir();
      const stream = uniqueName('catchup');
      const first = await ReplicatedWal.open({ dir, nats: nc, stream });
      await first.put('k', 'v');
      await first.close();
      // Records the stream never got, in sealed segments.
      const plain = await Wal.open({ dir, maxSegmentBytes: 16 * 1024, maxRecordBytes: 64 * 1024 });
      for (let i = 0; i < 300; i++) await plain.put(`k${i}`, Buffer.alloc(100, i));
      await plain.rotate();
      if (code === 'WAL_TRUNCATED') await plain.truncateThrough(200);
      await plain.close();
      if (code === 'WAL_CORRUPTION') {
        const [segment] = await listSealedSegments(dir);
        const file = (segment as { file: string }).file;
        const bytes = readFileSync(file);
        const at = Math.floor(bytes.length / 2);
        bytes[at] = (bytes[at] as number) ^ 0xff;
        writeFileSync(file, bytes);
      }

      const wal = await ReplicatedWal.open({ dir, nats: nc, stream, maxSegmentBytes: 16 * 1024 });
      await expect(wal.put('after', 'v')).rejects.toMatchObject({ code });
      expect(wal.replicationError?.code).toBe(code);
      await wal.close();
      // What it could read before the failure went out, in order; nothing after it.
      const ranges = await streamRanges(nc, stream);
      expect(ranges).toEqual(ranges.map((_, i) => [i, i + 1]));
      expect(ranges.length).toBeLessThan(code === 'WAL_TRUNCATED' ? 2 : 301);
    },
  );
});
