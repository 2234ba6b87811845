// LevelDB log_test-style damage, one kind at a time: what each mode returns
// and reports, and whether the damage counts as a torn tail. The tail rule
// is write order: damage in the last segment is a torn write only when no
// later frame was written after it was durable (its `synced` is past it).
import {
  BATCH_FIRST_SEQUENCE_OFFSET,
  CorruptionError,
  encodeBatchFrame,
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  frameChecksum,
  HEADER_VERSION_OFFSET,
  saltSeed,
  writeU32,
  writeU64,
} from '@wal/codec';
import type { SimFs } from '@wal/fs/testing';
import { recover, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  collect,
  concat,
  edit,
  entriesBefore,
  MODES,
  plain,
  put,
  puts,
  SEAL_FRAME_SIZE,
  SECTOR_SIZE,
  SEGMENT_HEADER_SIZE,
  saltOf,
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

// Re-checksums the frame at `offset` (with the segment's salt) after an edit.
function reseal(b: Uint8Array, offset: number, size: number, segment: number) {
  writeU32(
    b,
    offset + FRAME_CRC_OFFSET,
    frameChecksum(b, offset, offset + size, saltSeed(saltOf(segment))),
  );
}

describe('one kind of damage at a time', () => {
  test('a bad length mid-log: refused by tolerate-tail, skipped by skip-corrupted', async () => {
    const { sim, log } = await simLog([puts(3), puts(3)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => writeU32(b, bad.offset, 0xfff_ffff));
    const tolerant = await collect(scanLog('/wal', { fs: sim }));
    expect(tolerant.error).toBeInstanceOf(CorruptionError);
    expect(tolerant.error).toMatchObject({
      reason: 'bad-length',
      offset: bad.offset,
      file: '/wal/wal_00000000.log',
      damage: { bytes: bad.size, segment: 0 },
    });
    expect(tolerant.entries).toEqual(log.entries.slice(0, 1));
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3, 4, 5]);
    expect(skip.stats.damage).toMatchObject([{ reason: 'bad-length', bytes: bad.size }]);
    expect(skip.stats.damagedRegions).toBe(1);
  });

  test('a bad length in the last frame of the last segment is a torn tail', async () => {
    const { sim, log } = await simLog([puts(3)]);
    const last = frame(log, 0, 2);
    damage(sim, log, 0, (b) => writeU32(b, last.offset, 1 << 30));
    const r = await recover('/wal', { fs: sim });
    expect(r.entries.map((e) => e.sequence)).toEqual([0, 1]);
    expect(r.stats.tornTail).toMatchObject({
      offset: last.offset,
      bytes: last.size,
      reason: 'bad-length',
    });
    expect(r.stats.damage).toEqual([]);
  });

  test('the same damage before the mark a clean close writes is corruption: the mark was written after it was durable', async () => {
    const { sim, log } = await simLog([{ batches: puts(3), mark: true }]);
    const last = frame(log, 0, 2);
    damage(sim, log, 0, (b) => writeU32(b, last.offset, 1 << 30));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        reason: 'bad-length',
        offset: last.offset,
      });
    }
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1]);
    expect(skip.stats).toMatchObject({ tornTail: null, nextSequence: 3 });
  });

  test('a checksum mismatch mid-log', async () => {
    const { sim, log } = await simLog([puts(4, 30)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[bad.offset + FRAME_HEADER_SIZE + 3] =
        (b[bad.offset + FRAME_HEADER_SIZE + 3] as number) ^ 0x80;
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'checksum-mismatch',
      offset: bad.offset,
    });
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map((e) => e.sequence)).toEqual([0]);
    expect(pit.stats.stoppedAt).toMatchObject({ offset: bad.offset, reason: 'checksum-mismatch' });
    expect(pit.nextSequence).toBe(1);
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
  });

  test('an unknown record type with a valid CRC is damage, not a record', async () => {
    const { sim, log } = await simLog([puts(3)]);
    const bad = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[bad.offset + FRAME_HEADER_SIZE] = 9;
      reseal(b, bad.offset, bad.size, 0);
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'unknown-type',
      offset: bad.offset,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2]);
    expect(skip.stats.damage).toMatchObject([{ reason: 'unknown-type', offset: bad.offset }]);
  });

  test('an intact frame with the wrong sequence is damage (bad-sequence), never returned', async () => {
    const { sim, log } = await simLog([puts(3)]);
    const bad = frame(log, 0, 1);
    // Re-encode the middle frame with sequence 7: valid CRC, wrong place.
    damage(sim, log, 0, (b) => {
      writeU64(b, bad.offset + FRAME_HEADER_SIZE + BATCH_FIRST_SEQUENCE_OFFSET, 7);
      reseal(b, bad.offset, bad.size, 0);
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({ reason: 'bad-sequence' });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2]);
  });

  test('a zero-filled tail of the last segment is free space; the same zeros after a seal are damage', async () => {
    const zeros = new Uint8Array(4096);
    const { sim, log } = await simLog([puts(2), puts(2)]);
    damage(sim, log, 1, (b) => concat([b, zeros]));
    for (const mode of MODES) {
      const r = await recover('/wal', { fs: sim, mode });
      expect(r.entries.length, mode).toBe(4);
      expect(r.stats, mode).toMatchObject({ tornTail: null, damage: [], bytesSkipped: 0 });
    }

    damage(sim, log, 1, () => log.segments[1]?.bytes);
    damage(sim, log, 0, (b) => concat([b, zeros]));
    // A seal gives the segment's end: nothing may follow it, zeros included.
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-seal',
      file: '/wal/wal_00000000.log',
      offset: log.segments[0]?.bytes.length,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.length).toBe(4);
    expect(skip.stats).toMatchObject({ tornTail: null, bytesSkipped: 4096 });
  });

  test('zeros where the seal of a segment that is not the last was: damage, never free space', async () => {
    const { sim, log } = await simLog([puts(2), puts(2)]);
    const size = log.segments[0]?.bytes.length as number;
    damage(sim, log, 0, (b) => edit(b, (c) => c.fill(0, size - SEAL_FRAME_SIZE)));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode }), mode).rejects.toMatchObject({
        file: '/wal/wal_00000000.log',
        offset: size - SEAL_FRAME_SIZE,
        reason: 'bad-seal',
      });
    }
    const report = await verify('/wal', { fs: sim });
    expect(report.ok).toBe(false);
    expect(report.segments[0]).toMatchObject({ status: 'damaged', sealed: false });
  });

  test('a torn write (a zeroed sector) followed by frames of the same unsynced write: the rest is the tail', async () => {
    // Frames 1 to 3 went out in one write that was never synced (their
    // synced watermark is frame 1's offset). A power loss zeroed one sector
    // of frame 1 while frames 2 and 3 reached the disk.
    const { sim, log } = await simLog([
      {
        batches: [
          [put('a', 'x')],
          [put('big', 'y'.repeat(3000))],
          [put('c', 'z')],
          [put('d', 'w')],
        ],
        synced: { groups: [1, 3] },
      },
    ]);
    const torn = frame(log, 0, 1);
    expect(log.segments[0]?.frames.map((f) => f.synced)).toEqual([
      48,
      torn.offset,
      torn.offset,
      torn.offset,
    ]);
    const sector = Math.ceil((torn.offset + 1) / SECTOR_SIZE) * SECTOR_SIZE;
    damage(sim, log, 0, (b) => b.fill(0, sector, sector + SECTOR_SIZE));
    const size = log.segments[0]?.bytes.length as number;
    for (const mode of ['tolerate-tail', 'point-in-time'] as const) {
      const r = await recover('/wal', { fs: sim, mode });
      expect(r.entries.map((e) => e.sequence)).toEqual([0]);
      expect(r.stats.tornTail).toMatchObject({ offset: torn.offset, bytes: size - torn.offset });
      expect(r.stats).toMatchObject({ damage: [], stoppedAt: null, nextSequence: 1 });
    }
    // skip-corrupted salvages: it lists the torn write and reads on past it,
    // so the frames of the same unsynced write come back (the writer cuts them).
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
    expect(skip.stats.damage).toMatchObject([{ offset: torn.offset, bytes: torn.size }]);
    expect(skip.stats.tornTail).toMatchObject({ offset: torn.offset, bytes: torn.size });
    await expect(recover('/wal', { fs: sim, mode: 'strict' })).rejects.toBeInstanceOf(
      CorruptionError,
    );
  });

  test('the same zeroed sector with later frames written after it was synced is bit rot: refused, nothing cut', async () => {
    const { sim, log } = await simLog([
      [[put('a', 'x')], [put('big', 'y'.repeat(3000))], [put('c', 'z')], [put('d', 'w')]],
    ]);
    const rot = frame(log, 0, 1);
    const sector = Math.ceil((rot.offset + 1) / SECTOR_SIZE) * SECTOR_SIZE;
    damage(sim, log, 0, (b) => b.fill(0, sector, sector + SECTOR_SIZE));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        offset: rot.offset,
        damage: { bytes: rot.size },
      });
    }
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
    expect(skip.stats.tornTail).toBeNull();
  });

  test('bit rot followed by valid frames in the last segment is corruption, not a tail', async () => {
    const { sim, log } = await simLog([
      [[put('a', 'x')], [put('big', 'y'.repeat(3000))], [put('c', 'z')]],
    ]);
    const rot = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[rot.offset + 700] = (b[rot.offset + 700] as number) ^ 0x10;
    });
    const error = await recover('/wal', { fs: sim }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'WAL_CORRUPTION',
      reason: 'checksum-mismatch',
      offset: rot.offset,
      damage: { bytes: rot.size, file: '/wal/wal_00000000.log' },
    });
    // The message names the file and offset and says what to do next.
    expect((error as Error).message).toContain(`/wal/wal_00000000.log at offset ${rot.offset}`);
    expect((error as Error).message).toContain('repair()');
  });

  test('a header of a middle segment that is not a header: the segment is damage, its bytes never read as frames', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2)]);
    damage(sim, log, 1, (b) => {
      b[HEADER_VERSION_OFFSET] = 7; // version 7: the header CRC fails too
    });
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-header',
      file: '/wal/wal_00000001.log',
      offset: 0,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 1, 4, 5]);
    expect(skip.stats.damage).toMatchObject([
      { reason: 'bad-header', segment: 1, offset: 0, bytes: log.segments[1]?.bytes.length },
    ]);
    expect(skip.stats.segmentsScanned).toBe(2);
  });
});

