// A writer that fails in or around a rotation or a close: durableSequence
// follows every fdatasync that returned, so close and waitDurable tell the
// truth about what is on disk, and a rotation blocked by a hold deadlocks
// nothing.
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { openWal, readEntries, rejectsWith, simDisk } from './helpers.js';

const DIR = '/log';

describe('close of a failed writer', () => {
  test("'none': a rotation whose pre-seal sync succeeded and whose seal's sync failed: every accepted record is durable, so close resolves", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 0 });
    expect(await wal.put('a', '1')).toBe(0);
    expect(await wal.put('b', '2')).toBe(1);
    expect(wal.durableSequence).toBe(0);
    // The rotation's first fdatasync (what was written) succeeds; the second (the seal) fails.
    sim.inject({ ops: ['fdatasync'], nth: 2 });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    expect(wal.state).toBe('failed');
    // Both puts are on disk for sure: a power loss now keeps them.
    const keys = readEntries(DIR, simDisk(sim.crash())).map((e) => e.key);
    expect(keys).toEqual(['a', 'b']);
    await wal.close();
    expect(wal.durableSequence).toBe(2);
  });
});

async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function blockedSetup(sync: 'none' | 'interval' | 'always') {
  const sim = new SimFs();
  const wal = await openWal({ dir: DIR, fs: sim, sync, syncIntervalMs: 60_000 });
  await wal.put('a', 'x'.repeat(100));
  await wal.rotate();
  const one = sim.readFile(`${DIR}/wal_00000000.log`).length;
  const hold = wal.holdSegments(0, { maxBytes: one + 10 });
  await wal.put('b', 'x'.repeat(100));
  return { sim, wal, hold };
}

describe('blocked rotation: no deadlock', () => {
  test("close() called while the blocked rotation's sync runs: close and the rotation settle, all durable", async () => {
    const { sim, wal } = await blockedSetup('none');
    let closing: Promise<void> | undefined;
    sim.onOperation = (event) => {
      if (event.op !== 'fdatasync' || closing) return;
      closing = wal.close();
    };
    const rotation = wal.rotate();
    await settle();
    expect(closing).toBeDefined();
    await closing;
    await rotation;
    const keys = readEntries(DIR, simDisk(sim.crash())).map((e) => e.key);
    expect(keys).toEqual(['a', 'b']);
  });

  test('sync() behind a blocked rotation settles once close lets the rotation go on', async () => {
    const { wal } = await blockedSetup('none');
    const rotation = wal.rotate();
    const syncing = wal.sync();
    await settle();
    const closing = wal.close();
    await rotation;
    await syncing;
    await closing;
  });

  test("'none': the blocked rotation's sync fails: rotation and close reject (WAL_FAILED), close settles", async () => {
    const { sim, wal } = await blockedSetup('none');
    sim.inject({ ops: ['fdatasync'] });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    await rejectsWith(wal.close(), 'WAL_FAILED');
    await rejectsWith(wal.close(), 'WAL_FAILED');
    expect(wal.state).toBe('closed');
  });

  test("close() from a failing put's rejection handler ('always'): resolves (nothing accepted is lost)", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'always' });
    await wal.put('a', '1');
    sim.inject({ ops: ['fdatasync'] });
    let closing: Promise<void> | undefined;
    const p = wal.put('b', '2').catch((e) => {
      closing = wal.close();
      throw e;
    });
    const q = wal.put('c', '3');
    await rejectsWith(p, 'WAL_FAILED');
    await rejectsWith(q, 'WAL_FAILED');
    await closing;
    expect(wal.state).toBe('closed');
  });
});

describe('close whose own mark fails', () => {
  test("'none': every record was durable before, yet close reports the failed fdatasync of its mark (WAL_FAILED)", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 0 });
    await wal.put('a', '1');
    await wal.sync();
    expect(wal.durableSequence).toBe(1);
    sim.inject({ ops: ['fdatasync'] }); // the mark's sync
    await rejectsWith(wal.close(), 'WAL_FAILED');
    expect(wal.state).toBe('closed');
    expect(readEntries(DIR, simDisk(sim.crash())).map((e) => e.key)).toEqual(['a']);
  });
});

describe('waitDurable across a rotation that failed after its seal was synced', () => {
  test("'none': the next segment's creation fails after the seal's sync returned: waitDurable(0), waiting, resolves (sequence 0 is durable)", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 0 });
    expect(await wal.put('a', '1')).toBe(0);
    const waiting = wal.waitDurable(0);
    sim.inject({ ops: ['open'] }); // creating the next segment fails
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    expect(readEntries(DIR, simDisk(sim.crash())).map((e) => e.key)).toEqual(['a']);
    expect(wal.durableSequence).toBe(1);
    expect(await waiting).toBe(1); // the waiter is not rejected: its sequence is durable
  });
});

describe('close of a writer that fails while close waits', () => {
  async function failingCreation() {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 0 });
    expect(await wal.put('a', '1')).toBe(0);
    sim.inject({ ops: ['open'] }); // creating the next segment fails, after the seal's sync
    return { sim, wal };
  }

  test('close() after the failure resolves: the seal synced everything accepted', async () => {
    const { wal } = await failingCreation();
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    await wal.close();
  });

  test('close() called before the same failure settles the same way: resolves', async () => {
    const { sim, wal } = await failingCreation();
    const rotation = wal.rotate();
    const closing = wal.close();
    await rejectsWith(rotation, 'WAL_FAILED');
    expect(readEntries(DIR, simDisk(sim.crash())).map((e) => e.key)).toEqual(['a']);
    await closing;
  });
});
