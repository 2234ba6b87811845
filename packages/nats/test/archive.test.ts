import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { listSealedSegments, Wal } from '@wal/fs';
import { restoreLog, scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { ObjectStoreArchive } from '../src/index.js';
import { cluster, connectCluster, tempDir, uniqueName } from './helpers.js';
import { startFixture } from './processes.js';

// Compared by hash: a deep equality over MiBs of bytes takes vitest minutes.
function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function infoOf(segment: number, data: Uint8Array, firstSequence = 0, lastSequence = 9) {
  const checksum = sha256(data);
  return { segment, firstSequence, lastSequence, bytes: data.length, checksum };
}

/** A log with `segments` sealed segments of records about `size` bytes each. */
async function sealedLog(
  dir: string,
  segments: number,
  maxSegmentBytes: number,
  valueBytes: number,
) {
  const wal = await Wal.open({ dir, maxSegmentBytes });
  let i = 0;
  while (wal.segment < segments)
    await wal.put(`key-${i % 13}`, Buffer.alloc(valueBytes, i++ % 251));
  await wal.close();
  return listSealedSegments(dir);
}

async function entriesOf(dir: string, toSequence: number): Promise<string[]> {
  const out: string[] = [];
  for await (const e of scanLog(dir, { toSequence })) {
    out.push(`${e.sequence} ${e.type} ${Buffer.from(e.key).toString()} ${e.value?.length ?? '-'}`);
  }
  return out;
}

describe('ObjectStoreArchive', () => {
  test('put, get and list; the same segment again is success, other bytes are WAL_ARCHIVE_CONFLICT', async () => {
    const nats = await connectCluster();
    const archive = await ObjectStoreArchive.open({ nats, bucket: uniqueName('arc') });
    const one = new Uint8Array(300_000).map((_, i) => i % 256);
    const two = Buffer.from('second segment');
    await archive.put(infoOf(1, one, 0, 9), one);
    await archive.put(infoOf(2, two, 10, 19), two);
    await archive.put(infoOf(1, one, 0, 9), one);
    expect(await archive.list()).toEqual([infoOf(1, one, 0, 9), infoOf(2, two, 10, 19)]);
    expect(sha256((await archive.get(1)) ?? new Uint8Array())).toBe(sha256(one));
    expect(await archive.get(3)).toBeUndefined();
    const other = Buffer.from('other bytes');
    await expect(archive.put(infoOf(2, other, 10, 19), other)).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_CONFLICT',
      message: expect.stringContaining(infoOf(2, two).checksum),
    });
    expect(Buffer.from((await archive.get(2)) ?? []).toString()).toBe('second segment');
    await expect(archive.put({ ...infoOf(4, two), bytes: 3 }, two)).rejects.toMatchObject({
      code: 'WAL_INVALID_ARGUMENT',
    });
    await expect(archive.put({ ...infoOf(4, two), checksum: '' }, two)).rejects.toMatchObject({
      code: 'WAL_INVALID_ARGUMENT',
    });
    expect((await archive.list()).map((s) => s.segment)).toEqual([1, 2]);
  });

  test('bad options are refused with WAL_INVALID_OPTIONS before any request: no bucket is made', async () => {
    const nats = await connectCluster();
    const cases: [string, Record<string, unknown>][] = [
      ['bucket', { bucket: 'has.dot' }],
      ['replicas', { replicas: 0 }],
      ['replicas', { replicas: 1.5 }],
      ['replicas', { replicas: 6 }],
      ['replicas', { replicas: '3' }],
      ['nats', { nats: {} }],
    ];
    const tried: string[] = [];
    for (const [name, bad] of cases) {
      const bucket = uniqueName('badopt');
      tried.push(`OBJ_${bucket}`);
      await expect(
        ObjectStoreArchive.open({ nats, bucket, ...bad } as never),
      ).rejects.toMatchObject({
        code: 'WAL_INVALID_OPTIONS',
        message: expect.stringContaining(name),
      });
    }
    await expect(ObjectStoreArchive.open(null as never)).rejects.toMatchObject({
      code: 'WAL_INVALID_OPTIONS',
    });
    const jsm = await jetstreamManager(nats);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names.filter((n) => tried.includes(n))).toEqual([]);
  });

  test("get refuses an object without an @wal segment's metadata, as list does", async () => {
    const nats = await connectCluster();
    const bucket = uniqueName('foreign');
    const archive = await ObjectStoreArchive.open({ nats, bucket, replicas: 1 });
    const store = await new Objm(nats).open(bucket);
    await store.putBlob({ name: 'wal_00000003.log' }, Buffer.from('not a segment'));
    await expect(archive.list()).rejects.toMatchObject({ code: 'WAL_REMOTE_ERROR' });
    await expect(archive.get(3)).rejects.toMatchObject({
      code: 'WAL_REMOTE_ERROR',
      message: expect.stringContaining('metadata'),
    });
  });

  test('two archivers racing to put the same segment with different bytes: one wins, the other gets WAL_ARCHIVE_CONFLICT', async () => {
    const nats = await connectCluster();
    const bucket = uniqueName('race');
    const a = await ObjectStoreArchive.open({ nats, bucket });
    const b = await ObjectStoreArchive.open({ nats: await connectCluster(), bucket });
    const x = Buffer.alloc(200_000, 1);
    const y = Buffer.alloc(200_000, 2);
    const results = await Promise.allSettled([a.put(infoOf(5, x), x), b.put(infoOf(5, y), y)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'WAL_ARCHIVE_CONFLICT' });
    const winner = results[0]?.status === 'fulfilled' ? x : y;
    expect(sha256((await a.get(5)) ?? new Uint8Array())).toBe(sha256(winner));
  });

  test('restoreLog from the Object Store is byte for byte the sealed segments, and reads back the same entries', async () => {
    const nats = await connectCluster();
    const archive = await ObjectStoreArchive.open({ nats, bucket: uniqueName('restore') });
    const source = tempDir();
    const sealed = await sealedLog(source, 6, 64 * 1024, 900);
    for (const { file, ...info } of sealed) await archive.put(info, readFileSync(file));
    const restored = await restoreLog({ target: archive, dir: path.join(tempDir(), 'restored') });
    expect(restored.segments.map((s) => s.segment)).toEqual(sealed.map((s) => s.segment));
    for (const { file } of sealed) {
      expect(sha256(readFileSync(path.join(restored.dir, path.basename(file))))).toBe(
        sha256(readFileSync(file)),
      );
    }
    const last = sealed.at(-1)?.lastSequence as number;
    expect(restored.nextSequence).toBe(last + 1);
    expect(await entriesOf(restored.dir, last)).toEqual(await entriesOf(source, last));
  });

  test('restoreLog with a segment missing from the bucket fails with WAL_ARCHIVE_GAP and writes nothing', async () => {
    const nats = await connectCluster();
    const bucket = uniqueName('gap');
    const archive = await ObjectStoreArchive.open({ nats, bucket });
    const source = tempDir();
    const sealed = await sealedLog(source, 4, 32 * 1024, 500);
    for (const { file, ...info } of sealed) await archive.put(info, readFileSync(file));
    const os = await new Objm(nats).open(bucket);
    await os.delete(path.basename((sealed[2] as { file: string }).file));
    const dir = path.join(tempDir(), 'r');
    await expect(restoreLog({ target: archive, dir })).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_GAP',
    });
    expect(existsSync(dir)).toBe(false);
  });

  test('a deleted object is absent: the next put of its segment archives it again, and the log restores whole', async () => {
    const nats = await connectCluster();
    const bucket = uniqueName('redo');
    const archive = await ObjectStoreArchive.open({ nats, bucket });
    const source = tempDir();
    const sealed = await sealedLog(source, 4, 32 * 1024, 500);
    for (const { file, ...info } of sealed) await archive.put(info, readFileSync(file));
    const { file, ...deleted } = sealed[2] as (typeof sealed)[number];
    const os = await new Objm(nats).open(bucket);
    await os.delete(path.basename(file));
    expect(await archive.get(deleted.segment)).toBeUndefined();
    expect((await archive.list()).map((s) => s.segment)).not.toContain(deleted.segment);

    await archive.put(deleted, readFileSync(file));
    expect(await archive.list()).toEqual(sealed.map(({ file: _, ...info }) => info));
    expect(sha256((await archive.get(deleted.segment)) ?? new Uint8Array())).toBe(
      sha256(readFileSync(file)),
    );
    // Archived again, it is a segment like the others: another checksum conflicts.
    await expect(
      archive.put({ ...deleted, checksum: 'f'.repeat(64) }, readFileSync(file)),
    ).rejects.toMatchObject({ code: 'WAL_ARCHIVE_CONFLICT' });
    const restored = await restoreLog({ target: archive, dir: path.join(tempDir(), 'r') });
    expect(restored.nextSequence).toBe((sealed.at(-1)?.lastSequence as number) + 1);
  });

  test("@wal/recovery's archiver on this target, SIGKILLed mid-put, resumes: every sealed segment archived once, no gap, bytes equal", async () => {
    const nats = await connectCluster();
    const bucket = uniqueName('resume');
    const dir = tempDir();
    // Segments of ~2 MiB: a put is 16 chunks, so the kill lands inside one.
    const sealed = await sealedLog(dir, 8, 2 * 1024 * 1024, 64 * 1024);
    const options = { dir, bucket, servers: cluster().servers };
    const first = startFixture('archiver', options);
    await first.waitFor((l) => l === 'archived 2', 'segment 2 archived');
    await first.kill();
    const before = first.lines.filter((l) => l.startsWith('archived ')).length;

    expect(before).toBeLessThan(sealed.length);
    const second = startFixture('archiver', options);
    await second.waitFor((l) => l === 'done', 'done');
    const archive = await ObjectStoreArchive.open({ nats, bucket });
    expect(await archive.list()).toEqual(sealed.map(({ file: _, ...info }) => info));
    const objects = await (await new Objm(nats).open(bucket)).list();
    expect(objects.filter((o) => !o.deleted)).toHaveLength(sealed.length);
    for (const { file, segment } of sealed) {
      expect(sha256((await archive.get(segment)) ?? new Uint8Array())).toBe(
        sha256(readFileSync(file)),
      );
    }
  });
});
