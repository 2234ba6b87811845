// Sequences end below 2^53 (issue 13): an append that would pass the last
// exact sequence is refused with its own error, and the writer stays usable.
import { MAX_SEQUENCE } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import {
  headerOf,
  readEntries,
  rejectsWith,
  SegmentBuilder,
  segmentFile,
  simDisk,
} from './helpers.js';

const dir = '/log';

// A log whose only segment starts two sequences below the end.
async function nearTheEnd(): Promise<SimFs> {
  const sim = new SimFs();
  await sim.mkdirp(dir);
  const header = headerOf({ firstSequence: MAX_SEQUENCE - 2 });
  sim.writeFile(segmentFile(dir, 0), new SegmentBuilder(header).bytes());
  sim.syncAll();
  return sim;
}

// The message says how many were asked for and where the log is.
async function expectExhausted(call: Promise<unknown>, at: number, asked = 1): Promise<void> {
  const error = await rejectsWith(call, 'WAL_SEQUENCE_EXHAUSTED');
  expect(error.message).toMatch(new RegExp(`^expected ${asked} more sequences below 2\\^53 - 1`));
  expect(error.message).toContain(`found the next sequence at ${at}`);
}

test('appends past the last sequence reject WAL_SEQUENCE_EXHAUSTED; the writer stays open and rotates', async () => {
  const sim = await nearTheEnd();
  const wal = await Wal.open({ dir, fs: sim });
  expect(wal.nextSequence).toBe(MAX_SEQUENCE - 2);

  // Three sequences are not left, two are.
  await expectExhausted(
    wal.batch([
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' },
      { type: 'put', key: 'c', value: '3' },
    ]),
    MAX_SEQUENCE - 2,
    3,
  );
  expect(wal.state).toBe('open');
  expect(await wal.put('a', '1')).toBe(MAX_SEQUENCE - 2);
  expect(await wal.put('b', '2')).toBe(MAX_SEQUENCE - 1);
  expect(wal.nextSequence).toBe(MAX_SEQUENCE);
  const size = wal.segmentSize;

  await expectExhausted(wal.put('c', '3'), MAX_SEQUENCE);
  await expectExhausted(wal.delete('c'), MAX_SEQUENCE);
  await expectExhausted(wal.batch([{ type: 'delete', key: 'c' }]), MAX_SEQUENCE);
  expect(wal.state).toBe('open');
  expect(wal.failure).toBeUndefined();
  expect(wal.segmentSize).toBe(size); // nothing written
  expect(wal.nextSequence).toBe(MAX_SEQUENCE);

  // Rotating at the end works: the seal and the next header hold MAX_SEQUENCE.
  await wal.rotate();
  expect(wal.segment).toBe(1);
  await wal.sync();
  await wal.close();

  const entries = readEntries(dir, simDisk(sim));
  expect(entries.map((e) => [e.sequence, e.key])).toEqual([
    [MAX_SEQUENCE - 2, 'a'],
    [MAX_SEQUENCE - 1, 'b'],
  ]);

  const reopened = await Wal.open({ dir, fs: sim });
  expect(reopened.nextSequence).toBe(MAX_SEQUENCE);
  expect(Number.isSafeInteger(reopened.nextSequence)).toBe(true);
  await expectExhausted(reopened.put('d', '4'), MAX_SEQUENCE);
  expect(reopened.state).toBe('open');
  await reopened.rotate();
  expect(reopened.segment).toBe(2);
  await reopened.close();
  expect(readEntries(dir, simDisk(sim))).toHaveLength(2);
});