describe('false syncs', () => {
  test('a frame of the same segment inside a damaged value resyncs nowhere: its sequence is behind', async () => {
    // Frame 1's value holds a copy of frame 0, salt and all: it validates,
    // but its sequence (0) is behind the one the damage interrupted (1).
    const first = encodeBatchFrame({ salt: saltOf(0), synced: SEGMENT_HEADER_SIZE }, 0, [
      put('a', '1'),
    ]);
    const { sim, log } = await simLog([
      [[put('a', '1')], [{ type: 'put', key: utf8('log'), value: first }], [put('b', '2')]],
      [[put('c', '3')]],
    ]);
    expect(log.segments[0]?.bytes.subarray(48, 48 + first.length)).toEqual(first);
    const host = frame(log, 0, 1);
    damage(sim, log, 0, (b) => writeU32(b, host.offset, 0xffff_ffff));
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map((e) => e.sequence)).toEqual([0, 2, 3]);
    expect(skip.stats.damage).toMatchObject([{ offset: host.offset, bytes: host.size }]);
  });

  test('a frame with the right sequence but another salt inside a damaged value is not a frame', async () => {
    // The most dangerous forgery a value can hold without knowing the
    // segment's salt: the exact sequence the resync looks for.
    const forged = encodeBatchFrame({ salt: saltOf(1), synced: SEGMENT_HEADER_SIZE }, 1, [
      put('balance', '1000000'),
    ]);
    const { sim, log } = await simLog([
      [[put('a', '1')], [{ type: 'put', key: utf8('log'), value: forged }], [put('b', '2')]],
      [[put('c', '3')]],
    ]);
    const host = frame(log, 0, 1);
    damage(sim, log, 0, (b) => {
      b[host.offset + FRAME_CRC_OFFSET] = (b[host.offset + FRAME_CRC_OFFSET] as number) ^ 1;
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map(plain)).toEqual([log.entries[0], log.entries[2], log.entries[3]]);
    expect(skip.stats.damage).toMatchObject([
      { reason: 'checksum-mismatch', offset: host.offset, bytes: host.size },
    ]);
  });
});

