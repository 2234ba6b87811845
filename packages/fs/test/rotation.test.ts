// Segments: records never span them, oversized records get their own, new
// segments carry the right header, every segment but the last is sealed,
// and retention (maxSegments, truncateThrough) goes on whatever was removed.
import fs from 'node:fs';
import {
  FRAME_HEADER_SIZE,
  MIN_BATCH_BYTES,
  recordSize,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type WalError,
} from '@wal/codec';
import { MIN_SEGMENT_BYTES, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  append,
  framesOf,
  GatedFs,
  openWal,
  puts,
  readEntries,
  readSegments,
  rootCode,
  segmentFile,
  segmentNames,
  simDisk,
  tempDir,
  until,
  utf8,
} from './helpers.js';

const batches = (segment: ReturnType<typeof readSegments>[number]) =>
  framesOf(segment).filter((f) => f.type === 'batch');

// Checks what must hold for any log: headers numbered in order, each header's
// first sequence is its first record's (or the next segment's, when empty),
// no damage, every segment but the last sealed (readEntries checks the
// chain), and no segment over the limit unless one record alone is.
function checkSegments(dir: string, maxSegmentBytes: number, nextSequence: number): void {
  readEntries(dir);
  const segments = readSegments(dir);
  segments.forEach((segment, i) => {
    expect(segment.header.segment).toBe(Number(segment.name.slice(4, -4)));
    if (i > 0) expect(segment.header.segment).toBe(Number(segments[i - 1]?.header.segment) + 1);
    const records = batches(segment);
    const first = records[0];
    const expectedFirst =
      first?.type === 'batch'
        ? first.firstSequence
        : (segments[i + 1]?.header.firstSequence ?? nextSequence);
    expect(segment.header.firstSequence).toBe(expectedFirst);
    if (records.length > 1) expect(segment.size).toBeLessThanOrEqual(maxSegmentBytes);
  });
}

