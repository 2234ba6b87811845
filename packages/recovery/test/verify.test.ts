// verify: every segment, every damaged region, one verdict; read-only.
import { ErrorCode, writeU32 } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { buildLog, concat, flip, put, puts, simLog } from './helpers.js';

describe('verify', () => {
  test('a clean log: per-segment facts and an ok verdict', async () => {
    const { sim, log } = await simLog([puts(3), puts(2), []]);
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report).toMatchObject({
      dir: '/wal',
      mode: 'strict',
      ok: true,
      damage: [],
      holes: [],
      tornTail: null,
      records: 5,
      entries: 5,
      nextSequence: 5,
    });
    expect(report.segments).toEqual([
      {
        segment: 0,
        file: '/wal/wal_00000000.log',
        bytes: log.segments[0]?.bytes.length,
        status: 'ok',
        sealed: true,
        firstSequence: 0,
        lastSequence: 2,
        records: 3,
        entries: 3,
        damage: [],
      },
      {
        segment: 1,
        file: '/wal/wal_00000001.log',
        bytes: log.segments[1]?.bytes.length,
        status: 'ok',
        sealed: true,
        firstSequence: 3,
        lastSequence: 4,
        records: 2,
        entries: 2,
        damage: [],
      },
      {
        segment: 2,
        file: '/wal/wal_00000002.log',
        bytes: 48,
        status: 'ok',
        sealed: false,
        firstSequence: 5,
        lastSequence: null,
        records: 0,
        entries: 0,
        damage: [],
      },
    ]);
  });

  test('holes an earlier repair wrote are listed, and are not damage', async () => {
    const { sim } = await simLog([[[put('a', '1')], { hole: 3, incident: 4 }, [put('b', '2')]]]);
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report).toMatchObject({ ok: true, damage: [], records: 2, entries: 2, nextSequence: 5 });
    expect(report.holes).toEqual([
      expect.objectContaining({ segment: 0, firstSequence: 1, nextSequence: 4, incident: 4 }),
    ]);
  });

  test('a torn tail is ok for tolerate-tail (the default), not for strict', async () => {
    const { sim, log } = await simLog([puts(3)]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    sim.writeFile(seg.file, seg.bytes.subarray(0, seg.bytes.length - 3));
    const tolerant = await verify('/wal', { fs: sim });
    expect(tolerant).toMatchObject({ ok: true, mode: 'tolerate-tail', damage: [] });
    expect(tolerant.tornTail).toMatchObject({ offset: seg.frames[2]?.offset });
    expect(tolerant.segments[0]).toMatchObject({
      status: 'torn-tail',
      records: 2,
      damage: [{ offset: seg.frames[2]?.offset, reason: 'truncated' }],
    });
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(false);
  });

  test('every problem is listed, not just the first; nextSequence is above all of them', async () => {
    const { sim, log } = await simLog([puts(3), puts(3), puts(3), puts(3), puts(3)]);
    const [s0, , s2, s3] = log.segments;
    if (!s0 || !s2 || !s3) throw new Error('fixture');
    const bad0 = s0.frames[1]?.offset as number;
    const copy0 = s0.bytes.slice();
    writeU32(copy0, bad0, 0xffff_ffff);
    sim.writeFile(s0.file, copy0);
    sim.writeFile(s2.file, concat([s2.bytes, new Uint8Array(600)]));
    await sim.unlink(s3.file);
    const report = await verify('/wal', { fs: sim });
    expect(report.ok).toBe(false);
    expect(report.damage.map((d) => [d.segment, d.offset, d.reason])).toEqual([
      [0, bad0, 'bad-length'],
      [2, s2.bytes.length, 'bad-seal'],
      [4, 0, 'missing-segment'],
    ]);
    expect(report.segments.map((s) => s.status)).toEqual(['damaged', 'ok', 'damaged', 'damaged']);
    // The sequence repair continues from: above every sequence the log ever held, never a rewind.
    expect(report.nextSequence).toBe(15);
  });

  test('a last segment shorter than its header is damage, not an empty segment', async () => {
    const { sim } = await simLog([{ batches: puts(1), sealed: true }]);
    for (const size of [0, 1, 47]) {
      sim.writeFile('/wal/wal_00000001.log', new Uint8Array(size));
      for (const mode of ['strict', 'tolerate-tail'] as const) {
        const report = await verify('/wal', { fs: sim, mode });
        expect(report.ok, `${size} bytes, ${mode}`).toBe(false);
        expect(report.segments.map((s) => s.status)).toEqual(['ok', 'unreadable']);
        expect(report.damage).toMatchObject([{ reason: 'bad-header', segment: 1, bytes: size }]);
        expect(report.tornTail).toBeNull();
      }
    }
  });

  test('swapped and foreign segments are unreadable', async () => {
    const { sim } = await simLog([puts(1), puts(1)]);
    const built = buildLog('/wal', [puts(1)], { segment: 9, sequence: 1 });
    sim.writeFile('/wal/wal_00000001.log', built.segments[0]?.bytes as Uint8Array);
    sim.writeFile('/wal/wal_00000002.log', new Uint8Array(100).fill(7));
    const report = await verify('/wal', { fs: sim });
    expect(report.segments.map((s) => s.status)).toEqual(['ok', 'unreadable', 'unreadable']);
    expect(report.damage.map((d) => [d.reason, d.segment])).toEqual([
      ['bad-header', 1],
      ['bad-header', 2],
    ]);
  });

  test('bit rot in the last segment is damage, never a torn tail', async () => {
    const { sim, log } = await simLog([puts(1), { batches: puts(3), mark: true }]);
    const seg = log.segments[1];
    const f = seg?.frames[2];
    if (!seg || !f) throw new Error('fixture');
    sim.writeFile(seg.file, flip(seg.bytes, f.offset + 20));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      const report = await verify('/wal', { fs: sim, mode });
      expect(report).toMatchObject({ ok: false, tornTail: null, nextSequence: 4 });
      expect(report.damage).toMatchObject([{ segment: 1, offset: f.offset, bytes: f.size }]);
      expect(report.segments[1]?.status).toBe('damaged');
    }
  });

  test('a missing directory is WAL_NOT_FOUND, never an ok empty log', async () => {
    await expect(verify('/nowhere', { fs: new SimFs() })).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
      message: expect.stringContaining('/nowhere'),
    });
  });

  test('verify changes nothing and writes nothing', async () => {
    const { sim, log } = await simLog([puts(3), puts(3)]);
    const seg = log.segments[1];
    if (!seg) throw new Error('fixture');
    sim.writeFile(seg.file, seg.bytes.subarray(0, seg.bytes.length - 5));
    const before = sim.snapshot();
    const mutating: string[] = [];
    sim.onOperation = (e) => {
      if (e.mutating) mutating.push(e.op);
    };
    await verify('/wal', { fs: sim });
    expect(mutating).toEqual([]);
    expect(sim.snapshot()).toEqual(before);
    expect(sim.openHandles).toBe(0);
    expect(sim.locks).toBe(0);
  });

  test('rot in many places of the last segment costs a bounded number of reads of it, not one per region', async () => {
    // Unsynced frames after each rotted spot ('none'): every region needs a
    // look past it for a frame written once it was durable. That look used
    // to re-read the rest of the segment per region: 201x the file at 400.
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none', preallocateBytes: 0 });
    const value = new Uint8Array(200).fill(7);
    await Promise.all(Array.from({ length: 4000 }, (_, i) => wal.put(`k${i}`, value)));
    await wal.sync();
    await Promise.all(Array.from({ length: 10 }, (_, i) => wal.put(`after${i}`, value)));
    await wal.close();
    const file = '/wal/wal_00000000.log';
    let bytes = sim.readFile(file);
    const regions = 300;
    const step = Math.floor((bytes.length - 2000) / regions);
    for (let k = 0; k < regions; k++) bytes = flip(bytes, 1000 + k * step, 0xff);
    sim.writeFile(file, bytes);
    sim.syncAll();
    let read = 0;
    const counting = new Proxy(sim, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key !== 'read') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<SimFs['read']>) => {
          const n = await target.read(...args);
          read += n;
          return n;
        };
      },
    });
    const report = await verify('/wal', { fs: counting });
    expect(report.damage.length).toBeGreaterThan(regions / 2);
    // All of it rot in synced data, none a torn tail: the look still answers right.
    expect(report.tornTail).toBeNull();
    expect(report.ok).toBe(false);
    expect(read / bytes.length).toBeLessThan(4);
  });

  test('the frame that shows early damage is rot does not vouch for damage after it: that is still a torn tail', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none', preallocateBytes: 0 });
    const value = new Uint8Array(100).fill(7);
    for (let i = 0; i < 20; i++) await wal.put(`k${i}`, value);
    await wal.sync();
    const size = () => sim.readFile('/wal/wal_00000000.log').length;
    const synced = size();
    // Written after the sync: the first of them is the witness for rot below it.
    for (let i = 0; i < 20; i++) await wal.put(`after${i}`, value);
    const lastStart = size() - 100;
    sim.syncAll();
    // The writer is left open: its close would sync and mark, vouching for the tail.
    const rotted = flip(sim.readFile('/wal/wal_00000000.log'), 200, 0xff); // in synced data
    // In the last frame, which nothing written later vouches for.
    sim.writeFile('/wal/wal_00000000.log', flip(rotted, lastStart, 0xff));
    sim.syncAll();
    const report = await verify('/wal', { fs: sim });
    expect(report.damage.map((d) => d.offset < synced)).toEqual([true]);
    expect(report.tornTail?.offset).toBeGreaterThan(synced);
  });
});
