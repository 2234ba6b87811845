// The durable watermark: `wal.durableSequence` and `wal.waitDurable`. It
// moves only once a sync has returned, to what that sync covered, so a
// power loss right after any wakeup keeps every sequence below it.
import type { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { GatedFs, openWal, readEntries, rejectsWith, simDisk, until } from './helpers.js';

const DIR = '/log';

// The sequences a power loss at this instant keeps (the worst case: only what was synced).
function survivors(sim: SimFs): number[] {
  return readEntries(DIR, simDisk(sim.crash())).map((e) => e.sequence);
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("sync: 'always'", () => {
  test('passes a group only once its fdatasync has returned, before its appends resolve', async () => {
    const sim = new GatedFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    expect(wal.durableSequence).toBe(0);
    sim.hold = true;
    let resolved = false;
    const put = wal.put('a', '1').then((s) => {
      resolved = true;
      return s;
    });
    const woke: number[] = [];
    const wait = wal.waitDurable(0).then((durable) => {
      // A power loss right at the wakeup keeps everything below the watermark.
      woke.push(durable);
      expect(survivors(sim)).toEqual(upTo(durable));
      return durable;
    });
    await until(() => sim.waiting.length === 1, 'the fdatasync to start');
    // Written, not yet synced: the watermark has not moved, nothing woke.
    expect(wal.durableSequence).toBe(0);
    expect(woke).toEqual([]);
    expect(survivors(sim)).toEqual([]);
    sim.hold = false;
    sim.release();
    expect(await wait).toBe(1);
    expect(await put).toBe(0);
    expect(resolved).toBe(true);
    expect(wal.durableSequence).toBe(1);
  });

  test('a waiter for a later sequence sleeps through earlier groups', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    const wakes: number[] = [];
    const wait = wal.waitDurable(5).then((d) => wakes.push(d));
    for (let i = 0; i < 5; i++) await wal.put(`k${i}`, 'v');
    expect(wakes).toEqual([]);
    expect(wal.durableSequence).toBe(5);
    await wal.put('k5', 'v');
    await wait;
    expect(wakes).toEqual([6]);
    // Already durable: resolves at once with the watermark.
    expect(await wal.waitDurable(2)).toBe(6);
  });

  test('continues across a reopen: what open kept counts as durable', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none' });
    await wal.put('a', '1');
    await wal.put('b', '2');
    // Killed: the page cache keeps the unsynced records, and open syncs them.
    const next = sim.kill();
    await wal.close();
    const reopened = await openWal({ dir: DIR, fs: next });
    expect(reopened.durableSequence).toBe(2);
    expect(survivors(next)).toEqual([0, 1]);
  });
});

describe("sync: 'none' and 'interval'", () => {
  test("'none' moves only when sync() runs, to what it covered", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none' });
    await wal.put('a', '1');
    await wal.put('b', '2');
    expect(wal.durableSequence).toBe(0);
    expect(survivors(sim)).toEqual([]);
    const wait = wal.waitDurable(1);
    await wal.sync();
    expect(await wait).toBe(2);
    expect(survivors(sim)).toEqual([0, 1]);
    await wal.put('c', '3');
    expect(wal.durableSequence).toBe(2);
  });

  test("'none': rotate() and close() are syncs too", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'none' });
    await wal.put('a', '1');
    await wal.rotate();
    expect(wal.durableSequence).toBe(1);
    expect(survivors(sim)).toEqual([0]);
    await wal.put('b', '2');
    const wait = wal.waitDurable(1);
    await wal.close();
    expect(await wait).toBe(2);
    expect(survivors(sim)).toEqual([0, 1]);
  });

  test("'interval' moves when the interval's sync has run", async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim, sync: 'interval', syncIntervalMs: 5 });
    await wal.put('a', '1');
    const durable = await wal.waitDurable(0);
    expect(durable).toBe(1);
    expect(survivors(sim)).toEqual([0]);
  });
});

