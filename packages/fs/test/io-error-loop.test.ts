// SQLite's I/O error loop: fail the Nth file-system call, for N = 1, 2, 3...
// until the workload runs clean, once and then persistently. Every failure
// must surface as WAL_IO_ERROR (the log survived it) or WAL_FAILED (the
// writer must be reopened), and a healthy reopen must show every
// acknowledged record, nothing that was never appended, and no gaps.
// On the real disk through FaultyFs, and on SimFs in every sync mode, where
// a failed fdatasync loses its pages and a power loss follows the restart:
// what the healthy reopen and close leave must all be durable.
import fs from 'node:fs';
import { type SyncMode, Wal, type WalFs } from '@wal/fs';
import { type FsOp, SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import { append, concat, type Disk, puts, readEntries, simDisk, tempDir } from './helpers.js';

interface Attempt {
  key: string;
  value: string;
  sequence?: number;
}

// Open (repairing the torn tail), appends that rotate, an explicit rotate, a sync, close.
async function workload(fs: WalFs, dir: string, sync: SyncMode) {
  const attempts: Attempt[] = [];
  const errors: unknown[] = [];
  const attempt = (wal: Wal, key: string, value: string) => {
    const a: Attempt = { key, value };
    attempts.push(a);
    return wal.put(key, value).then(
      (sequence) => {
        a.sequence = sequence;
      },
      (error) => errors.push(error),
    );
  };
  let wal: Wal;
  try {
    wal = await Wal.open({ dir, fs, sync, maxSegmentBytes: 400 });
  } catch (error) {
    return { attempts, errors: [error] };
  }
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => attempt(wal, `r${round}-${i}`, 'v'.repeat(i * 20))),
    );
    if (round === 1) await wal.rotate().catch((error) => errors.push(error));
    if (round === 2) await wal.sync().catch((error) => errors.push(error));
  }
  await wal.close().catch((error) => errors.push(error));
  return { attempts, errors };
}

function check(dir: string, disk: Disk | undefined, attempts: Attempt[], errors: unknown[]) {
  for (const error of errors) {
    expect((error as { code?: string }).code).toBeOneOf(['WAL_IO_ERROR', 'WAL_FAILED']);
  }
  const entries = readEntries(dir, disk);
  expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
  expect(entries.slice(0, 3)).toEqual(puts(3)); // the log's records before the workload
  const appended = entries.slice(3);
  // Nothing that was not appended, nothing twice, in append order.
  const order = attempts.map((a) => a.key);
  const positions = appended.map((e) => order.indexOf(e.key));
  expect(positions.every((p) => p >= 0)).toBe(true);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  for (const e of appended) expect(e.value).toBe(attempts[order.indexOf(e.key)]?.value);
  // Every acknowledged record, at the sequence it was acknowledged with.
  for (const a of attempts.filter((a) => a.sequence !== undefined)) {
    expect(entries[a.sequence as number]).toEqual({
      sequence: a.sequence,
      type: 'put',
      key: a.key,
      value: a.value,
    });
  }
  return entries;
}

// Three records, closed (by a writer that preallocates nothing, so the file
// ends at the close mark), then a torn tail after the close mark.
const TEAR = Buffer.from([7, 0, 0]);

// FaultyFs stands between the writer and node:fs, so the real disk adds no
// failure modes of its own here: failing once is enough.
test("the Nth file-system call fails once, on the real disk (sync: 'always')", async () => {
  let faultsSeen = 0;
  for (let n = 1; ; n++) {
    const dir = tempDir();
    const seed = await Wal.open({ dir, sync: 'none', preallocateBytes: 0 });
    await append(seed, puts(3));
    await seed.close();
    fs.appendFileSync(seed.file, TEAR);
    const faulty = new FaultyFs();
    let call = 0;
    faulty.fail('*', n % 2 ? 'EIO' : 'ENOSPC', { when: () => ++call >= n });
    const { attempts, errors } = await workload(faulty.fs, dir, 'always');
    expect([...faulty.openHandles.values()], `n = ${n}`).toEqual([]);

    const reopened = await Wal.open(dir); // healthy: must open, whatever the fault did
    await reopened.close();
    check(dir, undefined, attempts, errors);
    if (faulty.calls.length < n) break; // the fault was never reached: done
    faultsSeen++;
  }
  expect(faultsSeen).toBeGreaterThan(50);
});

describe.each([
  ['once', 1],
  ['persistently', Number.POSITIVE_INFINITY],
] as const)('the Nth file-system call fails %s', (_, times) => {
  test.each(['always', 'interval', 'none'] as const)(
    "on SimFs, with a power loss after the restart (sync: '%s')",
    async (sync) => {
      const dir = '/log';
      let faultsSeen = 0;
      for (let n = 1; ; n++) {
        const sim = new SimFs();
        const seed = await Wal.open({ dir, fs: sim, sync: 'none', preallocateBytes: 0 });
        await append(seed, puts(3));
        await seed.close();
        sim.writeFile(seed.file, concat(sim.readFile(seed.file), TEAR));
        const pick = (_: FsOp, plausible: readonly string[]) =>
          (plausible.includes('EIO') && n % 2 ? 'EIO' : plausible[0]) as 'EIO';
        const fault = sim.inject({ nth: n, persistent: times > 1, code: pick });
        const { attempts, errors } = await workload(sim, dir, sync);
        sim.clearFaults();
        expect(sim.openHandles, `n = ${n}`).toBe(0);
        expect(sim.locks, `n = ${n}`).toBe(0);

        const reopened = await Wal.open({ dir, fs: sim }); // healthy: must open
        await reopened.close();
        const entries = check(dir, simDisk(sim), attempts, errors);
        // The healthy open synced what it found and close marked it: a power
        // loss now must not take anything.
        const image = sim.crash();
        const after = await Wal.open({ dir, fs: image }).catch((error: Error) => {
          throw new Error(`n = ${n}, ${fault.fired[0]?.op}: ${error.message}`);
        });
        expect(readEntries(dir, simDisk(image)), `n = ${n}`).toEqual(entries);
        await after.close();
        if (fault.fired.length === 0) break; // the fault was never reached: done
        faultsSeen++;
      }
      expect(faultsSeen).toBeGreaterThan(50);
    },
  );
});
