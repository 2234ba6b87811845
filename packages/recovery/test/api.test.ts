// Options, arguments, I/O errors, resources and the streaming contract.
import { CorruptionError, ErrorCode, WalError } from '@wal/codec';
import { SimFs } from '@wal/fs/testing';
import { readSegment, recover, repair, scanLog, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { collect, MODES, plain, put, puts, simLog } from './helpers.js';

describe('options are validated before any I/O', () => {
  const bad: [string, unknown][] = [
    ['unknown mode', { mode: 'lenient' }],
    ['negative fromSequence', { fromSequence: -1 }],
    ['fractional fromSequence', { fromSequence: 1.5 }],
    ['maxRecordBytes too small', { maxRecordBytes: 3 }],
    ['maxRecordBytes too large', { maxRecordBytes: 2 ** 31 }],
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
    expect(() => readSegment('/wal/wal_00000000.log', opts)).toThrow(WalError);
    await expect(recover('/wal', opts)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTIONS });
    expect(sim.operations).toBe(0);
  });

  test('verify takes only strict or tolerate-tail; repair only dryRun', async () => {
    await expect(verify('/wal', { mode: 'skip-corrupted' } as never)).rejects.toMatchObject({
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
    await expect(recover(42 as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(verify(undefined as never)).rejects.toMatchObject({
      code: ErrorCode.INVALID_ARGUMENT,
    });
  });
});

describe('paths that are not logs', () => {
  test('a file where the directory should be is WAL_INVALID_ARGUMENT everywhere', async () => {
    const { sim } = simLog([puts(1)]);
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
    await expect(
      collect(readSegment('/wal', { fs: sim })).then((r) => r.error),
    ).resolves.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});

describe('I/O errors are never damage', () => {
  test.each(['EIO', 'EACCES'] as const)(
    '%s while reading is WAL_IO_ERROR with the errno error as cause',
    async (code) => {
      const { sim } = simLog([puts(3), puts(3)]);
      sim.inject({ ops: ['read', 'open'], nth: 3, code });
      const scan = scanLog('/wal', { fs: sim, mode: 'skip-corrupted' });
      const { error } = await collect(scan);
      expect(error).toMatchObject({
        code: ErrorCode.IO_ERROR,
        cause: expect.objectContaining({ code }),
      });
      expect(scan.stats.corruptions).toEqual([]);
      expect(sim.openHandles).toBe(0);
    },
  );

  // SQLite's I/O error loop: fail the Nth call, N = 1, 2, ... until the
  // operation completes. Each run either fails with WAL_IO_ERROR or gives the
  // exact clean result; it never reports damage, and leaks no handle or lock.
  test.each([...MODES.map((m) => ['recover', m]), ['verify', ''], ['repair', '']])(
    'the I/O error loop: %s %s',
    async (what, mode) => {
      const { sim, log } = simLog([puts(3), puts(3), puts(2)]);
      for (let n = 1; ; n++) {
        const fault = sim.inject({ nth: n, code: 'EIO' });
        let outcome: unknown;
        try {
          if (what === 'recover') {
            const r = await recover('/wal', { fs: sim, mode: mode as never });
            expect(r.entries.map(plain)).toEqual(log.entries);
            expect(r.stats).toMatchObject({ corruptions: [], gaps: [], tornTail: null });
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
  test('breaking out early closes every file; stats describe what was read', async () => {
    const { sim } = simLog([puts(5), puts(5)]);
    const scan = scanLog('/wal', { fs: sim });
    let seen = 0;
    for await (const _ of scan) if (++seen === 3) break;
    expect(sim.openHandles).toBe(0);
    expect(scan.stats.entriesRecovered).toBe(3);
    expect(scan.stats.segmentsScanned).toBe(1);
  });

  test('a thrown corruption closes every file too', async () => {
    const { sim, log } = simLog([puts(2), puts(2)]);
    sim.unlink(log.segments[0]?.file as string);
    sim.writeFile('/wal/wal_00000002.log', new Uint8Array(64));
    await expect(recover('/wal', { fs: sim, mode: 'strict' })).rejects.toBeInstanceOf(
      CorruptionError,
    );
    expect(sim.openHandles).toBe(0);
  });

  test('a scan is iterated once', async () => {
    const { sim } = simLog([puts(1)]);
    const scan = scanLog('/wal', { fs: sim });
    await collect(scan);
    expect(() => scan[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });

  test('entries are views into the chunk they were read from, and stay valid after it', async () => {
    const { sim, log } = simLog([puts(3_000, 500)]);
    const { entries } = await recover('/wal', { fs: sim });
    // Views: neighbours share one read buffer; later reads did not overwrite it.
    expect(entries[0]?.key.buffer).toBe(entries[1]?.key.buffer);
    expect(entries[0]?.key.buffer).not.toBe(entries[2_999]?.key.buffer);
    expect(entries.map(plain)).toEqual(log.entries);
  });

  test('fromSequence returns entries from there on, reads no segment wholly below it', async () => {
    const { sim, log } = simLog([
      puts(4),
      puts(4),
      [[put('x', '1'), put('y', '2'), put('z', '3')]],
      puts(2),
    ]);
    const scan = scanLog('/wal', { fs: sim, fromSequence: 9 });
    const { entries } = await collect(scan);
    expect(entries).toEqual(log.entries.slice(9));
    expect(scan.stats).toMatchObject({ segmentsScanned: 2, nextSequence: 13, lastSequence: 12 });
    const past = await recover('/wal', { fs: sim, fromSequence: 100 });
    expect(past).toMatchObject({ entries: [], nextSequence: 13, lastSequence: 12 });
  });

  test('an intact record above maxRecordBytes is refused in every mode, never dropped as a tail', async () => {
    const { sim } = simLog([[[put('a', 'b')], [put('k', 'v'.repeat(200))]]]);
    for (const mode of MODES) {
      await expect(recover('/wal', { fs: sim, mode, maxRecordBytes: 100 })).rejects.toMatchObject({
        code: ErrorCode.RECORD_TOO_LARGE,
        message: expect.stringContaining('maxRecordBytes >= 223'),
      });
    }
    // A damaged length that large is damage, as usual.
    const bytes = sim.readFile('/wal/wal_00000000.log');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    sim.writeFile('/wal/wal_00000000.log', bytes);
    const r = await recover('/wal', { fs: sim, maxRecordBytes: 100 });
    expect(r.stats.tornTail).toMatchObject({ reason: 'bad-length' });
  });
});

describe('readSegment', () => {
  test('reads one segment file, as the last segment of its log', async () => {
    const { sim, log } = simLog([puts(3), puts(3)]);
    const { entries } = await collect(
      readSegment('/wal/wal_00000001.log', { fs: sim, mode: 'strict' }),
    );
    expect(entries).toEqual(log.entries.slice(3));
  });

  test('a copy under another number is a swapped segment; a quarantined copy keeps its number', async () => {
    const { sim, log } = simLog([puts(3), puts(3)]);
    const bytes = log.segments[1]?.bytes as Uint8Array;
    sim.writeFile('/wal/wal_00000005.log', bytes);
    const swapped = readSegment('/wal/wal_00000005.log', { fs: sim, mode: 'skip-corrupted' });
    expect((await collect(swapped)).entries).toEqual([]);
    expect(swapped.stats.gaps).toMatchObject([{ kind: 'swapped', segment: 5 }]);
    sim.writeFile('/wal/wal_00000001.log.3', bytes);
    expect(
      (await collect(readSegment('/wal/wal_00000001.log.3', { fs: sim, mode: 'strict' }))).entries,
    ).toEqual(log.entries.slice(3));
  });

  test('a missing file is WAL_IO_ERROR', async () => {
    const { sim } = simLog([]);
    const { error } = await collect(readSegment('/wal/wal_00000009.log', { fs: sim }));
    expect(error).toMatchObject({
      code: ErrorCode.IO_ERROR,
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });
});
