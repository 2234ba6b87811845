// Faults through the injectable fs. A failed fdatasync poisons the writer:
// `state: 'failed'`, `failure` set, and every call rejects with WAL_FAILED
// (reopen) until it is closed. A failed write is cut away without consuming
// its sequence and leaves the writer open (WAL_IO_ERROR: retry). close()
// after a fault still releases the lock and every handle.
import fs from 'node:fs';
import path from 'node:path';
import { encodeBatchFrame } from '@wal/codec';
import { nodeFs, WAL_FS_METHODS, Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import {
  append,
  framesOf,
  openWal,
  puts,
  readEntries,
  readSegments,
  rejectsWith,
  rootCode,
  simDisk,
  tempDir,
  until,
} from './helpers.js';

// Nothing left open, and the lock is free: another writer could take it.
async function expectReleased(dir: string, faulty: FaultyFs): Promise<void> {
  expect([...faulty.openHandles.values()]).toEqual([]);
  if (!fs.existsSync(dir)) return;
  const release = await nodeFs.lock(dir);
  await release();
}

// Every call a failed writer refuses, each with WAL_FAILED.
function everyCall(wal: Wal): [string, Promise<unknown>][] {
  return [
    ['put', wal.put('d', '4')],
    ['delete', wal.delete('d')],
    ['batch', wal.batch([{ type: 'put', key: 'e', value: '5' }])],
    ['sync', wal.sync()],
    ['rotate', wal.rotate()],
    ['truncateThrough', wal.truncateThrough(0)],
    ['dropExcessSegments', wal.dropExcessSegments()],
    ['totalSize', wal.totalSize()],
  ];
}

async function expectFailedCalls(wal: Wal, errno: string): Promise<void> {
  for (const [what, call] of everyCall(wal)) {
    const error = await rejectsWith(call, 'WAL_FAILED');
    expect(error.message, what).toContain('reopen');
    expect(error.cause, what).toBe(wal.failure);
    expect(rootCode(error), what).toBe(errno);
  }
}

describe('a failed fdatasync poisons the writer', () => {
  test("state 'failed', failure set, every call rejects WAL_FAILED until reopen; nothing acknowledged is lost", async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    await append(wal, puts(2));
    expect(wal.state).toBe('open');
    expect(wal.failure).toBeUndefined();

    faulty.fail('fdatasync', 'EIO');
    const batch = [wal.put('a', '1'), wal.put('b', '2'), wal.delete('c')];
    for (const pending of batch) {
      const error = await rejectsWith(pending, 'WAL_FAILED');
      expect(error.cause).toBe(wal.failure);
    }
    expect(wal.state).toBe('failed');
    expect(wal.failure).toMatchObject({ code: 'WAL_IO_ERROR' });
    expect(wal.failure?.message).toContain('fdatasync');
    expect(wal.failure?.message).toContain(wal.file);
    expect(rootCode(wal.failure)).toBe('EIO');

    faulty.heal(); // a retry would now succeed: it must not be attempted
    const syncs = faulty.count('fdatasync');
    await expectFailedCalls(wal, 'EIO');
    expect(faulty.count('fdatasync')).toBe(syncs);
    expect(wal.nextSequence).toBe(2);
    expect(wal.state).toBe('failed');

    await wal.close(); // nothing left to promise: close releases without a sync
    expect(wal.state).toBe('closed');
    await expectReleased(dir, faulty);
    const reopened = await openWal(dir);
    // The acknowledged records are there. The rejected ones were written
    // before the failed sync, so they may be too: rejected is "not known durable".
    const entries = readEntries(dir);
    expect(entries.slice(0, 2)).toEqual(puts(2));
    expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
    expect(reopened.nextSequence).toBe(entries.length);
    expect(await reopened.put('after', 'reopen')).toBe(entries.length);
    expect(reopened.state).toBe('open');
  });

  test("sync() failing in 'none' mode poisons too", async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs, sync: 'none' });
    await wal.put('a', '1');
    faulty.fail('fdatasync', 'EIO');
    const error = await rejectsWith(wal.sync(), 'WAL_FAILED');
    expect(error.cause).toBe(wal.failure);
    expect(wal.state).toBe('failed');
    await expectFailedCalls(wal, 'EIO');
    // The put resolved but never became durable: close must not say all is well.
    const closing = await rejectsWith(wal.close(), 'WAL_FAILED');
    expect(closing.cause).toBe(wal.failure);
    expect(closing.message).toContain('below 1');
    expect(wal.state).toBe('closed');
    await expectReleased(dir, faulty);
  });

  describe("the 'interval' timer's sync", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    test('failing poisons the writer: the next call rejects, and close rejects (the resolved put is not durable)', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await openWal({ dir, fs: faulty.fs, sync: 'interval', syncIntervalMs: 50 });
      await wal.put('a', '1');
      faulty.fail('fdatasync', 'EIO');
      vi.advanceTimersByTime(50);
      await until(() => wal.state === 'failed', "the timer's sync to fail");
      expect(wal.failure).toMatchObject({ code: 'WAL_IO_ERROR' });
      expect(rootCode(await rejectsWith(wal.put('b', '2'), 'WAL_FAILED'))).toBe('EIO');
      // The timer's failure reached no caller: close is where it is reported.
      const error = await rejectsWith(wal.close(), 'WAL_FAILED');
      expect(error.cause).toBe(wal.failure);
      expect(rootCode(error)).toBe('EIO');
      expect(wal.state).toBe('closed');
      await expectReleased(dir, faulty);
    });

    test('failing while close waits: appends made before it resolve in order, close reports the failure', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await openWal({ dir, fs: faulty.fs, sync: 'interval', syncIntervalMs: 50 });
      await wal.put('a', '1');
      const events: string[] = [];
      const waiting = wal.put('b', '2').then(
        (s) => events.push(`put ${s}`),
        (error) => events.push(`put ${error.code}`),
      );
      faulty.fail('fdatasync', 'EIO');
      vi.advanceTimersByTime(50); // the timer's sync is queued behind the append
      await wal.close().then(
        () => events.push('closed'),
        (error) => events.push(`close ${error.code}`),
      );
      await waiting;
      // 'interval' resolves once written; the failed sync is close's to report.
      expect(events).toEqual(['put 1', 'close WAL_FAILED']);
      expect(wal.state).toBe('closed');
      await expectReleased(dir, faulty);
    });
  });

  test('close() whose final sync fails rejects WAL_FAILED, and still releases the lock and handles', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs, sync: 'none' });
    await wal.put('a', '1');
    faulty.fail('fdatasync', 'EIO');
    const error = await rejectsWith(wal.close(), 'WAL_FAILED');
    expect(rootCode(error)).toBe('EIO');
    expect(wal.state).toBe('closed');
    await expectReleased(dir, faulty);
    await rejectsWith(wal.put('b', '2'), 'WAL_CLOSED');
  });
});

