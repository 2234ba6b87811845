// The chain of segments: numbers, headers, seals and sequences must join up.
// A missing, swapped, foreign, unsealed or out-of-sequence segment is
// damage (missing-segment, bad-header, bad-seal, bad-sequence), never
// skipped silently; header-only segments are valid.
import {
  CorruptionError,
  encodeSealFrame,
  encodeSegmentHeader,
  HEADER_FIRST_SEQUENCE_OFFSET,
  HEADER_LOG_ID_OFFSET,
  SEAL_FRAME_SIZE,
} from '@wal/codec';
import { SimFs } from '@wal/fs/testing';
import { recover, scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  buildLog,
  collect,
  LOG_ID,
  MODES,
  plain,
  puts,
  SEGMENT_HEADER_SIZE,
  saltOf,
  simLog,
  utf8,
  writeLog,
} from './helpers.js';

const fourSegments = () => simLog([puts(2), puts(3), puts(2), puts(2)]);

describe('a missing middle segment is damage in every mode', () => {
  test.each(MODES)('%s', async (mode) => {
    const { sim, log } = await fourSegments();
    const [s0, s1, s2, s3] = log.segments;
    if (!s0 || !s1 || !s2 || !s3) throw new Error('fixture');
    await sim.unlink(s2.file);
    const scan = scanLog('/wal', { fs: sim, mode });
    const { entries, error } = await collect(scan);
    const before = log.entries.slice(0, 5);
    const missing = {
      reason: 'missing-segment',
      segment: 3,
      file: s3.file,
      offset: 0,
      bytes: 0,
    };
    expect(scan.stats.damage).toEqual([expect.objectContaining(missing)]);
    expect(scan.stats.damage[0]?.detail).toContain('segments 2 to 2 are missing');
    if (mode === 'strict' || mode === 'tolerate-tail') {
      expect(error).toBeInstanceOf(CorruptionError);
      expect(error).toMatchObject({ file: s3.file, offset: 0, reason: 'missing-segment' });
      expect(entries).toEqual(before);
    } else if (mode === 'point-in-time') {
      expect(error).toBeUndefined();
      expect(entries).toEqual(before);
      expect(scan.stats).toMatchObject({
        stoppedAt: missing,
        bytesUnread: s3.bytes.length,
        nextSequence: 5,
      });
      // Every segment file is either scanned or unread.
      expect(scan.stats.segmentsScanned + scan.stats.segmentsUnread).toBe(3);
    } else {
      expect(error).toBeUndefined();
      expect(entries).toEqual([...before, ...log.entries.slice(7)]);
      expect(scan.stats.nextSequence).toBe(9);
    }
  });
});

