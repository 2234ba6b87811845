// Segment holds: what an archiver or a reader still needs is kept from
// retention (truncateThrough, maxSegments) until the hold moves, and a byte
// bound blocks rotation or drops the hold, as the holder chose.
import type { WalError } from '@wal/codec';
import { WAL_FS_METHODS } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { wrapMethods } from '@wal/test-support';
import { describe, expect, test } from 'vitest';
import { openWal, readEntries, segmentNames, simDisk } from './helpers.js';

const DIR = '/log';

async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function sealedSegments(count: number, options: { maxSegments?: number } = {}) {
  const sim = new SimFs();
  const wal = await openWal({ dir: DIR, fs: sim, ...options });
  for (let i = 0; i < count; i++) {
    await wal.put(`k${i}`, 'v');
    await wal.rotate();
  }
  return { sim, wal, names: () => segmentNames(DIR, simDisk(sim)) };
}

const names = (...segments: number[]) =>
  segments.map((n) => `wal_${String(n).padStart(8, '0')}.log`);

describe('retention keeps what a hold keeps', () => {
  test('truncateThrough deletes only below the hold; after the hold advances, the next call goes on', async () => {
    const { wal, names: present } = await sealedSegments(4);
    const hold = wal.holdSegments(1);
    expect(await wal.truncateThrough(10)).toBe(1);
    expect(present()).toEqual(names(1, 2, 3, 4));
    hold.advance(3);
    expect(present()).toEqual(names(1, 2, 3, 4)); // nothing is deleted by advancing
    expect(await wal.truncateThrough(10)).toBe(2);
    expect(present()).toEqual(names(3, 4));
    hold.release();
    expect(hold.state).toBe('released');
    expect(await wal.truncateThrough(10)).toBe(1);
    expect(present()).toEqual(names(4));
  });

  test('a hold taken while retention is deleting keeps what exists: the deletions in flight finish, and a reader finds them gone (WAL_TRUNCATED)', async () => {
    let unlinking: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      unlinking = resolve;
    });
    let paused = 0;
    const sim = new SimFs();
    const gated = wrapMethods(sim, WAL_FS_METHODS, async (op, args, call) => {
      if (op === 'unlink') {
        paused++;
        await gate;
      }
      return call(...args);
    });
    const wal = await openWal({ dir: DIR, fs: gated });
    for (let i = 0; i < 3; i++) {
      await wal.put(`k${i}`, 'v');
      await wal.rotate();
    }
    const truncating = wal.truncateThrough(10);
    while (paused === 0) await settle(1);
    // Segment 0's unlink is in flight; the hold comes after it started.
    const hold = wal.holdSegments(0);
    const feed = wal.sealedSegments()[Symbol.asyncIterator]();
    unlinking?.();
    const deleted = await truncating;
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(segmentNames(DIR, simDisk(sim))).not.toContain(names(0)[0]);
    await expect(feed.next()).rejects.toMatchObject({ code: 'WAL_TRUNCATED' });
    hold.release();
  });

  test('the lowest of several holds counts; `using` releases', async () => {
    const { wal, names: present } = await sealedSegments(4);
    const late = wal.holdSegments(3);
    {
      using early = wal.holdSegments(1);
      expect(early.from).toBe(1);
      expect(await wal.truncateThrough(10)).toBe(1);
    }
    expect(await wal.truncateThrough(10)).toBe(2);
    expect(present()).toEqual(names(3, 4));
    late.release();
  });

  test('lossy maxSegments keeps held segments too', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, maxSegments: 2 });
    const hold = wal.holdSegments(0);
    for (let i = 0; i < 4; i++) {
      await wal.put(`k${i}`, 'v');
      await wal.rotate();
    }
    expect(segmentNames(DIR, simDisk(sim))).toEqual(names(0, 1, 2, 3, 4));
    hold.advance(2);
    expect(await wal.dropExcessSegments()).toBe(2);
    expect(segmentNames(DIR, simDisk(sim))).toEqual(names(2, 3, 4));
    hold.release();
    await wal.put('k', 'v');
    await wal.rotate(); // retention at rotation applies again
    expect(segmentNames(DIR, simDisk(sim))).toEqual(names(4, 5));
  });
});