describe('a failed write', () => {
  test.each(['EIO', 'ENOSPC'])(
    "'none': %s rejects that append with WAL_IO_ERROR, consumes no sequence, and the writer stays 'open'",
    async (code) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await Wal.open({ dir, fs: faulty.fs, sync: 'none' });
      await append(wal, puts(2));
      const size = wal.segmentSize;
      const fileSize = fs.statSync(wal.file).size; // with the zeros preallocated after the frames

      faulty.fail('write', code);
      const failed = [wal.put('lost', 'x'), wal.put('lost too', 'y')];
      for (const p of failed) {
        const error = await rejectsWith(p, 'WAL_IO_ERROR');
        expect((error.cause as { code?: string }).code).toBe(code);
        expect(error.message).toContain(wal.file);
      }
      expect(wal.state).toBe('open');
      expect(wal.failure).toBeUndefined();
      expect(wal.nextSequence).toBe(2);
      expect(wal.segmentSize).toBe(size);
      expect(fs.statSync(wal.file).size).toBe(fileSize);

      await append(wal, puts(2, 2));
      await wal.close();
      await expectReleased(dir, faulty);
      const reopened = await openWal(dir);
      expect(reopened.repairs).toEqual([]);
      expect(readEntries(dir)).toEqual(puts(4));
    },
  );

  // Under 'always' frames go out on a durable handle: a write that returns
  // has synced its range, and one that fails may have failed in its sync.
  test.each([
    ['write', 'EIO'],
    ['write', 'ENOSPC'],
    ['fdatasync', 'EIO'],
    ['fdatasync', 'ENOSPC'],
  ] as const)(
    "'always': a durable write failing in its %s with %s fails the writer, as a failed fdatasync does; its bytes are cut, never read back",
    async (op, code) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await Wal.open({ dir, fs: faulty.fs });
      await append(wal, puts(2));
      const size = wal.segmentSize;
      faulty.fail(op, code);
      await rejectsWith(wal.put('lost', 'x'), 'WAL_FAILED');
      expect(wal.state).toBe('failed');
      expect(rootCode(wal.failure)).toBe(code);
      expect(fs.statSync(wal.file).size).toBe(size);
      await wal.close();
      const reopened = await openWal(dir);
      expect(reopened.repairs).toEqual([]);
      expect(readEntries(dir)).toEqual(puts(2));
      expect(await reopened.put('after', 'reopen')).toBe(2);
    },
  );

  test('a short write followed by an error: the partial bytes are cut', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs, sync: 'none' });
    await append(wal, puts(3));
    const size = wal.segmentSize;

    faulty.shortWrite(7).fail('write', 'ENOSPC');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
    const cut = faulty.indexOf('ftruncate');
    expect(faulty.calls[cut]?.args[1]).toBe(size);
    expect(fs.statSync(wal.file).size).toBe(size);
    expect(wal.nextSequence).toBe(3);
    expect(wal.state).toBe('open');

    await append(wal, puts(1, 3));
    await wal.close();
    const reopened = await openWal(dir);
    expect(reopened.repairs).toEqual([]);
    expect(readEntries(dir)).toEqual(puts(4));
  });

  test.each(['none', 'interval'] as const)(
    "'%s': the cut's sync makes what was written before it durable: waitDurable and sync() do not wait for more",
    async (sync) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await openWal({
        dir,
        fs: faulty.fs,
        sync,
        syncIntervalMs: 60_000,
        preallocateBytes: 0,
      });
      expect(await wal.put('a', '1')).toBe(0);
      expect(wal.durableSequence).toBe(0);
      faulty.shortWrite(7).fail('write', 'ENOSPC');
      await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
      expect(wal.state).toBe('open');
      await wal.sync();
      expect(wal.durableSequence).toBe(1);
      expect(await wal.waitDurable(0)).toBe(1);
    },
  );

  test('short writes that make progress complete the append', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    faulty.shortWrite(1).shortWrite(5);
    await append(wal, puts(3));
    await wal.close();
    expect(readEntries(dir)).toEqual(puts(3));
  });

  test('a write that makes no progress is an I/O error, not a loop', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs, sync: 'none' });
    faulty.shortWrite(0);
    const error = await rejectsWith(wal.put('k', 'v'), 'WAL_IO_ERROR');
    expect(error.message).toContain('no progress');
    expect(wal.state).toBe('open');
    expect(await wal.put('k', 'v')).toBe(0);
  });

  test('a failed ftruncate after a failed write poisons; reopen cuts the partial bytes', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    await append(wal, puts(2));
    const size = wal.segmentSize;
    const fileSize = fs.statSync(wal.file).size; // with the zeros preallocated after the frames

    faulty.shortWrite(9).fail('write', 'EIO').fail('ftruncate', 'EIO');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_FAILED');
    expect(wal.state).toBe('failed');
    expect(wal.failure).toMatchObject({ code: 'WAL_IO_ERROR' });
    // 9 bytes of a frame over the zeros, then the zeros.
    expect(fs.statSync(wal.file).size).toBe(fileSize);
    expect(
      fs
        .readFileSync(wal.file)
        .subarray(size, size + 9)
        .some((b) => b !== 0),
    ).toBe(true);
    faulty.heal();
    await rejectsWith(wal.put('next', 'value'), 'WAL_FAILED');
    await wal.close();
    await expectReleased(dir, faulty);

    const reopened = await openWal(dir);
    // A frame header whose record runs into zeros: its CRC fails; the
    // torn tail runs from it to the end of the file, the zeros with it.
    expect(reopened.repairs).toMatchObject([
      { file: reopened.file, offset: size, bytes: fileSize - size, reason: 'checksum-mismatch' },
    ]);
    await append(reopened, puts(1, 2));
    expect(readEntries(dir)).toEqual(puts(3));
  });

  test('zeros a failed preallocation wrote in part are cut when the segment is sealed', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs, sync: 'none', preallocateBytes: 4096 });
    // The zeros go out first: 100 of them, then the write fails.
    faulty.shortWrite(100).fail('write', 'ENOSPC');
    await rejectsWith(wal.put('k', 'v'), 'WAL_IO_ERROR');
    const file = wal.file;
    expect(fs.statSync(file).size).toBeGreaterThan(wal.segmentSize);
    expect(wal.state).toBe('open');
    await wal.rotate();
    await wal.close();
    // A sealed segment ends at its seal: the zeros after it are gone.
    const [sealed] = readSegments(dir);
    expect(framesOf(sealed).map((f) => f.type)).toEqual(['seal']);
    expect(fs.statSync(file).size).toBe(sealed?.dataEnd);
    const reopened = await openWal(dir);
    expect(reopened.repairs).toEqual([]);
    expect(reopened.segment).toBe(1);
  });

  test('a cut that follows a failed write is synced before the segment is sealed', async () => {
    // Otherwise a crash could bring the cut bytes back at the end of a sealed
    // segment, where open does not look and recovery finds damage mid-log.
    const dir = tempDir();
    const faulty = new FaultyFs();
    // Plain writes: under 'always' a failed write fails the writer.
    const wal = await openWal({ dir, fs: faulty.fs, sync: 'none' });
    await append(wal, puts(2));
    const fd = [...faulty.openHandles].find(([, p]) => p === wal.file)?.[0];
    faulty.shortWrite(9).fail('write', 'EIO');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
    const cut = faulty.indexOf('ftruncate');
    await wal.rotate();
    const synced = faulty.indexOf('fdatasync', cut, ([f]) => f === fd);
    const created = faulty.indexOf('open', cut, ([, flags]) => flags === 'wx+');
    expect(synced).toBeGreaterThan(cut);
    expect(synced).toBeLessThan(created);
  });

  test.each(['none', 'interval'] as const)(
    "'%s': a failed write's cut is synced before its sequences are reused, so writeback of the cut bytes cannot bring a rejected record back",
    async (sync) => {
      const sim = new SimFs();
      // A write that stops after the first frame of a group of two, then fails.
      let stopAt: number | undefined;
      const fs: WalFs = {
        ...Object.fromEntries(
          WAL_FS_METHODS.map((m) => [m, (sim[m] as (...a: unknown[]) => unknown).bind(sim)]),
        ),
        write: async (fd, buffer, position) => {
          if (stopAt === undefined) return sim.write(fd, buffer, position);
          const part = stopAt;
          stopAt = undefined;
          if (part === 0) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
          const n = await sim.write(fd, buffer.subarray(0, part), position);
          stopAt = 0;
          return n;
        },
      } as WalFs;
      const wal = await openWal({ dir: '/log', fs, sync, preallocateBytes: 0 });
      expect(await wal.put('k0', 'v0')).toBe(0);
      await wal.sync();
      stopAt = encodeBatchFrame({ salt: 0, synced: 0 }, 1, [
        { type: 'put', key: Buffer.from('lost1'), value: Buffer.from('x') },
      ]).length;
      const rejected = [wal.put('lost1', 'x'), wal.put('lost2', 'y')];
      for (const r of rejected) await rejectsWith(r, 'WAL_IO_ERROR');
      expect(await wal.put('k1', 'v1')).toBe(1);
      // Writeback wrote the group's first frame before the cut; the cut, and
      // what came after, did not reach the disk.
      const file = wal.file;
      const crashed = sim.crash({ files: new Map([[sim.inode(file), { kind: 'before-cut' }]]) });
      const reopened = await openWal({ dir: '/log', fs: crashed });
      await reopened.close();
      const keys = readEntries('/log', simDisk(crashed)).map((e) => e.key);
      expect(keys).not.toContain('lost1');
      expect(['k0', 'k0,k1']).toContain(keys.join(','));
    },
  );
});

