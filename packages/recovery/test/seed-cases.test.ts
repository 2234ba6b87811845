// The recovery tests of the Rust WAL @wal replaces (seed/wal.rs), on @wal's
// format, and one test per weak point of it (research.md, "The starting point") that
// recovery can show: each would fail on the seed.
import fs from 'node:fs';
import path from 'node:path';
import {
  BATCH_PREFIX_SIZE,
  CorruptionError,
  ErrorCode,
  encodeBatchFrame,
  encodeSegmentHeader,
  FRAME_CRC_OFFSET,
  FRAME_HEADER_SIZE,
  frameChecksum,
  HEADER_VERSION_OFFSET,
  readU32,
  saltSeed,
  writeU32,
} from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  buildLog,
  collect,
  del,
  edit,
  flip,
  plain,
  put,
  puts,
  saltOf,
  simLog,
  tempDir,
  utf8,
  writeLog,
} from './helpers.js';

describe("the Rust WAL's recovery cases", () => {
  test('put, put, delete, put come back in order, with their types and values', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [[[put('a', '1')], [put('b', '2')], [del('a')], [put('c', '3')]]]);
    await writeLog(log);
    const { entries, nextSequence, lastSequence, stats } = await recover(dir);
    expect(entries.map(plain)).toEqual(log.entries);
    expect(entries.map((e) => [e.sequence, e.type])).toEqual([
      [0, 'put'],
      [1, 'put'],
      [2, 'delete'],
      [3, 'put'],
    ]);
    expect('value' in (entries[2] as object)).toBe(false);
    expect(Buffer.from(entries[3]?.value as Uint8Array).toString()).toBe('3');
    expect([nextSequence, lastSequence]).toEqual([4, 3]);
    expect(stats).toMatchObject({
      mode: 'tolerate-tail',
      missing: false,
      entriesRecovered: 4,
      damagedRegions: 0,
      bytesSkipped: 0,
      bytesUnread: 0,
      segmentsScanned: 1,
      segmentsUnread: 0,
      tornTail: null,
      damage: [],
      holes: [],
      stoppedAt: null,
      firstSequence: 0,
    });
    expect(stats.bytesRecovered).toBe(log.segments[0]?.frames.reduce((n, f) => n + f.size, 0));
  });

  test('many segments are read in number order, not directory order', async () => {
    const dir = tempDir();
    const log = buildLog(
      dir,
      Array.from({ length: 12 }, (_, i) => puts(3, 8, `s${i}-`)),
    );
    // Written newest first, so the directory order differs from the log order.
    fs.mkdirSync(dir, { recursive: true });
    for (const s of [...log.segments].reverse()) fs.writeFileSync(s.file, s.bytes);
    const { entries, stats } = await recover(dir, { mode: 'strict' });
    expect(entries.map(plain)).toEqual(log.entries);
    expect(stats.segmentsScanned).toBe(12);
  });

  test('an empty directory is an empty log; a missing one is WAL_NOT_FOUND unless asked for empty', async () => {
    const dir = tempDir();
    const empty = await recover(dir, { mode: 'strict' });
    expect(empty).toMatchObject({ entries: [], nextSequence: 0, lastSequence: null });
    expect(empty.stats).toMatchObject({ segmentsScanned: 0, missing: false, firstSequence: null });
    const missing = path.join(dir, 'missing');
    await expect(recover(missing, { mode: 'strict' })).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
      message: expect.stringContaining(missing),
    });
    const firstBoot = await recover(missing, { mode: 'strict', ifMissing: 'empty' });
    expect(firstBoot).toMatchObject({ entries: [], nextSequence: 0, lastSequence: null });
    expect(firstBoot.stats.missing).toBe(true);
  });

  test('a single entry: lastSequence 0 is not confused with an empty log', async () => {
    const dir = tempDir();
    await writeLog(buildLog(dir, [[[put('only', 'one')]]]));
    const r = await recover(dir);
    expect(r.entries.map(plain)).toEqual([
      { sequence: 0, type: 'put', key: Buffer.from('only').toString('hex'), value: '6f6e65' },
    ]);
    expect([r.nextSequence, r.lastSequence]).toEqual([1, 0]);
  });

  test('a large log (20,000 entries over 3 MiB, many chunks) comes back whole', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(8_000, 150), puts(8_000, 150, 'x'), puts(4_000, 150, 'y')]);
    await writeLog(log);
    const { entries, nextSequence, stats } = await recover(dir, { mode: 'strict' });
    expect(entries.length).toBe(20_000);
    expect(entries.map(plain)).toEqual(log.entries);
    expect(nextSequence).toBe(20_000);
    expect(stats.bytesRecovered).toBe(
      log.segments.reduce((n, s) => n + s.frames.reduce((m, f) => m + f.size, 0), 0),
    );
  });

  test('a truncated file: the complete records come back and the cut record is a torn tail', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [puts(5, 40)]);
    const seg = log.segments[0];
    const last = seg?.frames[4];
    if (!seg || !last) throw new Error('fixture');
    await writeLog(log);
    fs.truncateSync(seg.file, last.offset + 11);
    const r = await recover(dir);
    expect(r.entries.map(plain)).toEqual(log.entries.slice(0, 4));
    expect(r.stats.tornTail).toMatchObject({ file: seg.file, offset: last.offset, bytes: 11 });
    expect(r.stats.damage).toEqual([]);
    expect(r.nextSequence).toBe(4);
    const strict = await collect(scanLog(dir, { mode: 'strict' }));
    expect(strict.error).toBeInstanceOf(CorruptionError);
    expect(strict.entries).toEqual(log.entries.slice(0, 4));
  });

  test('a flipped byte in the middle entry: skip-corrupted keeps the first and third', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [
      [[put('one', '1111')], [put('two', '2222')], [put('three', '3333')]],
    ]);
    const seg = log.segments[0];
    const middle = seg?.frames[1];
    if (!seg || !middle) throw new Error('fixture');
    await writeLog(log);
    fs.writeFileSync(seg.file, flip(seg.bytes, middle.offset + middle.size - 2));
    const { entries, stats } = await recover(dir, { mode: 'skip-corrupted' });
    expect(entries.map(plain)).toEqual([log.entries[0], log.entries[2]]);
    expect(stats.damagedRegions).toBe(1);
    expect(stats.damage).toEqual([
      expect.objectContaining({
        offset: middle.offset,
        bytes: middle.size,
        reason: 'checksum-mismatch',
      }),
    ]);
    // The Rust WAL skipped it silently everywhere; the default mode refuses.
    await expect(recover(dir)).rejects.toMatchObject({
      code: ErrorCode.CORRUPTION,
      offset: middle.offset,
    });
  });

  test('garbage appended after valid entries: skip-corrupted keeps both and reports it', async () => {
    const dir = tempDir();
    const log = buildLog(dir, [[[put('a', 'x')], [put('b', 'y')]]]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    await writeLog(log);
    const garbage = utf8('this is definitely not a frame, just some trailing junk bytes');
    fs.appendFileSync(seg.file, garbage);
    const { entries, stats } = await recover(dir, { mode: 'skip-corrupted' });
    expect(entries.map(plain)).toEqual(log.entries);
    expect(stats.damage.length).toBeGreaterThanOrEqual(1);
    expect(stats.damagedRegions).toBeGreaterThanOrEqual(1);
    expect(stats.bytesSkipped).toBe(garbage.length);
  });

  test('sequences carry across rotations, and the writer continues from nextSequence', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, sync: 'none' });
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) await wal.put(`r${round}-${i}`, `v${i}`);
      await wal.rotate();
    }
    await wal.close();
    const r = await recover(dir, { mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.stats.segmentsScanned).toBe(5); // the last one holds only its closing mark
    expect(r.nextSequence).toBe(20);
    const reopened = await Wal.open({ dir, sync: 'none' });
    expect(reopened.nextSequence).toBe(r.nextSequence);
    expect(await reopened.put('after', 'reopen')).toBe(20);
    await reopened.close();
    expect((await recover(dir)).lastSequence).toBe(20);
  });
});