describe('a byte bound', () => {
  test("'block': the rotation past the bound waits until the hold advances; appends behind it wait too", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', 'x'.repeat(100));
    await wal.rotate();
    const one = sim.readFile(`${DIR}/wal_00000000.log`).length;
    // Room for one such segment, not two.
    const hold = wal.holdSegments(0, { maxBytes: one + 10 });
    await wal.put('b', 'x'.repeat(100));
    let rotated = false;
    const rotation = wal.rotate().then(() => {
      rotated = true;
    });
    let appended = false;
    const append = wal.put('c', 'v').then(() => {
      appended = true;
    });
    await settle();
    expect(rotated).toBe(false);
    expect(appended).toBe(false);
    expect(wal.segment).toBe(1);
    hold.advance(1); // segment 0 is archived: room again
    await rotation;
    await append;
    expect(wal.segment).toBe(2);
    hold.release();
  });

  test.each(['none', 'interval'] as const)(
    "'block' under sync '%s': what was written before the blocked rotation is synced first, durability never waits for a reader",
    async (sync) => {
      const sim = new SimFs();
      const wal = await openWal({ dir: DIR, fs: sim, sync, syncIntervalMs: 60_000 });
      await wal.put('a', 'x'.repeat(100));
      await wal.rotate();
      const one = sim.readFile(`${DIR}/wal_00000000.log`).length;
      const hold = wal.holdSegments(0, { maxBytes: one + 10 });
      expect(await wal.put('b', 'x'.repeat(100))).toBe(1); // resolved, not synced
      expect(wal.durableSequence).toBe(1);
      const rotation = wal.rotate();
      await settle();
      expect(wal.segment).toBe(1); // still blocked
      expect(wal.durableSequence).toBe(2);
      expect(await wal.waitDurable(1)).toBe(2);
      const keys = readEntries(DIR, simDisk(sim.crash())).map((e) => e.key);
      expect(keys).toEqual(['a', 'b']);
      hold.advance(1);
      await rotation;
      hold.release();
    },
  );

  test("'block': a hold that moves while that sync runs lets the rotation go on", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none' });
    await wal.put('a', 'x'.repeat(100));
    await wal.rotate();
    const one = sim.readFile(`${DIR}/wal_00000000.log`).length;
    const hold = wal.holdSegments(0, { maxBytes: one + 10 });
    await wal.put('b', 'x'.repeat(100));
    sim.onOperation = (event) => {
      if (event.op !== 'fdatasync') return;
      sim.onOperation = undefined;
      hold.advance(1); // before the writer has seen its sync return
    };
    await wal.rotate();
    expect(wal.segment).toBe(2);
    hold.release();
  });

  test("'block' never holds up close()", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', 'x'.repeat(100));
    await wal.rotate();
    wal.holdSegments(0, { maxBytes: 200 });
    await wal.put('b', 'x'.repeat(100));
    const rotation = wal.rotate();
    await settle();
    await wal.close();
    await rotation;
    expect(segmentNames(DIR, simDisk(sim))).toEqual(names(0, 1, 2));
  });

  test("'error': the hold is dropped with WAL_HOLD_EXCEEDED and retention goes on", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    const dropped: WalError[] = [];
    const hold = wal.holdSegments(0, {
      maxBytes: 300,
      onExceeded: 'error',
      onDropped: (e) => dropped.push(e),
    });
    await wal.put('a', 'x'.repeat(100));
    await wal.rotate(); // nothing held yet: a segment larger than the bound still seals
    expect(hold.state).toBe('held');
    await wal.put('b', 'x'.repeat(100));
    await wal.rotate();
    await settle(1);
    expect(hold.state).toBe('dropped');
    expect(hold.error?.code).toBe('WAL_HOLD_EXCEEDED');
    expect(hold.error?.message).toMatch(/held from 0 to stay within 300 bytes/);
    expect(dropped).toEqual([hold.error]);
    expect(await wal.truncateThrough(10)).toBe(2);
    hold.advance(5); // a no-op once dropped
    expect(hold.from).toBe(0);
  });
});

test('bad arguments are WAL_INVALID_ARGUMENT; a closed writer WAL_CLOSED', async () => {
  const wal = await openWal({ dir: DIR, fs: new SimFs() });
  for (const [from, options] of [
    [-1, undefined],
    [0, { maxBytes: 0 }],
    [0, { maxBytes: 1.5 }],
    [0, { onExceeded: 'drop' }],
    [0, { onDropped: 1 }],
    [0, { bogus: 1 }],
  ] as const) {
    expect(() => wal.holdSegments(from, options as object)).toThrow(
      expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }),
    );
  }
  const hold = wal.holdSegments(2);
  expect(() => hold.advance(1)).toThrow(expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }));
  await wal.close();
  expect(() => wal.holdSegments(0)).toThrow(expect.objectContaining({ code: 'WAL_CLOSED' }));
});