// A failed write that leaves the writer open rejects the appends queued
// behind it (their sequences go back), but not the jobs that do not depend
// on them: a sync, close's mark, the interval's sync, a rotate().
describe('jobs queued behind a failed write', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test("'interval': the timer's sync still runs, so what was acknowledged before survives a power loss", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, sync: 'interval', syncIntervalMs: 50 });
    expect(await wal.put('k0', 'v0')).toBe(0);
    sim.inject({ ops: ['write'], code: 'ENOSPC' });
    const failed = wal.put('lost', 'x');
    vi.advanceTimersByTime(50); // the timer's sync is queued behind the failing write
    await rejectsWith(failed, 'WAL_IO_ERROR');
    expect(wal.state).toBe('open');
    await until(() => wal.durableSequence === 1, "the timer's sync");
    expect(readEntries('/log', simDisk(sim.crash()))).toEqual(puts(1));
  });

  test.each(['none', 'interval'] as const)(
    "'%s': close still syncs and marks what was acknowledged before",
    async (sync) => {
      const sim = new SimFs();
      const wal = await openWal({ dir: '/log', fs: sim, sync, syncIntervalMs: 60_000 });
      expect(await wal.put('k0', 'v0')).toBe(0);
      sim.inject({ ops: ['write'], code: 'ENOSPC' });
      const failed = wal.put('lost', 'x');
      const closed = wal.close();
      await rejectsWith(failed, 'WAL_IO_ERROR');
      await closed;
      expect(wal.durableSequence).toBe(1);
      const image = sim.crash();
      expect(readEntries('/log', simDisk(image))).toEqual(puts(1));
      const frames = framesOf(readSegments('/log', simDisk(image))[0]);
      expect(frames.at(-1)).toMatchObject({ type: 'mark', nextSequence: 1 });
    },
  );

  test('sync() and rotate() still run, at the sequence rolled back to; later appends go on from it', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, sync: 'none' });
    expect(await wal.put('k0', 'v0')).toBe(0);
    sim.inject({ ops: ['write'], code: 'ENOSPC' });
    const failed = [wal.put('lost', 'x'), wal.put('lost too', 'y')];
    const synced = wal.sync();
    const rotated = wal.rotate();
    for (const p of failed) await rejectsWith(p, 'WAL_IO_ERROR');
    await synced;
    await rotated;
    expect(wal.durableSequence).toBe(1);
    expect(wal.segment).toBe(1);
    expect(await wal.put('k1', 'v1')).toBe(1);
    await wal.close();
    const segments = readSegments('/log', simDisk(sim.crash()));
    expect(segments.map((s) => s.header.firstSequence)).toEqual([0, 1]);
    expect(readEntries('/log', simDisk(sim))).toEqual(puts(2));
  });

  test('appends queued behind the failed one are rejected too: no gap in the sequences', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, sync: 'none' });
    expect(await wal.put('k0', 'v0')).toBe(0);
    sim.inject({ ops: ['write'], code: 'ENOSPC' });
    const first = wal.put('lost', 'x');
    await Promise.resolve(); // the first group is being written: these form the next
    const behind = [wal.put('behind', 'y'), wal.sync()];
    await rejectsWith(first, 'WAL_IO_ERROR');
    await rejectsWith(behind[0] as Promise<number>, 'WAL_IO_ERROR');
    await behind[1];
    expect(await wal.put('k1', 'v1')).toBe(1);
    await wal.close();
    expect(readEntries('/log', simDisk(sim.crash()))).toEqual(puts(2));
  });

  test('a failed totalSize() rejects alone: appends queued behind it are written', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: '/log', fs: sim, sync: 'always' });
    sim.inject({ ops: ['fsize'], code: 'EIO' });
    const size = wal.totalSize();
    const appended = wal.put('k0', 'v0');
    await rejectsWith(size, 'WAL_IO_ERROR');
    expect(await appended).toBe(0);
  });
});