describe('the weak points of the Rust WAL', () => {
  test('1. the CRC covers the lengths: key "ab" value "c" is not key "a" value "bc"', async () => {
    const { sim, log } = await simLog([[[put('ab', 'c')], [put('z', '1')]]]);
    const seg = log.segments[0];
    const f = seg?.frames[0];
    if (!seg || !f) throw new Error('fixture');
    const ctx = { salt: saltOf(0), synced: f.synced };
    const original = encodeBatchFrame(ctx, 0, [put('ab', 'c')]);
    const moved = encodeBatchFrame(ctx, 0, [put('a', 'bc')]);
    expect(moved.length).toBe(original.length);
    // The other split of the same bytes, under the Rust WAL's CRC.
    moved.set(original.subarray(FRAME_CRC_OFFSET, FRAME_CRC_OFFSET + 4), FRAME_CRC_OFFSET);
    sim.writeFile(
      seg.file,
      edit(seg.bytes, (b) => b.set(moved, f.offset)),
    );
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'checksum-mismatch',
      offset: f.offset,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map(plain)).toEqual([log.entries[1]]);
  });

  test('1. a key length past its record, under a valid CRC, is damage: nothing is sliced out of bounds', async () => {
    const { sim, log } = await simLog([[[put('key', 'value')], [put('z', '1')]]]);
    const seg = log.segments[0];
    const f = seg?.frames[0];
    if (!seg || !f) throw new Error('fixture');
    const bad = edit(seg.bytes, (b) => {
      writeU32(b, f.offset + FRAME_HEADER_SIZE + BATCH_PREFIX_SIZE + 1, 0xffff_fff0);
      const crc = frameChecksum(b, f.offset, f.offset + f.size, saltSeed(saltOf(0)));
      writeU32(b, f.offset + FRAME_CRC_OFFSET, crc);
    });
    sim.writeFile(seg.file, bad);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-length',
      offset: f.offset,
    });
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map(plain)).toEqual([log.entries[1]]);
  });

  test('2. an empty value is a put with an empty value, not a missing one', async () => {
    const dir = tempDir();
    await writeLog(buildLog(dir, [[[put('k', 'old')], [put('k', '')], [put('', 'empty key')]]]));
    const { entries } = await recover(dir);
    expect(entries[1]?.type).toBe('put');
    expect(entries[1]?.value).toBeInstanceOf(Uint8Array);
    expect(entries[1]?.value?.length).toBe(0);
    expect(entries[2]?.key.length).toBe(0);
  });

  test('3. after a torn tail, what the writer appends reads back in strict mode (nothing mis-framed)', async () => {
    const { sim, log } = await simLog([puts(3)]);
    const seg = log.segments[0];
    const last = seg?.frames[2];
    if (!seg || !last) throw new Error('fixture');
    sim.writeFile(seg.file, seg.bytes.subarray(0, last.offset + 7));
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    expect(wal.nextSequence).toBe(2);
    await wal.put('after', 'tear');
    await wal.close();
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual([0, 1, 2]);
    expect(Buffer.from(r.entries[2]?.key as Uint8Array).toString()).toBe('after');
  });

  test('5. rotations delete nothing by themselves: 15 segments all come back', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none' });
    for (let i = 0; i < 15; i++) {
      await wal.put(`k${i}`, `v${i}`);
      await wal.rotate();
    }
    await wal.close();
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.entries.map((e) => e.sequence)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(r.stats.segmentsScanned).toBe(16);
  });

  test('6. truncateThrough deletes by seals, and the log then starts where its first segment says', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/wal', fs: sim, sync: 'none' });
    for (let i = 0; i < 9; i++) {
      await wal.put(`k${i}`, `v${i}`);
      if (i % 3 === 2) await wal.rotate();
    }
    expect(await wal.truncateThrough(4)).toBe(1);
    await wal.close();
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    expect(r.stats.firstSequence).toBe(3);
    expect(r.entries.map((e) => e.sequence)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  test('7. a damaged delete is never skipped silently: the key it deleted does not come back unannounced', async () => {
    const { sim, log } = await simLog([[[put('k', 'old')], [del('k')], [put('x', '1')]]]);
    const seg = log.segments[0];
    const d = seg?.frames[1];
    if (!seg || !d) throw new Error('fixture');
    sim.writeFile(seg.file, flip(seg.bytes, d.offset + FRAME_HEADER_SIZE + 2));
    for (const mode of ['strict', 'tolerate-tail'] as const) {
      await expect(recover('/wal', { fs: sim, mode })).rejects.toMatchObject({
        code: ErrorCode.CORRUPTION,
        offset: d.offset,
      });
    }
    // point-in-time stops before it: the state as of sequence 0, consistent.
    const pit = await recover('/wal', { fs: sim, mode: 'point-in-time' });
    expect(pit.entries.map(plain)).toEqual([log.entries[0]]);
    expect(pit.stats.stoppedAt).toMatchObject({ offset: d.offset });
    // skip-corrupted reads on, and says what it skipped.
    const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
    expect(skip.entries.map(plain)).toEqual([log.entries[0], log.entries[2]]);
    expect(skip.stats.damage).toMatchObject([{ offset: d.offset, bytes: d.size }]);
  });

  test('7. a missing segment file is noticed', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2)]);
    await sim.unlink(log.segments[1]?.file as string);
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'missing-segment',
      file: log.segments[2]?.file,
    });
    expect((await verify('/wal', { fs: sim })).ok).toBe(false);
  });

  test('7. after a bad length the reader stays in step: skip-corrupted returns exactly the other frames', async () => {
    const { sim, log } = await simLog([puts(6, 50)]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    for (const [i, f] of seg.frames.entries()) {
      for (const length of [0xffff_ffff, f.size, readU32(seg.bytes, f.offset) - 1]) {
        sim.writeFile(
          seg.file,
          edit(seg.bytes, (b) => writeU32(b, f.offset, length)),
        );
        const skip = await recover('/wal', { fs: sim, mode: 'skip-corrupted' });
        expect(skip.entries.map(plain), `frame ${i}, length ${length}`).toEqual(
          log.entries.filter((e) => e.sequence !== i),
        );
      }
    }
  });

  test('8. the record limit a segment was written under is its header’s; a longer length is damage', async () => {
    const big = 'v'.repeat(3000);
    const { sim, log } = await simLog([
      { batches: [[put('a', '1')], [put('big', big)], [put('c', '3')]], maxRecordBytes: 4096 },
    ]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    expect((await recover('/wal', { fs: sim, mode: 'strict' })).entries.length).toBe(3);
    // The same frames under a header that says 1 KiB: the big one cannot be a frame.
    const header = encodeSegmentHeader({ ...seg.header, maxRecordBytes: 1024 });
    sim.writeFile(
      seg.file,
      edit(seg.bytes, (b) => b.set(header, 0)),
    );
    await expect(recover('/wal', { fs: sim })).rejects.toMatchObject({
      reason: 'bad-length',
      offset: seg.frames[1]?.offset,
    });
  });

  test('9. a segment of another format version is refused, not guessed at', async () => {
    const { sim, log } = await simLog([puts(2)]);
    const seg = log.segments[0];
    if (!seg) throw new Error('fixture');
    sim.writeFile(
      seg.file,
      edit(seg.bytes, (b) => writeU32(b, HEADER_VERSION_OFFSET, 1)),
    );
    const error = await recover('/wal', { fs: sim }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'bad-header', offset: 0 });
    expect((error as CorruptionError).damage.detail).toContain(
      'expected format version 2, found version 1',
    );
  });
});
