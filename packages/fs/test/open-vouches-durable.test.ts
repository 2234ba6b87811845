// What open makes durable and reports as durable
// (durableSequence) carries no frame vouching for it until the next writer
// appends. If that writer dies before appending, rot in those bytes reads as
// a torn tail on the next open, and records once reported durable are cut
// silently instead of refused as WAL_CORRUPTION.
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { batchOffsets, readSegments, simDisk } from './helpers.js';

const DIR = '/log';

test('rot in records a previous open reported durable is refused, not cut as a torn tail', async () => {
  let sim = new SimFs();
  const a = await Wal.open({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 0 });
  for (let i = 0; i < 10; i++) await a.put(`k${i}`, `value-${i}`);
  // Killed: the page cache keeps the records; the next open makes them durable.
  sim = sim.kill();
  const b = await Wal.open({ dir: DIR, fs: sim, sync: 'always' });
  expect(b.durableSequence).toBe(10); // reported durable
  expect(b.repairs).toEqual([]);
  const file = b.file;
  // The writer dies before appending anything.
  sim = sim.kill();
  // Bit rot in the 2nd record, which open B made durable and reported so.
  const second = batchOffsets(readSegments(DIR, simDisk(sim)).at(-1))[1] as number;
  const bytes = sim.readFile(file);
  bytes[second + 20] = (bytes[second + 20] as number) ^ 0x04;
  sim.writeFile(file, bytes);
  const outcome = await Wal.open({ dir: DIR, fs: sim, sync: 'always' }).then(
    (c) => ({ next: c.nextSequence, repairs: c.repairs.length }),
    (error: { code?: string }) => error.code,
  );
  expect(outcome).toBe('WAL_CORRUPTION');
});
