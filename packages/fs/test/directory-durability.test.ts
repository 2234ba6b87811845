// Directory entries are durable only once their directory is fsynced. When
// that fsync failed, or never ran because the writer was killed between a
// rename (or mkdir) and the fsync, the next open must make the directory
// state it relies on durable before it acknowledges anything (issue 13).
// SimFs's crash() with no plan loses every unsynced directory entry.
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { readEntries, rejectsWith, segmentNames, simDisk } from './helpers.js';

// After a power loss the log opens and holds `key` at `sequence`.
async function expectSurvives(sim: SimFs, dir: string, key: string, sequence: number) {
  const image = sim.crash();
  const wal = await Wal.open({ dir, fs: image });
  const entries = readEntries(dir, simDisk(image));
  expect(entries.find((e) => e.key === key)?.sequence).toBe(sequence);
  expect(wal.nextSequence).toBe(sequence + 1);
  await wal.close();
}

describe("a rotation's directory fsync", () => {
  test('failed: the next open redoes it before acknowledging a put in the new segment', async () => {
    const sim = new SimFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim });
    expect(await wal.put('k0', 'v0')).toBe(0);
    const fault = sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    expect(fault.fired.map((f) => f.path)).toEqual([dir]);
    await wal.close();

    const again = await Wal.open({ dir, fs: sim });
    expect(again.segment).toBe(1); // renamed into place, but not durably
    expect(await again.put('k1', 'v1')).toBe(1);
    await again.close();
    expect(segmentNames(dir, simDisk(sim))).toEqual(['wal_00000000.log', 'wal_00000001.log']);
    await expectSurvives(sim, dir, 'k1', 1);
  });

  test('never ran (killed between the rename and the fsync): the next process redoes it', async () => {
    const sim = new SimFs();
    const dir = '/log';
    const wal = await Wal.open({ dir, fs: sim });
    expect(await wal.put('k0', 'v0')).toBe(0);
    let killed: SimFs | undefined;
    sim.onOperation = (event) => {
      if (event.op === 'rename' && !killed) killed = sim.kill();
    };
    await wal.rotate();
    sim.onOperation = undefined;
    const next = killed as SimFs;

    const again = await Wal.open({ dir, fs: next });
    expect(again.segment).toBe(1);
    expect(await again.put('k1', 'v1')).toBe(1);
    await again.close();
    await expectSurvives(next, dir, 'k1', 1);
  });
});

describe("the parent's fsync at first open", () => {
  test('failed: the next open makes the log directory itself durable', async () => {
    const sim = new SimFs();
    const dir = '/log';
    const fault = sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(Wal.open({ dir, fs: sim }), 'WAL_IO_ERROR');
    expect(fault.fired.map((f) => f.path)).toEqual(['/']);
    expect(sim.locks).toBe(0);

    const wal = await Wal.open({ dir, fs: sim });
    expect(await wal.put('k0', 'v0')).toBe(0);
    await wal.close();
    await expectSurvives(sim, dir, 'k0', 0);
  });

  test('never ran (killed after mkdir): the next process makes the log directory durable', async () => {
    const sim = new SimFs();
    const dir = '/log';
    let killed: SimFs | undefined;
    sim.onOperation = (event) => {
      if (event.op === 'mkdirp' && !killed) killed = sim.kill();
    };
    await (await Wal.open({ dir, fs: sim })).close();
    const next = killed as SimFs;

    const wal = await Wal.open({ dir, fs: next });
    expect(await wal.put('k0', 'v0')).toBe(0);
    await wal.close();
    await expectSurvives(next, dir, 'k0', 0);
  });

  // Open created /data and /data/log; the fsync of / (that makes /data
  // durable) failed. A second open finds /data/log and cannot tell that
  // /data was made by the first: every ancestor's entry must be durable.
  test('failed for a created grandparent: the next open makes the whole path durable', async () => {
    const sim = new SimFs();
    const dir = '/data/log';
    const fault = sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(Wal.open({ dir, fs: sim }), 'WAL_IO_ERROR');
    expect(fault.fired.map((f) => f.path)).toEqual(['/']);

    const wal = await Wal.open({ dir, fs: sim });
    expect(await wal.put('k0', 'v0')).toBe(0);
    await wal.close();
    await expectSurvives(sim, dir, 'k0', 0);
  });

  test('never ran for a created grandparent (killed after mkdir): the next process makes the whole path durable', async () => {
    const sim = new SimFs();
    const dir = '/data/log';
    let killed: SimFs | undefined;
    sim.onOperation = (event) => {
      if (event.op === 'mkdirp' && !killed) killed = sim.kill();
    };
    await (await Wal.open({ dir, fs: sim })).close();
    const next = killed as SimFs;

    const wal = await Wal.open({ dir, fs: next });
    expect(await wal.put('k0', 'v0')).toBe(0);
    await wal.close();
    await expectSurvives(next, dir, 'k0', 0);
  });
});