describe('size-based rotation', () => {
  test('a record never spans segments and every segment stays within maxSegmentBytes', async () => {
    const dir = tempDir();
    const maxSegmentBytes = 300;
    const wal = await openWal({ dir, maxSegmentBytes });
    const values = Array.from({ length: 40 }, (_, i) => 'v'.repeat((i * 37) % 120));
    for (const [i, v] of values.entries()) expect(await wal.put(`k${i}`, v)).toBe(i);
    expect(wal.segment).toBeGreaterThan(3);
    checkSegments(dir, maxSegmentBytes, wal.nextSequence);
    expect(readEntries(dir).map((e) => e.value)).toEqual(values);
  });

  test('concurrent appends that cross a boundary rotate inside one flush, in order', async () => {
    const dir = tempDir();
    const maxSegmentBytes = 1_000;
    const wal = await openWal({ dir, maxSegmentBytes });
    const resolved: number[] = [];
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        wal.put(`key${i}`, 'x'.repeat(i % 50)).then((s) => resolved.push(s)),
      ),
    );
    expect(resolved).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(segmentNames(dir).length).toBeGreaterThan(3);
    checkSegments(dir, maxSegmentBytes, 100);
    expect(readEntries(dir).map((e) => e.sequence)).toEqual(resolved);
  });

  test('a record bigger than maxSegmentBytes gets a segment of its own', async () => {
    const dir = tempDir();
    const maxSegmentBytes = MIN_SEGMENT_BYTES + 100;
    const wal = await openWal({ dir, maxSegmentBytes });
    await wal.put('small', 'a');
    const big = 'B'.repeat(maxSegmentBytes * 3);
    await wal.put('big', big);
    await wal.put('small', 'c');
    await wal.close();
    const segments = readSegments(dir);
    expect(segments.map((s) => batches(s).length)).toEqual([1, 1, 1]);
    expect(segments[1]?.size).toBeGreaterThan(maxSegmentBytes);
    expect(segments.map((s) => s.header.firstSequence)).toEqual([0, 1, 2]);
    checkSegments(dir, maxSegmentBytes, 3);
    const reopened = await openWal({ dir, maxSegmentBytes });
    expect(reopened.nextSequence).toBe(3);
    expect(readEntries(dir)[1]?.value).toBe(big);
  });

  test('oversized records in a row, the first in a fresh log: no empty segment between them', async () => {
    const dir = tempDir();
    const maxSegmentBytes = MIN_SEGMENT_BYTES + 100;
    const wal = await openWal({ dir, maxSegmentBytes });
    const big = 'B'.repeat(maxSegmentBytes * 2);
    await wal.put('first', big);
    await wal.put('second', big);
    await Promise.all([wal.put('third', big), wal.put('fourth', big)]);
    expect(readSegments(dir).map((s) => batches(s).length)).toEqual([1, 1, 1, 1]);
    checkSegments(dir, maxSegmentBytes, 4);
  });

  test('a fresh segment is not rotated away from under a record that exactly fills it', async () => {
    const dir = tempDir();
    // What a segment must leave room for besides its records (its seal, and
    // marks), from the smallest segment the options accept.
    const overhead = MIN_SEGMENT_BYTES - SEGMENT_HEADER_SIZE - FRAME_HEADER_SIZE - MIN_BATCH_BYTES;
    const op = { type: 'put' as const, key: utf8('k'), value: utf8('v'.repeat(20)) };
    const frame = FRAME_HEADER_SIZE + recordSize([op]);
    const maxSegmentBytes = SEGMENT_HEADER_SIZE + frame + overhead;
    const wal = await openWal({ dir, maxSegmentBytes });
    for (let i = 0; i < 3; i++) await wal.put('k', 'v'.repeat(20));
    const sealed = SEGMENT_HEADER_SIZE + frame + SEAL_FRAME_SIZE;
    expect(readSegments(dir).map((s) => [s.dataEnd, batches(s).length])).toEqual([
      [sealed, 1],
      [sealed, 1],
      [SEGMENT_HEADER_SIZE + frame, 1],
    ]);
    // The active one is preallocated up to the limit, no further.
    expect(readSegments(dir).map((s) => s.size)).toEqual([sealed, sealed, maxSegmentBytes]);
  });

  test('property: any append sizes and limit keep the segment invariants across reopen', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MIN_SEGMENT_BYTES, max: 600 }),
        fc.array(fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 5 }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (maxSegmentBytes, rounds) => {
          const dir = tempDir();
          let expected = 0;
          for (const round of rounds) {
            // Sync mode does not change the layout; 'none' keeps the property fast.
            const wal = await Wal.open({ dir, maxSegmentBytes, sync: 'none' });
            expect(wal.nextSequence).toBe(expected);
            await Promise.all(
              round.map((size, i) => wal.put(`k${expected + i}`, 'z'.repeat(size))),
            );
            expected += round.length;
            await wal.close();
          }
          checkSegments(dir, maxSegmentBytes, expected);
          expect(readEntries(dir).map((e) => e.key)).toEqual(
            Array.from({ length: expected }, (_, i) => `k${i}`),
          );
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('a seal and the preallocated zeros', () => {
  // A sealed segment ends at its seal. The zeros after the frames are cut
  // and the cut synced before the seal is written: a file system may write
  // the seal's page and lose the size change, and a seal with zeros after
  // it is no seal at the file's end.
  test('at every instant of a rotation, no power loss leaves a seal with bytes after it', async () => {
    const sim = new SimFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim, preallocateBytes: 64 });
    await append(wal, puts(3));
    const file = wal.file;
    expect(sim.readFile(file).length).toBeGreaterThan(wal.segmentSize);
    let states = 0;
    const bad: string[] = [];
    sim.onOperation = (event) => {
      if (!event.mutating) return;
      for (const plan of sim.crashPlans()) {
        const [first] = readSegments(dir, simDisk(sim.crash(plan)));
        const seal = first?.results.find((r) => r.kind === 'frame' && r.record.type === 'seal');
        if (seal?.kind === 'frame' && first?.size !== seal.offset + seal.size) {
          bad.push(`after ${event.op}, ${sim.describeCrashPlan(plan)}: ${first?.size} bytes`);
        }
        states++;
      }
    };
    await wal.rotate();
    sim.onOperation = undefined;
    await wal.close();
    expect(bad).toEqual([]);
    expect(states).toBeGreaterThan(20);
    expect(readSegments(dir, simDisk(sim))[0]?.size).toBe(
      (framesOf(readSegments(dir, simDisk(sim))[0]).at(-1) as { end: number }).end,
    );
  });
});

