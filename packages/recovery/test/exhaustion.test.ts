// Recovery at the end of the sequence space (issue 13): a log whose last
// entry is the last sequence the writer may issue reports a next sequence
// that is still a safe integer, in every reader. On the main branch before
// format v2 the writer issued 2^53 - 1 and recovery reported 2^53.
import { ErrorCode, encodeSegmentHeader, MAX_SEQUENCE, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, repair, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { batchFramesOf, collect, flip, LOG_ID, MODES, saltOf } from './helpers.js';

const dir = '/wal';
const file = '/wal/wal_00000000.log';

// The writer's own log, from a segment that starts two sequences below the end, filled up.
async function fullLog(): Promise<SimFs> {
  const sim = new SimFs();
  await sim.mkdirp(dir);
  sim.writeFile(
    file,
    encodeSegmentHeader({
      segment: 0,
      firstSequence: MAX_SEQUENCE - 2,
      salt: saltOf(0),
      maxRecordBytes: 1024,
      logId: LOG_ID,
    }),
  );
  sim.syncAll();
  const wal = await Wal.open({ dir, fs: sim });
  expect(await wal.put('a', '1')).toBe(MAX_SEQUENCE - 2);
  expect(await wal.put('b', '2')).toBe(MAX_SEQUENCE - 1);
  await expect(wal.put('c', '3')).rejects.toMatchObject({ code: ErrorCode.SEQUENCE_EXHAUSTED });
  await wal.close();
  return sim;
}

describe('a log that used every sequence', () => {
  test.each(MODES)('%s: recover and scanLog end at MAX_SEQUENCE, a safe integer', async (mode) => {
    const sim = await fullLog();
    const r = await recover(dir, { fs: sim, mode });
    expect(r.entries.map((e) => e.sequence)).toEqual([MAX_SEQUENCE - 2, MAX_SEQUENCE - 1]);
    expect(r.nextSequence).toBe(MAX_SEQUENCE);
    expect(r.lastSequence).toBe(MAX_SEQUENCE - 1);
    expect(Number.isSafeInteger(r.nextSequence)).toBe(true);
    const scan = scanLog(dir, { fs: sim, mode });
    expect((await collect(scan)).entries).toHaveLength(2);
    expect(scan.stats.nextSequence).toBe(MAX_SEQUENCE);
  });

  test('verify says ok and continues at MAX_SEQUENCE', async () => {
    const sim = await fullLog();
    const report = await verify(dir, { fs: sim, mode: 'strict' });
    expect(report).toMatchObject({ ok: true, entries: 2, nextSequence: MAX_SEQUENCE });
  });

  test('repair of rot in its last record keeps the next sequence at MAX_SEQUENCE', async () => {
    const sim = await fullLog();
    const bytes = sim.readFile(file);
    const last = batchFramesOf(bytes).at(-1);
    if (!last) throw new Error('fixture');
    expect(last.offset).toBeGreaterThan(SEGMENT_HEADER_SIZE);
    sim.writeFile(file, flip(bytes, last.offset + last.size - 1));
    const done = await repair(dir, { fs: sim });
    expect(done).toMatchObject({
      lost: [{ firstSequence: MAX_SEQUENCE - 1, nextSequence: MAX_SEQUENCE }],
      nextSequence: MAX_SEQUENCE,
      lastSequence: MAX_SEQUENCE - 2,
    });
    const r = await recover(dir, { fs: sim, mode: 'strict' });
    expect(r.nextSequence).toBe(MAX_SEQUENCE);
    const reopened = await Wal.open({ dir, fs: sim });
    expect(reopened.nextSequence).toBe(MAX_SEQUENCE);
    await expect(reopened.put('c', '3')).rejects.toMatchObject({
      code: ErrorCode.SEQUENCE_EXHAUSTED,
    });
    await reopened.close();
  });
});
