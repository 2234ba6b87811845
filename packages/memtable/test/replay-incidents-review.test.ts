// Review of replay's check of repair incidents (a floor repair at or below
// a checkpoint's lastSequence is refused): the cases that hold.
import { WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { listIncidents, repair } from '@wal/recovery';
import { wrapMethods } from '@wal/test-support';
import { expect, test } from 'vitest';
import { nineEntries, state, text, unreadable } from './floor-repair.js';

// Magic, salt and the first frame's length: no frame of the segment reads.
function rot(sim: SimFs, file: string): void {
  sim.writeFile(file, unreadable(sim.readFile(file)));
}

/** k0..k8 in /wal, segments [0,1] [2,3,4] [5..8], and a table checkpointed at 8. */
async function checkpointed(sim = new SimFs()) {
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  const last = await nineEntries(wal);
  await wal.close();
  const checkpoint = new Memtable();
  await replay('/wal', checkpoint, { fs: sim });
  expect(checkpoint.lastSequence).toBe(8);
  return { sim, last, checkpoint, logId: wal.logId };
}

async function write(sim: SimFs, from: number, to: number, prefix = 'n'): Promise<string> {
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = from; i <= to; i++) expect(await wal.put(`${prefix}${i}`, `x${i}`)).toBe(i);
  const file = wal.file;
  await wal.close();
  return file;
}

// Snapshots compared by bytes (deep equality of 1 MiB segments is slow).
function sameDisk(a: Map<string, Uint8Array | null>, b: Map<string, Uint8Array | null>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, bytes] of a) {
    const other = b.get(name) ?? null;
    const equal =
      bytes === null ? other === null : other !== null && Buffer.from(bytes).equals(other);
    expect(equal, name).toBe(true);
  }
}

const restore = (t: Memtable) =>
  new Memtable({ lastSequence: t.lastSequence, logId: t.logId, incident: t.incident });

test('a dry run of a floor repair below the checkpoint leaves no incident; the real repair from the right floor replays', async () => {
  const { sim, last, checkpoint } = await checkpointed();
  rot(sim, last);
  const before = sim.snapshot();
  expect(await repair('/wal', { fs: sim, floor: 6, dryRun: true })).toMatchObject({
    incident: 1,
    nextSequence: 6,
  });
  sameDisk(sim.snapshot(), before);
  expect(await listIncidents('/wal', { fs: sim })).toEqual([]);
  expect(await repair('/wal', { fs: sim, floor: 9 })).toMatchObject({ incident: 1 });
  await write(sim, 9, 10);
  expect(await replay('/wal', checkpoint, { fs: sim })).toMatchObject({ applied: 2 });
  expect(state(checkpoint)).toEqual({ lastSequence: 10, incident: 1 });
});

test('repeated floor repairs: a good one the table saw, then one too low for it, is refused; an older checkpoint is refused too', async () => {
  const { sim, last, checkpoint } = await checkpointed();
  const old = restore(checkpoint);
  rot(sim, last);
  await repair('/wal', { fs: sim, floor: 9 });
  const tail = await write(sim, 9, 11);
  await replay('/wal', checkpoint, { fs: sim });
  expect(state(checkpoint)).toEqual({ lastSequence: 11, incident: 1 });
  const seen = restore(checkpoint);
  // The second loss: floor 10 is at or below the table's 11, above the old 8.
  rot(sim, tail);
  expect(await repair('/wal', { fs: sim, floor: 10 })).toMatchObject({ incident: 2 });
  await write(sim, 10, 14, 'm');
  const error = await replay('/wal', seen, { fs: sim }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'WAL_SEQUENCE_REWOUND' });
  expect((error as Error).message).toContain('incident 2');
  expect(state(seen)).toEqual({ lastSequence: 11, incident: 1 });
  // The checkpoint at 8 (incident null): incident 1 continued above it, 2
  // at 10 is above it as well: the re-issued 10, 11 are news to it.
  expect(await replay('/wal', old, { fs: sim })).toMatchObject({ applied: 5 });
  expect(text(old.get('m10'))).toBe('x10');
  expect(state(old)).toEqual({ lastSequence: 14, incident: 2 });
});

test("another log's floor repair in the same directory neither refuses this log's checkpoint nor becomes its incident", async () => {
  const { sim, last } = await checkpointed();
  rot(sim, last);
  await repair('/wal', { fs: sim, floor: 3 });
  // The log is dropped (segments removed, quarantine kept) and a new one begins.
  for (const name of await sim.readdir('/wal'))
    if (name.endsWith('.log')) await sim.unlink(`/wal/${name}`);
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = 0; i < 6; i++) await wal.put(`b${i}`, `y${i}`);
  await wal.close();
  const fresh = new Memtable();
  await replay('/wal', fresh, { fs: sim });
  expect(fresh.logId).toBe(wal.logId);
  expect(state(fresh)).toEqual({ lastSequence: 5, incident: null });
  const more = await Wal.open({ dir: '/wal', fs: sim });
  await more.put('b6', 'y6');
  await more.close();
  const checkpoint = new Memtable({ lastSequence: 5, logId: wal.logId });
  expect(await replay('/wal', checkpoint, { fs: sim })).toMatchObject({ applied: 1 });
  expect(state(checkpoint)).toEqual({ lastSequence: 6, incident: null });
});

