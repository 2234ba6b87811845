// verify: every segment, every damaged region, every gap, one verdict; read-only.
import { writeU32 } from '@wal/codec';
import { verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { buildLog, concat, puts, simLog } from './helpers.js';

describe('verify', () => {
  test('a clean log: per-segment facts and an ok verdict', async () => {
    const { sim, log } = simLog([puts(3), puts(2), []]);
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report).toMatchObject({
      ok: true,
      gaps: [],
      corruptions: [],
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
        firstSequence: 3,
        lastSequence: 4,
        records: 2,
        entries: 2,
        damage: [],
      },
      {
        segment: 2,
        file: '/wal/wal_00000002.log',
        bytes: 32,
        status: 'ok',
        firstSequence: 5,
        lastSequence: null,
        records: 0,
        entries: 0,
        damage: [],
      },
    ]);
  });

  test('a torn tail is ok for tolerate-tail (the default), not for strict', async () => {
    const { sim, log } = simLog([puts(3)]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    sim.writeFile(seg.file, seg.bytes.subarray(0, seg.bytes.length - 3));
    const tolerant = await verify('/wal', { fs: sim });
    expect(tolerant).toMatchObject({ ok: true, mode: 'tolerate-tail', nextSequence: 2 });
    expect(tolerant.tornTail).toMatchObject({ offset: seg.frames[2]?.offset });
    expect(tolerant.segments[0]).toMatchObject({
      status: 'torn-tail',
      records: 2,
      damage: [{ tornTail: true }],
    });
    expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(false);
  });

  test('every problem is listed, not just the first', async () => {
    const { sim, log } = simLog([puts(3), puts(3), puts(3), puts(3), puts(3)]);
    const [s0, , s2, s3] = log.segments;
    if (!s0 || !s2 || !s3) throw new Error('fixture');
    const bad0 = s0.frames[1]?.offset as number;
    const copy0 = s0.bytes.slice();
    writeU32(copy0, bad0, 0xffff_ffff);
    sim.writeFile(s0.file, copy0);
    sim.writeFile(s2.file, concat([s2.bytes, new Uint8Array(600)]));
    sim.unlink(s3.file);
    const report = await verify('/wal', { fs: sim });
    expect(report.ok).toBe(false);
    expect(report.corruptions.map((c) => [c.segment, c.offset, c.reason])).toEqual([
      [0, bad0, 'bad-length'],
      [2, s2.bytes.length, 'zero-fill'],
    ]);
    expect(report.gaps).toMatchObject([{ kind: 'missing', segment: 4 }]);
    expect(report.segments.map((s) => s.status)).toEqual(['damaged', 'ok', 'damaged', 'ok']);
    // What a repair would leave: the prefix before the first damage.
    expect(report.nextSequence).toBe(1);
  });

  test('a zero-length last segment is reported as empty, and is ok', async () => {
    const { sim } = simLog([puts(1)]);
    sim.writeFile('/wal/wal_00000001.log', new Uint8Array(0));
    const report = await verify('/wal', { fs: sim, mode: 'strict' });
    expect(report.ok).toBe(true);
    expect(report.segments.map((s) => s.status)).toEqual(['ok', 'empty']);
  });

  test('swapped and foreign segments show as gaps', async () => {
    const { sim } = simLog([puts(1), puts(1)]);
    const built = buildLog('/wal', [puts(1)], { segmentNumber: 9, sequence: 1 });
    sim.writeFile('/wal/wal_00000001.log', built.segments[0]?.bytes as Uint8Array);
    sim.writeFile('/wal/wal_00000002.log', new Uint8Array(100).fill(7));
    const report = await verify('/wal', { fs: sim });
    expect(report.segments.map((s) => s.status)).toEqual(['ok', 'gap', 'gap']);
    expect(report.gaps.map((g) => g.kind)).toEqual(['swapped', 'foreign']);
  });

  test('verify changes nothing and writes nothing', async () => {
    const { sim, log } = simLog([puts(3), puts(3)]);
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
  });
});
