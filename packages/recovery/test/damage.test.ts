// LevelDB log_test-style damage, one kind at a time: what each mode returns
// and reports, and whether the damage counts as a torn tail.
import {
  CorruptionError,
  encodeRecord,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  frameChecksum,
  SECTOR_SIZE,
  writeU32,
} from '@wal/codec';
import type { SimFs } from '@wal/fs/testing';
import { recover, scanLog } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  collect,
  concat,
  entriesBefore,
  plain,
  put,
  puts,
  simLog,
  utf8,
} from './helpers.js';

// Replaces segment `i`'s bytes in the SimFs.
function damage(sim: SimFs, log: BuiltLog, i: number, fn: (b: Uint8Array) => unknown) {
  const seg = log.segments[i];
  if (!seg) throw new Error('fixture');
  const copy = seg.bytes.slice();
  const out = fn(copy);
  sim.writeFile(seg.file, out instanceof Uint8Array ? out : copy);
}

const frame = (log: BuiltLog, s: number, f: number) => {
  const found = log.segments[s]?.frames[f];
  if (!found) throw new Error('fixture');
  return found;
};

describe('one kind of damage at a time', () => {
  test('a bad length mid-log: refused by tolerate-tail, skipped by skip-corrupted', async () => {
    const { sim, log } = simLog([puts(3), puts(3)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => writeU32(b, bad.offset, 0xfff_ffff));
    const tolerant = await collect(scanLog('/wal', { fs: sim }));
    expect(tolerant.error).toBeInstanceOf(CorruptionError);
    expect(tolerant.error).toMatchObject({
      reason: 'bad-length',
      offset: bad.offset,
      bytes: bad.size,
    });
    expect(tolerant.entries).toEqual(log.entries.slice(0, 1));
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3, 4, 5]);
    expect(skip.stats.corruptions).toMatchObject([{ reason: 'bad-length', bytes: bad.size }]);
  });

  test('a bad length in the last frame of the last segment is a torn tail', async () => {
    const { sim, log } = simLog([puts(3)]);
    const last = frame(log, 0, 2);
    damage(sim, log, 0, (b) => writeU32(b, last.offset, 1 << 30));
    const r = await recover('/wal', { fs: sim });
    expect(r.entries.map((e) => e.sequence)).toEqual([0, 1]);
    expect(r.stats.tornTail).toMatchObject({
      offset: last.offset,
      bytes: last.size,
      reason: 'bad-length',
    });
  });

  test('a checksum mismatch mid-log', async () => {
    const { sim, log } = simLog([puts(4, 30)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[bad.offset + FRAME_HEADER_SIZE + 3] =
        (b[bad.offset + FRAME_HEADER_SIZE + 3] as number) ^ 0x80;
    });
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map((e) => e.sequence)).toEqual([0]);
    expect(pit.stats.stoppedAt).toMatchObject({ offset: bad.offset, reason: 'checksum-mismatch' });
    expect(pit.nextSequence).toBe(1);
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
  });

  test('an unknown record type with a valid CRC is damage, not a record', async () => {
    const { sim, log } = simLog([puts(3)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[bad.offset + FRAME_HEADER_SIZE] = 9;
      writeU32(b, bad.offset + 4, frameChecksum(b, bad.offset, bad.offset + bad.size));
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'unknown-type',
      offset: bad.offset,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2]);
    expect(skip.stats.corruptions).toMatchObject([{ reason: 'unknown-type', offset: bad.offset }]);
  });

  test('an intact frame with the wrong sequence is damage (bad-sequence), never returned', async () => {
    const { sim, log } = simLog([puts(3)]);
    const bad = frame(log, 0, 1);
    // Re-encode the middle frame with sequence 7: valid CRC, wrong place.
    damage(sim, log, 0, (b) => {
      b.set([7, 0, 0, 0, 0, 0, 0, 0], bad.offset + FRAME_HEADER_SIZE + 1);
      writeU32(b, bad.offset + 4, frameChecksum(b, bad.offset, bad.offset + bad.size));
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-sequence' });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2]);
  });

  test('a zero-filled tail is a torn tail; the same zeros in an earlier segment are corruption', async () => {
    const zeros = new Uint8Array(4096);
    const { sim, log } = simLog([puts(2), puts(2)]);
    damage(sim, log, 1, (b) => concat([b, zeros]));
    const r = await recover('/wal', { fs: sim });
    expect(r.entries.length).toBe(4);
    expect(r.stats.tornTail).toMatchObject({ segment: 1, reason: 'zero-fill', bytes: 4096 });
    expect(r.stats.corruptions).toEqual([]);

    damage(sim, log, 1, () => log.segments[1]?.bytes);
    damage(sim, log, 0, (b) => concat([b, zeros]));
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'zero-fill',
      file: '/wal/wal_00000000.log',
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.length).toBe(4);
    expect(skip.stats).toMatchObject({ tornTail: null, bytesSkipped: 4096 });
  });

  test('a torn write (a zeroed sector) followed by valid frames: the whole rest is the tail', async () => {
    // Frame 1 spans several sectors; a power loss zeroed one of them while
    // frames 2 and 3, written after it and never synced, reached the disk.
    const { sim, log } = simLog([
      [[put('a', 'x')], [put('big', 'y'.repeat(3000))], [put('c', 'z')], [put('d', 'w')]],
    ]);
    const torn = frame(log, 0, 1);
    const sector = Math.ceil((torn.offset + 1) / SECTOR_SIZE) * SECTOR_SIZE;
    damage(sim, log, 0, (b) => b.fill(0, sector, sector + SECTOR_SIZE));
    const size = log.segments[0]?.bytes.length as number;
    for (const mode of ['tolerate-tail', 'point-in-time'] as const) {
      const r = await recover('/wal', { fs: sim, mode });
      expect(r.entries.map((e) => e.sequence)).toEqual([0]);
      expect(r.stats.tornTail).toMatchObject({ offset: torn.offset, bytes: size - torn.offset });
      expect(r.stats).toMatchObject({ corruptions: [], stoppedAt: null, nextSequence: 1 });
    }
    // skip-corrupted drops the same tail (the writer cuts it) but lists it.
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0]);
    expect(skip.stats.corruptions).toMatchObject([
      { offset: torn.offset, bytes: size - torn.offset },
    ]);
    await expect(recover('/wal', { fs: sim, mode: 'strict' })).rejects.toBeInstanceOf(
      CorruptionError,
    );
  });

  test('bit rot followed by valid frames in the last segment is corruption, not a tail', async () => {
    const { sim, log } = simLog([
      [[put('a', 'x')], [put('big', 'y'.repeat(3000))], [put('c', 'z')]],
    ]);
    const rot = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[rot.offset + 700] = (b[rot.offset + 700] as number) ^ 0x10;
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'checksum-mismatch',
      offset: rot.offset,
      bytes: rot.size,
      message: expect.stringContaining('wal repair /wal'),
    });
  });

  test('a header of a middle segment that is not a header is a gap, its damage never read as frames', async () => {
    const { sim, log } = simLog([puts(2), puts(2), puts(2)]);
    damage(sim, log, 1, (b) => {
      b.set(encodeSegmentHeader({ segmentNumber: 1, firstSequence: 2 }).subarray(0, 8), 0);
      b[9] = 7; // version byte, so the header CRC fails
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 4, 5]);
    expect(skip.stats.gaps).toMatchObject([{ kind: 'foreign', segment: 1 }]);
  });
});

