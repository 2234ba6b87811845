// Options, arguments, I/O errors, resources and the streaming contract.
import { CorruptionError, ErrorCode, type WalEntry, WalError } from '@wal/codec';
import { SimFs } from '@wal/fs/testing';
import {
  directoryTarget,
  readSegment,
  recover,
  repair,
  scanLog,
  tailLog,
  verify,
} from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { collect, LOG_ID, MODES, plain, put, puts, simLog } from './helpers.js';

describe('options are validated before any I/O', () => {
  const bad: [string, unknown][] = [
    ['unknown mode', { mode: 'lenient' }],
    ['negative fromSequence', { fromSequence: -1 }],
    ['fractional fromSequence', { fromSequence: 1.5 }],
    ['negative toSequence', { toSequence: -1 }],
    ['toSequence past 2^53 - 1', { toSequence: 2 ** 53 }],
    ['toSequence below fromSequence', { fromSequence: 5, toSequence: 2 }],
    ['negative limit', { limit: -1 }],
    ['fractional limit', { limit: 0.5 }],
    ['a signal that is not an AbortSignal', { signal: { aborted: false } }],
    ['an unknown ifMissing', { ifMissing: 'create' }],
    // Readers take the record limit from each segment's header: there is no option for it.
    ['maxRecordBytes (no longer an option)', { maxRecordBytes: 32 * 1024 * 1024 }],
    ['a typo', { moed: 'strict' }],
    ['an fs without methods', { fs: { read() {} } }],
    ['options that are not an object', 'strict'],
  ];
  test.each(bad)('%s', async (_, options) => {
    const sim = new SimFs();
    const opts = options as never;
    expect(() => scanLog('/wal', opts)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }),
    );
    expect(() => readSegment('/wal/wal_00000000.log', opts)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }),
    );
    await expect(recover('/wal', opts)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTIONS });
    expect(sim.operations).toBe(0);
  });

  test('an invalid option names the field and what was expected', () => {
    expect(() => scanLog('/wal', { limit: -1 })).toThrow(/limit/);
    expect(() => scanLog('/wal', { maxRecordBytes: 1 } as never)).toThrow(/maxRecordBytes/);
  });

  test('toSequence below fromSequence is refused with both bounds in the message, before any I/O', async () => {
    const { sim } = await simLog([puts(8)]);
    const before = sim.operations;
    const message =
      'expected valid scan options, found toSequence: expected a sequence of at least fromSequence (5), found the number 2';
    expect(() => scanLog('/wal', { fs: sim, fromSequence: 5, toSequence: 2 })).toThrow(message);
    await expect(recover('/wal', { fs: sim, fromSequence: 5, toSequence: 2 })).rejects.toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS, message }),
    );
    expect(() =>
      readSegment('/wal/wal_00000000.log', { fs: sim, fromSequence: 1, toSequence: 0 }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }));
    expect(sim.operations).toBe(before);
    // Equal bounds select one sequence.
    const one = await recover('/wal', { fs: sim, fromSequence: 5, toSequence: 5 });
    expect(one.entries.map((e) => e.sequence)).toEqual([5]);
  });

  test('verify takes only strict or tolerate-tail; repair only dryRun', async () => {
    await expect(verify('/wal', { mode: 'skip-corrupted' } as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTIONS,
    });
    await expect(verify('/wal', { maxRecordBytes: 100 } as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTIONS,
    });
    await expect(repair('/wal', { dryRun: 'yes' } as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTIONS,
    });
    await expect(repair('/wal', { mode: 'strict' } as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTIONS,
    });
  });

  test('the path must be a non-empty string', async () => {
    expect(() => scanLog('' as string)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => readSegment(7 as never)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    await expect(recover(42 as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(verify(undefined as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(repair('' as string)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });

  test('a path with a NUL byte is WAL_INVALID_ARGUMENT before any I/O, not an I/O error', async () => {
    const fs = new SimFs();
    const bad = '/wal\0x';
    const expected = {
      code: ErrorCode.INVALID_ARGUMENT,
      message: expect.stringContaining('without NUL bytes'),
    };
    expect(() => scanLog(bad, { fs })).toThrow(expect.objectContaining(expected));
    expect(() => readSegment(bad, { fs })).toThrow(expect.objectContaining(expected));
    expect(() => tailLog(bad, { fs })).toThrow(expect.objectContaining(expected));
    expect(() => directoryTarget(bad)).toThrow(expect.objectContaining(expected));
    await expect(recover(bad, { fs })).rejects.toMatchObject(expected);
    await expect(verify(bad, { fs })).rejects.toMatchObject(expected);
    await expect(repair(bad, { fs })).rejects.toMatchObject(expected);
    expect(fs.operations).toBe(0);
  });
});

describe('paths that are not logs', () => {
  test('a file where the directory should be is WAL_INVALID_ARGUMENT everywhere', async () => {
    const { sim } = await simLog([puts(1)]);
    const file = '/wal/wal_00000000.log';
    for (const mode of MODES) {
      await expect(recover(file, { fs: sim, mode })).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
      });
    }
    await expect(recover(`${file}/sub`, { fs: sim })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(verify(file, { fs: sim })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    await expect(repair(file, { fs: sim })).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
    expect(sim.locks).toBe(0);
    await expect(
      collect(readSegment('/wal', { fs: sim })).then((r) => r.error),
    ).resolves.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});

describe('I/O errors are never damage', () => {
  test.each(['EIO', 'EACCES'] as const)(
    '%s while reading is WAL_IO_ERROR with the errno error as cause',
    async (code) => {
      const { sim } = await simLog([puts(3), puts(3)]);
      sim.inject({ ops: ['read', 'open'], nth: 3, code });
      const scan = scanLog('/wal', { fs: sim, mode: 'skip-corrupted' });
      const { error } = await collect(scan);
      expect(error).toMatchObject({
        code: ErrorCode.IO_ERROR,
        cause: expect.objectContaining({ code }),
      });
      expect(scan.stats.damage).toEqual([]);
      expect(sim.openHandles).toBe(0);
    },
  );

  // SQLite's I/O error loop: fail the Nth call, N = 1, 2, ... until the
  // operation completes. Each run either fails with WAL_IO_ERROR or gives the
  // exact clean result; it never reports damage, and leaks no handle or lock.
  test.each([...MODES.map((m) => ['recover', m]), ['verify', ''], ['repair', '']])(
    'the I/O error loop: %s %s',
    async (what, mode) => {
      const { sim, log } = await simLog([puts(3), puts(3), puts(2)]);
      for (let n = 1; ; n++) {
        const fault = sim.inject({ nth: n, code: 'EIO' });
        let outcome: unknown;
        try {
          if (what === 'recover') {
            const r = await recover('/wal', { fs: sim, mode: mode as never });
            expect(r.entries.map(plain)).toEqual(log.entries);
            expect(r.stats).toMatchObject({ damage: [], holes: [], tornTail: null });
          } else if (what === 'verify') {
            expect((await verify('/wal', { fs: sim, mode: 'strict' })).ok).toBe(true);
          } else {
            expect((await repair('/wal', { fs: sim })).actions).toEqual([]);
          }
        } catch (error) {
          outcome = error;
        }
        sim.clearFaults();
        expect(sim.openHandles).toBe(0);
        expect(sim.locks).toBe(0);
        if (fault.fired.length === 0) {
          expect(outcome).toBeUndefined();
          expect(n).toBeGreaterThan(3);
          return;
        }
        // A failed close of a file already read (or synced) changes nothing: it is ignored.
        if (outcome === undefined) expect(fault.fired[0]?.op, `call ${n}`).toBe('close');
        else expect(outcome, `call ${n}`).toMatchObject({ code: ErrorCode.IO_ERROR });
      }
    },
  );
});

describe('the streaming contract', () => {
  test('breaking out early closes every file; stats describe what was returned', async () => {
    const { sim } = await simLog([puts(5), puts(5)]);
    const scan = scanLog('/wal', { fs: sim });
    let seen = 0;
    for await (const _ of scan) if (++seen === 3) break;
    expect(sim.openHandles).toBe(0);
    expect(scan.stats.entriesRecovered).toBe(3);
    expect(scan.stats.segmentsScanned).toBe(1);
  });

  test("stats.logId is the log's id; null for a missing log", async () => {
    const { sim } = await simLog([puts(2), puts(1)]);
    const scan = scanLog('/wal', { fs: sim });
    expect(scan.stats.logId).toBeNull();
    await collect(scan);
    expect(scan.stats.logId).toBe(LOG_ID);
    const missing = await recover('/none', { fs: sim, ifMissing: 'empty' });
    expect(missing.stats.logId).toBeNull();
  });

  test('a thrown corruption closes every file too', async () => {
    const { sim, log } = await simLog([puts(2), puts(2)]);
    await sim.unlink(log.segments[0]?.file as string);
    sim.writeFile('/wal/wal_00000002.log', new Uint8Array(64));
    await expect(recover('/wal', { fs: sim, mode: 'strict' })).rejects.toBeInstanceOf(
      CorruptionError,
    );
    expect(sim.openHandles).toBe(0);
  });

  test('a scan is iterated once, entry by entry or by batches', async () => {
    const { sim } = await simLog([puts(1)]);
    const scan = scanLog('/wal', { fs: sim });
    await collect(scan);
    expect(() => scan[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    expect(() => scan.batches()).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
    const other = scanLog('/wal', { fs: sim });
    other.batches();
    expect(() => other[Symbol.asyncIterator]()).toThrow(WalError);
  });

  test('entries are views into the chunk they were read from, and stay valid after it', async () => {
    const { sim, log } = await simLog([puts(3_000, 500)]);
    const { entries } = await recover('/wal', { fs: sim });
    // Views: neighbours share one read buffer; later reads did not overwrite it.
    expect(entries[0]?.key.buffer).toBe(entries[1]?.key.buffer);
    expect(entries[0]?.key.buffer).not.toBe(entries[2_999]?.key.buffer);
    expect(entries.map(plain)).toEqual(log.entries);
  });

  test('fromSequence returns entries from there on, reads no segment wholly below it', async () => {
    const { sim, log } = await simLog([
      puts(4),
      puts(4),
      [[put('x', '1'), put('y', '2'), put('z', '3')]],
      puts(2),
    ]);
    const opened: string[] = [];
    sim.onOperation = (e) => {
      if (e.op === 'read') opened.push(e.path);
    };
    const scan = scanLog('/wal', { fs: sim, fromSequence: 9 });
    const { entries } = await collect(scan);
    sim.onOperation = undefined;
    expect(entries).toEqual(log.entries.slice(9));
    expect(scan.stats).toMatchObject({
      segmentsScanned: 2,
      firstSequence: 0,
      nextSequence: 13,
      lastSequence: 12,
    });
    // Segments 0 and 1 had only their header and seal read (two small reads each).
    const small = (file: string) => opened.filter((p) => p === file).length;
    expect(small(log.segments[0]?.file as string)).toBe(2);
    expect(small(log.segments[1]?.file as string)).toBe(2);
    // Bytes passed over include the segments skipped, so every byte is accounted for.
    const skipped = (log.segments[0]?.bytes.length ?? 0) + (log.segments[1]?.bytes.length ?? 0);
    expect(scan.stats.bytesSkipped).toBe(skipped);
    const past = await recover('/wal', { fs: sim, fromSequence: 100 });
    expect(past).toMatchObject({ entries: [], nextSequence: 13, lastSequence: 12 });
  });
});

describe('toSequence, limit and signal', () => {
  const layout = () =>
    simLog([puts(3), [[put('a', '1'), put('b', '2'), put('c', '3')], [put('d', '4')]], puts(3)]);

  test('toSequence ends the scan after that sequence; the rest is not read', async () => {
    const { sim, log } = await layout();
    for (const to of [0, 2, 3, 4, 6, 9, 100]) {
      const scan = scanLog('/wal', { fs: sim, toSequence: to, mode: 'strict' });
      const { entries, error } = await collect(scan);
      expect(error, `to ${to}`).toBeUndefined();
      expect(entries, `to ${to}`).toEqual(log.entries.filter((e) => e.sequence <= to));
      expect(scan.stats.entriesRecovered).toBe(entries.length);
    }
    // With fromSequence: a window.
    const window = await recover('/wal', { fs: sim, fromSequence: 4, toSequence: 7 });
    expect(window.entries.map((e) => e.sequence)).toEqual([4, 5, 6, 7]);
    // Damage after toSequence is never reached, so strict does not refuse.
    const s2 = (await layout()).log.segments[2];
    const damaged = s2?.bytes.slice() as Uint8Array;
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0x20;
    sim.writeFile(s2?.file as string, damaged);
    await expect(
      recover('/wal', { fs: sim, mode: 'strict', toSequence: 6 }),
    ).resolves.toMatchObject({ stats: { damage: [] } });
    expect(sim.openHandles).toBe(0);
  });

  test('limit returns at most that many entries', async () => {
    const { sim, log } = await layout();
    for (const limit of [0, 1, 4, 5, 10, 11, 50]) {
      const r = await recover('/wal', { fs: sim, limit });
      expect(r.entries.map(plain), `limit ${limit}`).toEqual(log.entries.slice(0, limit));
      expect(r.stats.entriesRecovered).toBe(Math.min(limit, log.entries.length));
    }
    const from = await recover('/wal', { fs: sim, fromSequence: 5, limit: 2 });
    expect(from.entries.map((e) => e.sequence)).toEqual([5, 6]);
    expect(sim.openHandles).toBe(0);
  });

  test('an aborted signal rejects the scan with its reason and closes every file', async () => {
    const { sim } = await simLog([puts(3_000, 500), puts(10)]);
    const before = new AbortController();
    before.abort(new Error('stop now'));
    await expect(recover('/wal', { fs: sim, signal: before.signal })).rejects.toThrow('stop now');
    expect(sim.openHandles).toBe(0);

    const during = new AbortController();
    const scan = scanLog('/wal', { fs: sim, signal: during.signal });
    const seen: WalEntry[] = [];
    const outcome = await (async () => {
      for await (const e of scan) {
        seen.push(e);
        if (seen.length === 10) during.abort();
      }
    })().catch((e: unknown) => e);
    expect(outcome).toMatchObject({ name: 'AbortError' });
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThan(3_010);
    expect(sim.openHandles).toBe(0);
  });
});

describe('batches()', () => {
  test('yields whole batch records, in order, and never an empty array', async () => {
    // Big batches that cross the 1 MiB read chunks, small ones, and segments with no entries.
    const big = (p: string, n: number) =>
      Array.from({ length: n }, (_, i) => put(`${p}${i}`, 'x'.repeat(2_000)));
    const { sim, log } = await simLog([
      [big('a', 300), [put('b', '1')], big('c', 400)],
      [],
      { batches: [], mark: true, sealed: true },
      [[put('d', '2'), put('e', '3')], big('f', 600), [put('g', '4')]],
      [],
    ]);
    const batchStarts = new Set(
      log.segments.flatMap((s) => s.frames.map((f) => f.entries[0]?.sequence)),
    );
    const batchEnds = new Set(
      log.segments.flatMap((s) => s.frames.map((f) => f.entries.at(-1)?.sequence)),
    );
    const scan = scanLog('/wal', { fs: sim, mode: 'strict' });
    const got: WalEntry[] = [];
    let arrays = 0;
    for await (const batch of scan.batches()) {
      expect(batch.length).toBeGreaterThan(0);
      // Each array starts at a record's first entry and ends at a record's last.
      expect(batchStarts.has(batch[0]?.sequence)).toBe(true);
      expect(batchEnds.has(batch.at(-1)?.sequence)).toBe(true);
      got.push(...batch);
      arrays++;
    }
    expect(got.map(plain)).toEqual(log.entries);
    // More than one chunk was read: arrays are chunks, not the whole log.
    expect(arrays).toBeGreaterThan(1);
    expect(scan.stats.entriesRecovered).toBe(log.entries.length);
  });

  test('never an empty array for a log of holes, seals and marks only', async () => {
    const { sim } = await simLog([[{ hole: 4 }], [], { batches: [{ hole: 2 }], mark: true }]);
    const arrays: WalEntry[][] = [];
    const scan = scanLog('/wal', { fs: sim, mode: 'strict' });
    for await (const batch of scan.batches()) arrays.push(batch);
    expect(arrays).toEqual([]);
    expect(scan.stats).toMatchObject({ nextSequence: 6, lastSequence: null, damage: [] });
    expect(scan.stats.holes.map((h) => [h.firstSequence, h.nextSequence])).toEqual([
      [0, 4],
      [4, 6],
    ]);
  });
});

describe('readSegment', () => {
  test('reads one segment file: the last as the last of its log, a sealed one by its seal', async () => {
    const { sim, log } = await simLog([puts(3), puts(3)]);
    const last = readSegment('/wal/wal_00000001.log', { fs: sim, mode: 'strict' });
    expect((await collect(last)).entries).toEqual(log.entries.slice(3));
    expect(last.stats).toMatchObject({ nextSequence: 6, lastSequence: 5, firstSequence: 3 });
    const sealed = readSegment('/wal/wal_00000000.log', { fs: sim, mode: 'strict' });
    expect((await collect(sealed)).entries).toEqual(log.entries.slice(0, 3));
    expect(sealed.stats.nextSequence).toBe(3);
  });

  test('a copy under another number is refused; set-aside copies keep their number', async () => {
    const { sim, log } = await simLog([puts(3), puts(3)]);
    const bytes = log.segments[1]?.bytes as Uint8Array;
    sim.writeFile('/wal/wal_00000005.log', bytes);
    const swapped = readSegment('/wal/wal_00000005.log', { fs: sim, mode: 'skip-corrupted' });
    expect((await collect(swapped)).entries).toEqual([]);
    expect(swapped.stats.damage).toMatchObject([{ reason: 'bad-header', segment: 5 }]);
    // An incident copy and a .broken copy keep the segment's number in their name.
    await sim.mkdirp('/wal/quarantine/3');
    sim.writeFile('/wal/quarantine/3/wal_00000001.log', bytes);
    sim.writeFile('/wal/wal_00000001.log.broken.2', bytes);
    for (const file of ['/wal/quarantine/3/wal_00000001.log', '/wal/wal_00000001.log.broken.2']) {
      expect((await collect(readSegment(file, { fs: sim, mode: 'strict' }))).entries).toEqual(
        log.entries.slice(3),
      );
    }
  });

  test('a missing file is WAL_NOT_FOUND', async () => {
    const { sim } = await simLog([]);
    const { error } = await collect(readSegment('/wal/wal_00000009.log', { fs: sim }));
    expect(error).toMatchObject({ code: ErrorCode.NOT_FOUND });
    expect((error as Error).message).toContain('/wal/wal_00000009.log');
  });
});