test('a table without a checkpoint replays any incidents and takes the highest; a checkpoint with a higher incident keeps it', async () => {
  const { sim, last, logId } = await checkpointed();
  rot(sim, last);
  // A floor below where the readable segments end only lets them decide (5).
  expect(await repair('/wal', { fs: sim, floor: 2 })).toMatchObject({ nextSequence: 5 });
  await write(sim, 5, 7);
  const fresh = new Memtable();
  await replay('/wal', fresh, { fs: sim });
  expect(state(fresh)).toEqual({ lastSequence: 7, incident: 1 });
  expect(text(fresh.get('n5'))).toBe('x5');
  expect(fresh.has('k5')).toBe(false);
  const ahead = new Memtable({ lastSequence: 7, logId, incident: 7 });
  await replay('/wal', ahead, { fs: sim });
  expect(state(ahead)).toEqual({ lastSequence: 7, incident: 7 });
});

test('retention after a floor repair below the checkpoint: replay over it still refuses', async () => {
  const { sim, last, checkpoint } = await checkpointed();
  rot(sim, last);
  await repair('/wal', { fs: sim, floor: 6 });
  const wal = await Wal.open({ dir: '/wal', fs: sim });
  for (let i = 6; i < 16; i++) {
    await wal.put(`a${i}`, `x${i}`);
    if (i % 3 === 0) await wal.rotate();
  }
  await wal.truncateThrough(12);
  await wal.close();
  await expect(replay('/wal', checkpoint, { fs: sim })).rejects.toMatchObject({
    code: 'WAL_SEQUENCE_REWOUND',
  });
  expect(state(checkpoint)).toEqual({ lastSequence: 8, incident: null });
});

// A floor repair below the checkpoint that fails at its nth file-system call
// and then loses power (worst case: only what was synced). Whatever it left,
// once the log is repaired and written again, replay from the checkpoint is
// refused: the manifest is durable before the log changes. (Also random
// crash states, seeded by n.)
test('a floor repair that fails at any step and crashes never lets the checkpoint skip the re-issued entries', async () => {
  let completed = false;
  let refused = 0;
  for (let n = 1; !completed; n++) {
    const { sim, last, checkpoint } = await checkpointed();
    rot(sim, last);
    const fault = sim.inject({ nth: n });
    const first = await repair('/wal', { fs: sim, floor: 6 }).then(
      () => true,
      () => false,
    );
    completed = first && !fault.armed;
    fault.disarm();
    for (const after of [sim.crash(), sim.kill(), sim.crash(n), sim.crash(n + 1000)]) {
      const opened = await Wal.open({ dir: '/wal', fs: after }).then(
        (w) => w,
        () => null,
      );
      if (opened) await opened.close();
      else await repair('/wal', { fs: after, floor: 6 });
      const wal = await Wal.open({ dir: '/wal', fs: after });
      const at = await wal.put('after', 'x');
      for (let i = 0; i < 4; i++) await wal.put(`more${i}`, 'y');
      await wal.close();
      if (at > 8) continue; // the log never went back below the checkpoint
      const table = restore(checkpoint);
      const error = await replay('/wal', table, { fs: after }).catch((e: unknown) => e);
      expect(error, `fault at call ${n}`).toMatchObject({ code: 'WAL_SEQUENCE_REWOUND' });
      expect(state(table)).toEqual({ lastSequence: 8, incident: null });
      refused++;
    }
    expect(n).toBeLessThan(500);
  }
  expect(refused).toBeGreaterThan(10);
});

test('a repair that died before its manifest leaves a folder listIncidents skips, and the next repair takes the next number', async () => {
  const { sim, last, checkpoint } = await checkpointed();
  rot(sim, last);
  const failing = wrapMethods(sim as WalFs, WAL_FS_METHODS, async (method, args, call) => {
    if (method === 'open' && String(args[0]).includes('manifest')) {
      throw Object.assign(new Error('ENOSPC: open'), { code: 'ENOSPC' });
    }
    return call(...args);
  });
  await expect(repair('/wal', { fs: failing, floor: 9 })).rejects.toMatchObject({
    code: 'WAL_IO_ERROR',
  });
  expect(await listIncidents('/wal', { fs: sim })).toEqual([]);
  expect(await repair('/wal', { fs: sim, floor: 9 })).toMatchObject({ incident: 2 });
  await write(sim, 9, 9);
  expect(await replay('/wal', checkpoint, { fs: sim })).toMatchObject({ applied: 1 });
  expect(state(checkpoint)).toEqual({ lastSequence: 9, incident: 2 });
});

test.each([0, -1, 1.5, '1', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, {}, true])(
  'the incident option %s is WAL_INVALID_OPTIONS',
  (incident) => {
    expect(() => new Memtable({ incident } as never)).toThrow(
      expect.objectContaining({ code: 'WAL_INVALID_OPTIONS' }),
    );
  },
);

test('incident without a checkpoint is kept and ignored by the check', async () => {
  const { sim, last } = await checkpointed();
  rot(sim, last);
  await repair('/wal', { fs: sim, floor: 3 });
  const table = new Memtable({ incident: 5 });
  expect(table.incident).toBe(5);
  await replay('/wal', table, { fs: sim });
  expect(state(table)).toEqual({ lastSequence: 4, incident: 5 });
});

test('a floor on a log whose last segment reads only raises nextSequence: not fromFloor, and the checkpoint replays', async () => {
  const { sim, checkpoint } = await checkpointed();
  expect(await repair('/wal', { fs: sim, floor: 20 })).toMatchObject({
    incident: 1,
    nextSequence: 20,
  });
  expect(await listIncidents('/wal', { fs: sim })).toMatchObject([
    { incident: 1, nextSequence: 20, fromFloor: false },
  ]);
  await write(sim, 20, 21);
  expect(await replay('/wal', restore(checkpoint), { fs: sim })).toMatchObject({ applied: 2 });
  expect(await replay('/wal', checkpoint, { fs: sim })).toMatchObject({ applied: 2 });
  expect(state(checkpoint)).toEqual({ lastSequence: 21, incident: 1 });
});