describe('the close mark counts against maxSegmentBytes', () => {
  // A group encoded while the one before it was syncing is written behind a
  // mark (its frames' synced watermark is stale). When that was the last
  // group, close's own mark still has to fit, or the seal written after a
  // reopen takes the segment past the limit.
  test('after a pipelined group and close, the seal of a reopened segment stays within the limit', async () => {
    const dir = '/log';
    let pipelined = 0;
    for (let maxSegmentBytes = MIN_SEGMENT_BYTES; maxSegmentBytes < 320; maxSegmentBytes++) {
      const sim = new GatedFs();
      const wal = await Wal.open({ dir, fs: sim, maxSegmentBytes });
      sim.hold = true;
      const a = wal.put('a', 'x'.repeat(10));
      await until(() => sim.waiting.length === 1, "the first group's sync");
      const b = wal.put('b', 'y'); // encoded while the first group syncs
      sim.hold = false;
      sim.release();
      await Promise.all([a, b]);
      await wal.close();
      const types = framesOf(readSegments(dir, simDisk(sim))[0]).map((f) => f.type);
      if (types.join() === 'batch,mark,batch,mark') pipelined++;

      const again = await Wal.open({ dir, fs: sim, maxSegmentBytes });
      for (let i = 0; i < 3; i++) await again.put(`c${i}`, 'z'.repeat(10));
      await again.close();
      for (const segment of readSegments(dir, simDisk(sim)).slice(0, -1)) {
        if (batches(segment).length < 2) continue; // one record may have a segment to itself
        expect(segment.size, `maxSegmentBytes ${maxSegmentBytes}`).toBeLessThanOrEqual(
          maxSegmentBytes,
        );
      }
    }
    expect(pipelined).toBeGreaterThan(50); // the layout this is about was written
  });
});