describe('ends and errors', () => {
  test('close() rejects waiters for sequences that will never be durable with WAL_CLOSED', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    await wal.put('a', '1');
    const wait = wal.waitDurable(1);
    await wal.close();
    const error = await rejectsWith(wait, 'WAL_CLOSED');
    expect(error.message).toMatch(/durable sequences end before 1/);
    await rejectsWith(wal.waitDurable(1), 'WAL_CLOSED');
    // What was durable still answers.
    expect(await wal.waitDurable(0)).toBe(1);
  });

  test('a failed fdatasync rejects waiters with WAL_FAILED and leaves the watermark', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await wal.put('a', '1');
    const wait = wal.waitDurable(1);
    sim.inject({ ops: ['fdatasync'] });
    await rejectsWith(wal.put('b', '2'), 'WAL_FAILED');
    await rejectsWith(wait, 'WAL_FAILED');
    expect(wal.durableSequence).toBe(1);
    await rejectsWith(wal.waitDurable(1), 'WAL_FAILED');
  });

  test('an aborted wait rejects with the reason and is forgotten', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    const controller = new AbortController();
    const wait = wal.waitDurable(0, controller.signal);
    controller.abort(new Error('stop'));
    await expect(wait).rejects.toThrow('stop');
    await expect(wal.waitDurable(0, AbortSignal.abort(new Error('early')))).rejects.toThrow(
      'early',
    );
    await wal.put('a', '1');
    expect(wal.durableSequence).toBe(1);
  });

  test('bad arguments are WAL_INVALID_ARGUMENT', async () => {
    const wal = await openWal({ dir: DIR, fs: new SimFs() });
    for (const bad of [-1, 1.5, Number.NaN, '3', 2 ** 53]) {
      await rejectsWith(wal.waitDurable(bad as number), 'WAL_INVALID_ARGUMENT');
    }
    await rejectsWith(wal.waitDurable(0, {} as AbortSignal), 'WAL_INVALID_ARGUMENT');
  });
});

// Random appends, syncs and rotations in every mode, with a reader that
// sleeps in waitDurable: at each wakeup, a power loss keeps every sequence
// below the watermark it was woken with.
test('property: a power loss at any wakeup keeps everything below the watermark', async () => {
  type Op = { kind: 'put'; n: number } | { kind: 'sync' } | { kind: 'rotate' };
  const op = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('put' as const),
        n: fc.integer({ min: 1, max: 6 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'rotate' as const }) },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('always', 'none', 'interval'),
      fc.array(op, { minLength: 1, maxLength: 25 }),
      async (sync, ops: Op[]) => {
        const sim = new SimFs();
        const wal: Wal = await openWal({
          dir: DIR,
          fs: sim,
          sync,
          syncIntervalMs: 1,
          maxSegmentBytes: 512,
        });
        const checked: number[] = [];
        let stop = false;
        const reader = (async () => {
          let next = 0;
          while (!stop) {
            let durable: number;
            try {
              durable = await wal.waitDurable(next);
            } catch {
              return;
            }
            expect(survivors(sim).slice(0, durable)).toEqual(upTo(durable));
            checked.push(durable);
            next = durable;
          }
        })();
        const pending: Promise<unknown>[] = [];
        for (const o of ops) {
          if (o.kind === 'put') {
            for (let i = 0; i < o.n; i++) pending.push(wal.put(`k${i}`, 'x'.repeat(20)));
          } else if (o.kind === 'sync') pending.push(wal.sync());
          else pending.push(wal.rotate());
          if (o.kind !== 'put') await Promise.all(pending);
        }
        await Promise.all(pending);
        await wal.close();
        stop = true;
        await reader;
        // Close synced everything: the reader saw the watermark reach the end.
        expect(checked.at(-1) ?? 0).toBe(wal.nextSequence);
        expect(checked).toEqual([...checked].sort((a, b) => a - b));
      },
    ),
    { numRuns: 40 },
  );
});