describe('false syncs', () => {
  test('a frame inside a damaged value (a log stored in a log) is not taken for a record', async () => {
    // Frame 1's value holds a whole frame of another log, with sequence 1000.
    const inner = encodeRecord(1000, [put('inner', 'not in this log')]);
    const { sim, log } = simLog([
      [[put('a', '1')], [{ type: 'put', key: utf8('log'), value: inner }], [put('b', '2')]],
      [[put('c', '3')]],
    ]);
    const host = frame(log, 0, 1);
    damage(sim, log, 0, (b) => writeU32(b, host.offset, 0xffff_ffff));
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    // Its sequence cannot fall between this segment's and the next one's.
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
    expect(skip.stats.corruptions.map((c) => c.reason)).toContain('bad-sequence');
  });
});

describe('truncation at every byte offset of the last segment', () => {
  test('complete records come back, the rest is the torn tail, tolerate-tail never throws', async () => {
    const { sim, log } = simLog([
      puts(2, 20),
      [[put('a', '1')], [put('bb', '22'), put('c', '')], [put('d', 'x'.repeat(700))]],
    ]);
    const last = log.segments[1];
    if (!last) throw new Error('fixture');
    for (let cut = 0; cut <= last.bytes.length; cut++) {
      sim.writeFile(last.file, last.bytes.subarray(0, cut));
      const r = await recover('/wal', { fs: sim });
      // The frames wholly before the cut, and where the cut one starts.
      const whole = last.frames.filter((f) => f.offset + f.size <= cut).length;
      const expected = entriesBefore(log, 1, whole);
      const tailStart = cut < 32 ? 0 : (last.frames[whole]?.offset ?? cut);
      expect(r.entries.map(plain), `cut ${cut}`).toEqual(expected);
      expect(r.nextSequence).toBe(expected.length);
      if (cut === 0 || tailStart === cut) {
        expect(r.stats.tornTail, `cut ${cut}`).toBeNull();
      } else {
        expect(r.stats.tornTail, `cut ${cut}`).toMatchObject({
          segment: 1,
          offset: tailStart,
          bytes: cut - tailStart,
        });
      }
      expect(r.stats.corruptions).toEqual([]);
    }
  });
});