describe('maxSegments retention (lossy)', () => {
  test('rotate() keeps at most maxSegments files, deleting the oldest', async () => {
    const dir = tempDir();
    const wal = await openWal({ dir, maxSegments: 2 });
    for (let i = 0; i < 4; i++) {
      await wal.put(`k${i}`, 'v');
      await wal.rotate();
    }
    expect(segmentNames(dir)).toEqual(['wal_00000003.log', 'wal_00000004.log']);
    expect(readEntries(dir).map((e) => e.sequence)).toEqual([3]);
  });

  test('size-based rotation applies it too, as in the Rust WAL (seed/wal.rs)', async () => {
    const dir = tempDir();
    const wal = await openWal({ dir, maxSegments: 3, maxSegmentBytes: 200 });
    for (let i = 0; i < 30; i++) await wal.put(`k${i}`, 'v'.repeat(60));
    expect(wal.segment).toBeGreaterThan(5);
    expect(segmentNames(dir)).toHaveLength(3);
    expect(segmentNames(dir).at(-1)).toBe(`wal_${String(wal.segment).padStart(8, '0')}.log`);
  });

  test('a deletion failing in a rotation for a full segment rejects no append; the next rotation deletes', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, maxSegments: 2, maxSegmentBytes: 200 });
    await wal.rotate();
    sim.inject({ ops: ['unlink'], code: 'EACCES' });
    for (const e of puts(6)) expect(await wal.put(e.key, 'v'.repeat(60))).toBe(e.sequence);
    expect(wal.segment).toBeGreaterThan(3);
    expect(segmentNames('/log', simDisk(sim))).toHaveLength(2);
    await wal.close();
    expect(readEntries('/log', simDisk(sim)).map((e) => e.key)).toEqual(['k4', 'k5']);
  });

  test('retentionError shows a failure no append reports, until a retention succeeds', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, maxSegments: 2, maxSegmentBytes: 200 });
    await wal.rotate();
    expect(wal.retentionError).toBeUndefined();
    const fault = sim.inject({ ops: ['unlink'], code: 'EACCES', persistent: true });
    for (const e of puts(6)) expect(await wal.put(e.key, 'v'.repeat(60))).toBe(e.sequence);
    expect(wal.segment).toBeGreaterThan(3);
    expect(wal.state).toBe('open');
    const error = wal.retentionError as WalError;
    expect(error.code).toBe('WAL_IO_ERROR');
    expect(error.message).toMatch(
      /remove segment .*wal_0000000\d\.log.*EACCES.*the rotation itself is done.*retention runs again/,
    );
    expect(rootCode(error)).toBe('EACCES');
    expect((error.cause as { code?: string }).code).toBe('EACCES');
    expect(segmentNames('/log', simDisk(sim)).length).toBeGreaterThan(2);
    const again = await wal.dropExcessSegments().catch((e: unknown) => e);
    expect(again).toBe(wal.retentionError);
    expect((again as WalError).message).not.toContain('the rotation itself');
    expect(((again as WalError).cause as { code?: string }).code).toBe('EACCES');
    fault.disarm();
    expect(await wal.dropExcessSegments()).toBeGreaterThan(0);
    expect(wal.retentionError).toBeUndefined();
    expect(segmentNames('/log', simDisk(sim))).toHaveLength(2);
    await wal.close();
  });

  test('dropExcessSegments() applies it now; without maxSegments it removes nothing', async () => {
    const dir = tempDir();
    const unlimited = await Wal.open(dir);
    for (let i = 0; i < 4; i++) await unlimited.rotate();
    expect(await unlimited.dropExcessSegments()).toBe(0);
    await unlimited.close();
    expect(segmentNames(dir)).toHaveLength(5);

    const limited = await openWal({ dir, maxSegments: 2 });
    expect(segmentNames(dir)).toHaveLength(5); // opening deletes nothing
    expect(await limited.dropExcessSegments()).toBe(3);
    expect(segmentNames(dir)).toEqual(['wal_00000003.log', 'wal_00000004.log']);
    expect(await limited.dropExcessSegments()).toBe(0);
  });
});

describe('a sealed segment removed from outside does not stall retention (issue 13)', () => {
  test('truncateThrough counts it as removed and goes on', async () => {
    const dir = tempDir();
    const wal = await openWal(dir);
    for (let i = 0; i < 3; i++) {
      await wal.put(`k${i}`, 'v');
      await wal.rotate();
    }
    fs.unlinkSync(segmentFile(dir, 1));
    expect(await wal.truncateThrough(1)).toBe(2); // segments 0 and 1 (already gone)
    expect(segmentNames(dir)).toEqual(['wal_00000002.log', 'wal_00000003.log']);
    expect(await wal.truncateThrough(100)).toBe(1);
    expect(await wal.put('after', 'v')).toBe(3);
    await wal.rotate();
    await wal.close();
    const reopened = await openWal(dir);
    expect(reopened.nextSequence).toBe(4);
    expect(readEntries(dir).map((e) => e.key)).toEqual(['after']);
  });

  test('maxSegments goes on deleting, and appends that rotate keep resolving', async () => {
    const dir = tempDir();
    const wal = await openWal({ dir, maxSegments: 3, maxSegmentBytes: 200 });
    for (let i = 0; i < 3; i++) await wal.rotate();
    expect(segmentNames(dir)).toEqual(['wal_00000001.log', 'wal_00000002.log', 'wal_00000003.log']);
    fs.unlinkSync(segmentFile(dir, 1)); // the oldest, removed from outside
    expect(await wal.dropExcessSegments()).toBe(0);
    const entries = puts(30);
    for (const e of entries) expect(await wal.put(e.key, 'v'.repeat(60))).toBe(e.sequence);
    expect(wal.segment).toBeGreaterThan(6);
    expect(segmentNames(dir)).toHaveLength(3);
    await wal.close();
    const reopened = await openWal({ dir, maxSegments: 3 });
    expect(reopened.nextSequence).toBe(30);
  });
});