describe('other breaks in the chain', () => {
  test('swapped segments: each file is a bad header, and skip-corrupted reads on', async () => {
    const { sim, log } = await fourSegments();
    const [, s1, s2] = log.segments;
    if (!s1 || !s2) throw new Error('fixture');
    sim.writeFile(s1.file, s2.bytes);
    sim.writeFile(s2.file, s1.bytes);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-header',
      file: s1.file,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.stats.damage.map((d) => [d.reason, d.segment])).toEqual([
      ['bad-header', 1],
      ['bad-header', 2],
    ]);
    expect(skip.stats.damage[0]?.detail).toBe(
      'expected segment number 1 (from the file name) in the header, found 2',
    );
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 7, 8]);
    expect(skip.stats.bytesSkipped).toBe(s1.bytes.length + s2.bytes.length);
  });

  test('a foreign file under a segment name', async () => {
    const { sim } = await fourSegments();
    sim.writeFile(
      '/wal/wal_00000001.log',
      utf8('#!/bin/sh\necho this is not a log, and it is long enough for a header\n'),
    );
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.length).toBe(2);
    expect(pit.stats.damage).toMatchObject([{ reason: 'bad-header', segment: 1 }]);
    expect(pit.stats.damage[0]?.detail).toContain('expected the segment magic');
    expect(pit.stats.stoppedAt).toMatchObject({ reason: 'bad-header', segment: 1 });
  });

  test('a segment of another log (its log id) is a bad header, even in the right place', async () => {
    const { sim, log } = await fourSegments();
    const s2 = log.segments[2];
    if (!s2) throw new Error('fixture');
    const other = buildLog('/wal', [puts(2)], { segment: 2, sequence: 5 });
    const bytes = other.segments[0]?.bytes.slice() as Uint8Array;
    // The same layout, salt and sequences; only the log id differs.
    const foreign = encodeSegmentHeader({ ...s2.header, logId: 'ffffffffffffffff' });
    bytes.set(foreign, 0);
    expect(bytes.subarray(HEADER_LOG_ID_OFFSET, HEADER_LOG_ID_OFFSET + 8)).not.toEqual(
      s2.bytes.subarray(HEADER_LOG_ID_OFFSET, HEADER_LOG_ID_OFFSET + 8),
    );
    sim.writeFile(s2.file, bytes);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-header',
      file: s2.file,
      message: expect.stringContaining(LOG_ID),
    });
  });

  test('a sealed segment that lost its end (cut at a frame boundary) is a bad seal', async () => {
    const { sim, log } = await fourSegments();
    const s1 = log.segments[1];
    const cut = s1?.frames[2];
    if (!s1 || !cut) throw new Error('fixture');
    // Cut exactly at a frame boundary: every frame left is intact, only the seal is gone.
    sim.writeFile(s1.file, s1.bytes.subarray(0, cut.offset));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        reason: 'bad-seal',
        file: s1.file,
        offset: cut.offset,
      });
    }
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
    expect(pit.stats.stoppedAt).toMatchObject({ reason: 'bad-seal', segment: 1 });
    expect(pit.nextSequence).toBe(4);
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
  });

  test('a sealed segment extended past its seal is a bad seal', async () => {
    const { sim, log } = await fourSegments();
    const s1 = log.segments[1];
    if (!s1) throw new Error('fixture');
    sim.writeFile(s1.file, new Uint8Array([...s1.bytes, 1, 2, 3]));
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-seal',
      file: s1.file,
      offset: s1.bytes.length,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map(plain)).toEqual(log.entries);
    expect(skip.stats.bytesSkipped).toBe(3);
  });

  test('a segment that does not start where the previous seal ends is a bad sequence', async () => {
    const { sim, log } = await fourSegments();
    const s2 = log.segments[2];
    if (!s2) throw new Error('fixture');
    // A valid header (CRC and all) that claims sequence 6 where the chain is at 5.
    const wrong = buildLog('/wal', [puts(2), puts(1)], { segment: 2, sequence: 6 }).segments[0];
    sim.writeFile(s2.file, wrong?.bytes as Uint8Array);
    expect(wrong?.bytes[HEADER_FIRST_SEQUENCE_OFFSET]).toBe(6);
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        reason: 'bad-sequence',
        file: s2.file,
        offset: 0,
      });
    }
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(pit.stats.damage).toMatchObject([{ reason: 'bad-sequence', segment: 2 }]);
    expect(pit.stats.damage[0]?.detail).toBe(
      'expected the segment to start at sequence 5 (where the previous one ends), found 6',
    );
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    // Segment 3 (header 7, after a seal at 8) overlaps: its frame 7 is out of place, never returned twice.
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 6, 7, 8]);
    expect(skip.stats.damage.every((d) => d.reason === 'bad-sequence')).toBe(true);
    expect(skip.stats.damage.map((d) => d.segment)).toContain(3);
  });

  test('a segment that starts before the previous one ends (an overlap) is a bad sequence', async () => {
    const { sim, log } = await fourSegments();
    const s2 = log.segments[2];
    if (!s2) throw new Error('fixture');
    const overlapping = buildLog('/wal', [puts(2), puts(1)], { segment: 2, sequence: 3 });
    sim.writeFile(s2.file, overlapping.segments[0]?.bytes as Uint8Array);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-sequence',
      file: s2.file,
    });
    // No sequence comes back twice, in any mode that reads on.
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    const sequences = skip.entries.map((e) => e.sequence);
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  });

  test('the only segment too short for a header, numbered above 0, is damage (the writer refuses it too)', async () => {
    const { sim } = await simLog([]);
    sim.writeFile('/wal/wal_00000007.log', new Uint8Array(5));
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-header' });
  });

  test.each([0, 1, 20, SEGMENT_HEADER_SIZE - 1])(
    'a last segment of %i bytes is damage in every mode, not an empty log or a torn tail',
    async (size) => {
      const { sim, log } = await simLog([puts(3)]);
      // Sealed, so that a next segment is expected: what a rotation leaves.
      const sealed = buildLog('/wal', [puts(3), []]).segments[0]?.bytes as Uint8Array;
      sim.writeFile(log.segments[0]?.file as string, sealed);
      const partial = encodeSegmentHeader({
        segment: 1,
        firstSequence: 3,
        salt: saltOf(1),
        maxRecordBytes: log.segments[0]?.header.maxRecordBytes as number,
        logId: LOG_ID,
      }).subarray(0, size);
      sim.writeFile('/wal/wal_00000001.log', partial);
      for (const mode of ['strict', 'tolerate-tail'] as const) {
        await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
          reason: 'bad-header',
          file: '/wal/wal_00000001.log',
          offset: 0,
          damage: { bytes: size },
        });
      }
      const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
      expect(pit.entries.map((e) => e.sequence)).toEqual([0, 1, 2]);
      expect(pit.stats).toMatchObject({
        tornTail: null,
        stoppedAt: { reason: 'bad-header', segment: 1 },
        nextSequence: 3,
      });
      const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
      expect(skip.stats.damage).toMatchObject([{ reason: 'bad-header', segment: 1, bytes: size }]);
    },
  );
});

