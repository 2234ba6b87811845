// Replay over a checkpoint after `repair({ floor })`: the log's last segment
// is unreadable (magic, salt and first frame's length rotted), so only the
// operator's floor says where the log continues.
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { repair } from '@wal/recovery';
import { expect, test } from 'vitest';
import { flip, headerGone, nineEntries, state, text, unreadable } from './floor-repair.js';

async function rottedAfterCheckpoint(rot = unreadable) {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(wal);
  await wal.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  expect(checkpoint.lastSequence).toBe(8);
  sim.writeFile(last, rot(sim.readFile(last)));
  return { sim, checkpoint, logId: wal.logId };
}

test('floor = the checkpoint + 1: replay over the checkpoint applies exactly what came after the repair', async () => {
  const { sim, checkpoint, logId } = await rottedAfterCheckpoint();
  const done = await repair('/wal', { fs: sim, floor: 9 });
  expect(done.nextSequence).toBe(9);
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  expect(wal.logId).toBe(logId);
  expect(await wal.put('after', 'x')).toBe(9);
  await wal.close();
  const result = await replay('/wal', checkpoint, { fs: sim });
  expect(result).toMatchObject({ applied: 1, nextSequence: 10 });
  expect(checkpoint.lastSequence).toBe(9);
  expect(text(checkpoint.get('after'))).toBe('x');
  for (let i = 0; i < 9; i++) expect(text(checkpoint.get(`k${i}`))).toBe(`v${i}`);
  // A table without the checkpoint sees the loss as a hole, never as data.
  const fresh = new Memtable();
  const again = await replay('/wal', fresh, { fs: sim });
  expect(again.stats.holes.at(-1)).toMatchObject({ nextSequence: 9 });
  expect(fresh.has('k5')).toBe(false);
  expect(text(fresh.get('after'))).toBe('x');
});

// The floor below the checkpoint (6 under 8): the writer issues 6, 7, 8
// again, and a replay from the checkpoint would skip them as entries it
// holds. Only the repair's record of where it continued the log tells.
async function floorTooLow(rotateAt: number | null, rot = unreadable) {
  const { sim, checkpoint } = await rottedAfterCheckpoint(rot);
  const done = await repair('/wal', { fs: sim, floor: 6 });
  expect(done).toMatchObject({ incident: 1, nextSequence: 6 });
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = 6; i <= 10; i++) {
    expect(await wal.put(`after${i}`, `x${i}`)).toBe(i);
    if (i === rotateAt) await wal.rotate();
  }
  await wal.close();
  return { sim, checkpoint };
}

test.each([
  ['without rotation', null],
  ['with the re-issued entries in a sealed segment wholly at or below the checkpoint', 8],
])(
  'a floor below the checkpoint, %s: replay over it refuses and changes nothing',
  async (_, rotateAt) => {
    const { sim, checkpoint } = await floorTooLow(rotateAt);
    const error = await replay('/wal', checkpoint, { fs: sim }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_SEQUENCE_REWOUND' });
    expect((error as Error).message).toContain('incident 1');
    expect(state(checkpoint)).toEqual({ lastSequence: 8, incident: null });
    expect(checkpoint.has('after9')).toBe(false);
    for (let i = 0; i < 9; i++) expect(text(checkpoint.get(`k${i}`))).toBe(`v${i}`);
  },
);

// Its segment number and log id rotted too, the segment was once set aside
// as another file: repair resolved without a floor, at 5, and the writer
// issued 5..8 again under the checkpoint.
test('a last segment whose whole header rotted is the same case: repair needs a floor, and one below the checkpoint is refused', async () => {
  const { sim } = await rottedAfterCheckpoint(headerGone);
  await expect(repair('/wal', { fs: sim })).rejects.toMatchObject({ code: 'WAL_CORRUPTION' });
  const { sim: again, checkpoint } = await floorTooLow(null, headerGone);
  await expect(replay('/wal', checkpoint, { fs: again })).rejects.toMatchObject({
    code: 'WAL_SEQUENCE_REWOUND',
  });
  expect(state(checkpoint)).toEqual({ lastSequence: 8, incident: null });
});

test('a table that replayed past the floor repair takes its incident, and its checkpoint replays on', async () => {
  const { sim } = await floorTooLow(null);
  const fresh = new Memtable();
  await replay('/wal', fresh, { fs: sim });
  expect(state(fresh)).toEqual({ lastSequence: 10, incident: 1 });
  for (let i = 6; i <= 10; i++) expect(text(fresh.get(`after${i}`))).toBe(`x${i}`);
  const { lastSequence, logId, incident } = fresh;
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  expect(await wal.put('later', 'y')).toBe(11);
  await wal.close();
  const restored = new Memtable({ lastSequence, logId, incident });
  expect(await replay('/wal', restored, { fs: sim })).toMatchObject({ applied: 1 });
  expect(text(restored.get('later'))).toBe('y');
  // The same checkpoint without its incident is refused: the repair is news to it.
  const forgetful = new Memtable({ lastSequence, logId });
  await expect(replay('/wal', forgetful, { fs: sim })).rejects.toMatchObject({
    code: 'WAL_SEQUENCE_REWOUND',
  });
});

test('a repair of mid-log damage under a checkpoint continues above it: replay accepts it and takes its incident', async () => {
  const sim = new SimFs();
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = 0; i < 9; i++) {
    await wal.put(`k${i}`, `v${i}`);
    if (i === 1 || i === 4) await wal.rotate();
  }
  const first = wal.file.replace(/\d{8}\.log$/, '00000001.log');
  await wal.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  // A key byte of k2, the first record of segment 1.
  const bytes = sim.readFile(first);
  const at = Buffer.from(bytes).indexOf('k2');
  sim.writeFile(first, flip(bytes, at));
  const done = await repair('/wal', { fs: sim });
  expect(done).toMatchObject({ incident: 1, nextSequence: 9 });
  const after = await Wal.open({ dir: '/wal', fs: sim });
  expect(await after.put('after', 'x')).toBe(9);
  await after.close();
  expect(await replay('/wal', checkpoint, { fs: sim })).toMatchObject({ applied: 1 });
  expect(state(checkpoint)).toEqual({ lastSequence: 9, incident: 1 });
  // Without a floor repair continued above all the log held: a checkpoint
  // kept without its incident still replays after it.
  const forgetful = new Memtable({ lastSequence: 9, logId: checkpoint.logId });
  expect(await replay('/wal', forgetful, { fs: sim })).toMatchObject({ applied: 0 });
  expect(state(forgetful)).toEqual({ lastSequence: 9, incident: 1 });
});

test('an unreadable manifest of a repair since the checkpoint is refused; one the table saw is not read for it', async () => {
  const { sim, checkpoint } = await rottedAfterCheckpoint();
  await repair('/wal', { fs: sim, floor: 9 });
  sim.writeFile('/wal/quarantine/1/manifest.json', Buffer.from('{"rotted'));
  const error = await replay('/wal', checkpoint, { fs: sim }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'WAL_SEQUENCE_REWOUND' });
  expect((error as Error).message).toContain('found the manifest of incident 1');
  expect(state(checkpoint)).toEqual({ lastSequence: 8, incident: null });
  const seen = new Memtable({ lastSequence: 8, logId: checkpoint.logId, incident: 1 });
  expect(await replay('/wal', seen, { fs: sim })).toMatchObject({ applied: 0 });
  expect(state(seen)).toEqual({ lastSequence: 8, incident: 1 });
});
