// The chain of segments: numbers, headers and sequences must join up. A
// missing, swapped, foreign or out-of-sequence segment is a gap, never
// skipped silently; header-only and zero-length last segments are valid.
import { CorruptionError, encodeSegmentHeader } from '@wal/codec';
import { SimFs } from '@wal/fs/testing';
import { recover, scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { buildLog, collect, MODES, plain, puts, simLog, utf8, writeLog } from './helpers.js';

const fourSegments = () => simLog([puts(2), puts(3), puts(2), puts(2)]);

describe('a missing middle segment is a gap in every mode', () => {
  test.each(MODES)('%s', async (mode) => {
    const { sim, log } = fourSegments();
    const [s0, s1, s2, s3] = log.segments;
    if (!s0 || !s1 || !s2 || !s3) throw new Error('fixture');
    sim.unlink(s2.file);
    const scan = scanLog('/wal', { fs: sim, mode });
    const { entries, error } = await collect(scan);
    const before = log.entries.slice(0, 5);
    const gap = { kind: 'missing', segment: 3, file: s3.file, bytes: 0 };
    expect(scan.stats.gaps).toEqual([expect.objectContaining(gap)]);
    expect(scan.stats.gaps[0]?.detail).toContain('segments 2 to 2 are missing');
    if (mode === 'strict' || mode === 'tolerate-tail') {
      expect(error).toBeInstanceOf(CorruptionError);
      expect(error).toMatchObject({ file: s3.file, offset: 0, reason: 'bad-sequence' });
      expect(entries).toEqual(before);
    } else if (mode === 'point-in-time') {
      expect(error).toBeUndefined();
      expect(entries).toEqual(before);
      expect(scan.stats).toMatchObject({
        stoppedAt: { segment: 3, offset: 0, reason: 'missing' },
        bytesUnread: s3.bytes.length,
        segmentsUnread: 1,
        nextSequence: 5,
      });
    } else {
      expect(error).toBeUndefined();
      expect(entries).toEqual([...before, ...log.entries.slice(7)]);
      expect(scan.stats.nextSequence).toBe(9);
    }
  });
});

describe('other gaps', () => {
  test('swapped segments: each file is a gap, and skip-corrupted reads on', async () => {
    const { sim, log } = fourSegments();
    const [, s1, s2] = log.segments;
    if (!s1 || !s2) throw new Error('fixture');
    sim.writeFile(s1.file, s2.bytes);
    sim.writeFile(s2.file, s1.bytes);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-header',
      file: s1.file,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.stats.gaps.map((g) => [g.kind, g.segment])).toEqual([
      ['swapped', 1],
      ['swapped', 2],
    ]);
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 7, 8]);
    expect(skip.stats.bytesSkipped).toBe(s1.bytes.length + s2.bytes.length);
  });

  test('a foreign file under a segment name', async () => {
    const { sim } = fourSegments();
    sim.writeFile('/wal/wal_00000001.log', utf8('#!/bin/sh\necho this is not a log\n'));
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.length).toBe(2);
    expect(pit.stats.gaps).toMatchObject([{ kind: 'foreign', segment: 1 }]);
    expect(pit.stats.gaps[0]?.detail).toContain('expected the segment magic');
  });

  test('a segment that does not continue the sequence (the previous one lost its end)', async () => {
    const { sim, log } = fourSegments();
    const s1 = log.segments[1];
    const cut = s1?.frames[2];
    if (!s1 || !cut) throw new Error('fixture');
    // Cut exactly at a frame boundary: segment 1 itself looks clean.
    sim.writeFile(s1.file, s1.bytes.subarray(0, cut.offset));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        reason: 'bad-sequence',
        file: '/wal/wal_00000002.log',
      });
    }
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
    expect(pit.stats.gaps).toMatchObject([{ kind: 'sequence', segment: 2 }]);
    expect(pit.stats.gaps[0]?.detail).toBe(
      'expected the segment to start at sequence 4 (the previous one ends at 3), found 5',
    );
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
  });

  test('the only segment too short for a header, numbered above 0, is a gap (the writer refuses it too)', async () => {
    const { sim } = simLog([]);
    sim.writeFile('/wal/wal_00000007.log', new Uint8Array(5));
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-header' });
  });
});

describe('valid shapes', () => {
  test('header-only segments in the middle and at the end', async () => {
    const { sim, log } = simLog([puts(2), [], puts(2), []]);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
    expect(r.nextSequence).toBe(4);
  });

  test('a zero-length last segment is valid; one of 1 to 31 bytes is a torn tail', async () => {
    const { sim, log } = simLog([puts(3)]);
    sim.writeFile('/wal/wal_00000001.log', new Uint8Array(0));
    const strict = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(strict.entries.map(plain)).toEqual(log.entries);
    expect(strict.nextSequence).toBe(3);
    const partial = encodeSegmentHeader({ segmentNumber: 1, firstSequence: 3 }).subarray(0, 20);
    sim.writeFile('/wal/wal_00000001.log', partial);
    const r = await recover('/wal', { fs: sim });
    expect(r.stats.tornTail).toMatchObject({
      segment: 1,
      offset: 0,
      bytes: 20,
      reason: 'bad-header',
    });
    expect(r.nextSequence).toBe(3);
    await expect(recover('/wal', { fs: sim, mode: 'strict' })).rejects.toBeInstanceOf(
      CorruptionError,
    );
  });

  test('a log whose first segments were truncated away starts where its first header says', async () => {
    const sim = new SimFs();
    writeLog(buildLog('/wal', [puts(2), puts(2)], { segmentNumber: 40, sequence: 1000 }), sim);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual([1000, 1001, 1002, 1003]);
    expect(r.nextSequence).toBe(1004);
  });

  test('other files in the directory are ignored: LOCK, .broken, .tmp, quarantine/', async () => {
    const { sim, log } = simLog([puts(2)]);
    sim.writeFile('/wal/LOCK', utf8('123 456\n'));
    sim.writeFile('/wal/wal_00000000.log.broken', utf8('cut bytes'));
    sim.writeFile('/wal/wal_00000001.log.tmp', new Uint8Array(10));
    sim.mkdirp('/wal/quarantine');
    sim.writeFile('/wal/quarantine/wal_00000001.log', utf8('junk'));
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
  });
});