describe('truncation at every byte offset of the last segment', () => {
  test('complete records come back, the rest is the torn tail; a cut header is damage', async () => {
    const { sim, log } = await simLog([
      puts(2, 20),
      [[put('a', '1')], [put('bb', '22'), put('c', '')], [put('d', 'x'.repeat(700))]],
    ]);
    const last = log.segments[1];
    if (!last) throw new Error('fixture');
    for (let cut = 0; cut <= last.bytes.length; cut++) {
      sim.writeFile(last.file, last.bytes.subarray(0, cut));
      if (cut < SEGMENT_HEADER_SIZE) {
        // The writer never leaves a segment shorter than its header under
        // its final name (it is created as .tmp): not a torn tail.
        await expect(recover('/wal', { fs: sim }), `cut ${cut}`).rejects.toMatchObject({
          reason: 'bad-header',
          file: last.file,
          offset: 0,
        });
        continue;
      }
      const r = await recover('/wal', { fs: sim });
      // The frames wholly before the cut, and where the cut one starts.
      const whole = last.frames.filter((f) => f.offset + f.size <= cut).length;
      const expected = entriesBefore(log, 1, whole);
      const tailStart = last.frames[whole]?.offset ?? cut;
      expect(r.entries.map(plain), `cut ${cut}`).toEqual(expected);
      expect(r.nextSequence).toBe(expected.length);
      if (tailStart === cut) {
        expect(r.stats.tornTail, `cut ${cut}`).toBeNull();
      } else {
        expect(r.stats.tornTail, `cut ${cut}`).toMatchObject({
          segment: 1,
          offset: tailStart,
          bytes: cut - tailStart,
        });
      }
      expect(r.stats.damage).toEqual([]);
    }
  });
});