describe('rotation faults', () => {
  test.each([
    ['open', 'EMFILE'],
    ['write', 'ENOSPC'],
    ['fdatasync', 'EIO'],
    ['rename', 'EIO'],
    ['fsyncDir', 'EIO'],
  ] as const)(
    '%s failing (%s) while creating a segment poisons; reopen keeps every acknowledged record',
    async (op, code) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await Wal.open({ dir, fs: faulty.fs, maxSegmentBytes: 200 });
      await append(wal, puts(2));
      // Only the calls that create the next segment (under its .tmp name).
      faulty.fail(op, code, {
        when: ([target]) => op === 'fsyncDir' || faulty.pathOf(target).endsWith('.tmp'),
      });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => wal.put(`more${i}`, 'x'.repeat(40))),
      );
      expect(results.some((r) => r.status === 'rejected')).toBe(true);
      expect(wal.state).toBe('failed');
      expect(rootCode(wal.failure)).toBe(code);
      await rejectsWith(wal.put('after', 'fault'), 'WAL_FAILED');
      const acknowledged = results.filter((r) => r.status === 'fulfilled').length;
      await wal.close();
      await expectReleased(dir, faulty);
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);

      const reopened = await openWal(dir);
      const entries = readEntries(dir);
      expect(entries.length).toBeGreaterThanOrEqual(2 + acknowledged);
      expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
      expect(reopened.nextSequence).toBe(entries.length);
    },
  );
});

describe('open faults', () => {
  test.each(['readdir', 'open', 'write', 'fdatasync', 'rename', 'fsyncDir'] as const)(
    '%s failing while opening a fresh log rejects WAL_IO_ERROR and leaves no lock or handle',
    async (op) => {
      const dir = path.join(tempDir(), 'wal');
      const faulty = new FaultyFs();
      faulty.fail(op, 'EIO');
      const error = await rejectsWith(Wal.open({ dir, fs: faulty.fs }), 'WAL_IO_ERROR');
      expect(rootCode(error)).toBe('EIO');
      await expectReleased(dir, faulty);
      const wal = await openWal(dir);
      expect(wal.nextSequence).toBe(0);
    },
  );
});
