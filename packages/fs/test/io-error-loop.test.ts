// SQLite's I/O error loop: fail the Nth file-system call, for N = 1, 2, 3...
// until the workload runs clean, once and then persistently. Every failure
// must surface as WAL_IO_ERROR, and a healthy reopen must show every
// acknowledged record, nothing that was never appended, and no gaps.
import fs from 'node:fs';
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import { append, puts, readEntries, tempDir } from './helpers.js';

interface Attempt {
  key: string;
  value: string;
  sequence?: number;
}

// A log with 3 records and a torn tail, so that open has a repair to make.
async function tornLog(dir: string): Promise<void> {
  const wal = await Wal.open({ dir, sync: 'none' });
  await append(wal, puts(3));
  const file = wal.path;
  await wal.close();
  fs.appendFileSync(file, Buffer.from([7, 0, 0]));
}

// Open (repairing the tail), appends that rotate, an explicit rotate, a batch, close.
async function workload(faulty: FaultyFs, dir: string, sync: 'always' | 'none') {
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
    wal = await Wal.open({ dir, fs: faulty.fs, sync, maxSegmentBytes: 400 });
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

function check(dir: string, attempts: Attempt[], errors: unknown[]): void {
  for (const error of errors) expect(error).toMatchObject({ code: 'WAL_IO_ERROR' });
  const entries = readEntries(dir);
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
}

describe.each([
  ['once', 1],
  ['persistently', Number.POSITIVE_INFINITY],
] as const)('the Nth file-system call fails %s', (_, times) => {
  test.each(['always', 'none'] as const)("sync: '%s'", async (sync) => {
    let faultsSeen = 0;
    for (let n = 1; ; n++) {
      const dir = tempDir();
      await tornLog(dir);
      const faulty = new FaultyFs();
      let call = 0;
      faulty.fail('*', n % 2 ? 'EIO' : 'ENOSPC', { times, when: () => ++call >= n });
      const { attempts, errors } = await workload(faulty, dir, sync);
      expect([...faulty.openHandles.values()], `n = ${n}`).toEqual([]);

      const reopened = await Wal.open(dir); // healthy: must open, whatever the fault did
      await reopened.close();
      check(dir, attempts, errors);
      if (faulty.calls.length < n) break; // the fault was never reached: done
      faultsSeen++;
    }
    expect(faultsSeen).toBeGreaterThan(50);
  });
});