describe('valid shapes', () => {
  test('header-only segments in the middle (sealed) and at the end', async () => {
    const { sim, log } = await simLog([puts(2), [], puts(2), []]);
    expect(log.segments[1]?.bytes.length).toBe(SEGMENT_HEADER_SIZE + SEAL_FRAME_SIZE);
    expect(log.segments[3]?.bytes.length).toBe(SEGMENT_HEADER_SIZE);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
    expect(r.nextSequence).toBe(4);
    expect(r.stats.segmentsScanned).toBe(4);
  });

  test('a sealed last segment (a rotation that crashed before the next segment existed)', async () => {
    const { sim, log } = await simLog([puts(2), { batches: puts(2), sealed: true }]);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
    expect(r.nextSequence).toBe(4);
  });

  test('a seal naming sequences past the last record: the next sequence is the seal’s', async () => {
    // What repair leaves when the tail of a segment was lost: its seal says where it ends.
    const sim = new SimFs();
    const built = buildLog('/wal', [puts(2)]);
    const s0 = built.segments[0];
    if (!s0) throw new Error('fixture');
    const seal = encodeSealFrame(
      { salt: saltOf(0), synced: s0.bytes.length },
      { nextSequence: 2, records: 2, bytes: s0.bytes.length + SEAL_FRAME_SIZE },
    );
    await sim.mkdirp('/wal');
    sim.writeFile(s0.file, new Uint8Array([...s0.bytes, ...seal]));
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r).toMatchObject({ nextSequence: 2, lastSequence: 1 });
  });

  test('a log whose first segments were truncated away starts where its first header says', async () => {
    const sim = new SimFs();
    await writeLog(buildLog('/wal', [puts(2), puts(2)], { segment: 40, sequence: 1000 }), sim);
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual([1000, 1001, 1002, 1003]);
    expect(r.nextSequence).toBe(1004);
    expect(r.stats.firstSequence).toBe(1000);
  });

  test('other files in the directory are ignored: LOCK, .broken, .tmp, quarantine/', async () => {
    const { sim, log } = await simLog([puts(2)]);
    sim.writeFile('/wal/LOCK', utf8('123 456\n'));
    sim.writeFile('/wal/wal_00000000.log.broken', utf8('cut bytes'));
    sim.writeFile('/wal/wal_00000001.log.tmp', new Uint8Array(10));
    await sim.mkdirp('/wal/quarantine/1');
    sim.writeFile('/wal/quarantine/1/wal_00000001.log', utf8('junk'));
    sim.writeFile('/wal/quarantine/1/manifest.json', utf8('{}'));
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map(plain)).toEqual(log.entries);
  });
});
