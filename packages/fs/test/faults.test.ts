// Faults through the injectable fs: a failed fdatasync poisons the writer, a
// failed write is cut away without consuming its sequence, and close() after
// a fault still releases the lock and every handle.
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE, Wal } from '@wal/fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import { append, openWal, puts, readEntries, rejectsWith, tempDir } from './helpers.js';

// The errno code at the bottom of a WAL_IO_ERROR's cause chain.
function rootCode(error: unknown): unknown {
  let e = error as { cause?: unknown; code?: unknown };
  while (e.cause) e = e.cause as typeof e;
  return e.code;
}

async function expectReleased(dir: string, faulty: FaultyFs): Promise<void> {
  expect([...faulty.openHandles.values()]).toEqual([]);
  expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
}

describe('a failed fdatasync poisons the writer', () => {
  test('the pending batch and every later call reject until reopen; nothing acknowledged is lost', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    await append(wal, puts(2));

    faulty.fail('fdatasync', 'EIO');
    const batch = [wal.put('a', '1'), wal.put('b', '2'), wal.delete('c')];
    for (const pending of batch) {
      const error = await rejectsWith(pending, 'WAL_IO_ERROR');
      expect(error.message).toContain('fdatasync');
      expect((error.cause as { code?: string }).code).toBe('EIO');
    }
    faulty.heal(); // a retry would now succeed: it must not be attempted
    const syncs = faulty.count('fdatasync');
    const later = [
      wal.put('d', '4'),
      wal.delete('d'),
      wal.batch([{ type: 'put', key: 'e', value: '5' }]),
      wal.sync(),
      wal.rotate(),
      wal.truncateBefore(0),
      wal.cleanup(),
      wal.totalSize(),
    ];
    for (const call of later) {
      const error = await rejectsWith(call, 'WAL_IO_ERROR');
      expect(error.message).toContain('reopen');
      expect(rootCode(error)).toBe('EIO');
    }
    expect(faulty.count('fdatasync')).toBe(syncs);
    expect(wal.nextSequence).toBe(2);

    await wal.close();
    await expectReleased(dir, faulty);
    const reopened = await openWal(dir);
    // The acknowledged records are there. The rejected ones were written
    // before the failed sync, so they may be too: rejected is "not known durable".
    const entries = readEntries(dir);
    expect(entries.slice(0, 2)).toEqual(puts(2));
    expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i));
    expect(reopened.nextSequence).toBe(entries.length);
    expect(await reopened.put('after', 'reopen')).toBe(entries.length);
  });

  test("sync() failing in 'none' mode poisons too", async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs, sync: 'none' });
    await wal.put('a', '1');
    faulty.fail('fdatasync', 'EIO');
    await rejectsWith(wal.sync(), 'WAL_IO_ERROR');
    await rejectsWith(wal.put('b', '2'), 'WAL_IO_ERROR');
    await rejectsWith(wal.sync(), 'WAL_IO_ERROR');
  });

  describe("the 'interval' timer's sync", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    test('failing poisons the writer: the next call rejects', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await openWal({ dir, fs: faulty.fs, sync: 'interval', syncIntervalMs: 50 });
      await wal.put('a', '1');
      faulty.fail('fdatasync', 'EIO');
      vi.advanceTimersByTime(50);
      expect(rootCode(await rejectsWith(wal.put('b', '2'), 'WAL_IO_ERROR'))).toBe('EIO');
      await wal.close(); // nothing more to promise: close releases without a sync
      await expectReleased(dir, faulty);
    });

    test('failing while an append waits: the append rejects before close resolves', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await openWal({ dir, fs: faulty.fs, sync: 'interval', syncIntervalMs: 50 });
      await wal.put('a', '1');
      const events: string[] = [];
      const waiting = wal.put('b', '2').then(
        () => events.push('put resolved'),
        (error) => events.push(`put ${error.code}`),
      );
      faulty.fail('fdatasync', 'EIO');
      vi.advanceTimersByTime(50); // the timer's sync fails before the append is written
      await wal.close().then(() => events.push('closed'));
      await waiting;
      expect(events).toEqual(['put WAL_IO_ERROR', 'closed']);
      await expectReleased(dir, faulty);
    });
  });

  test('close() whose final sync fails rejects, and still releases the lock and handles', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs, sync: 'none' });
    await wal.put('a', '1');
    faulty.fail('fdatasync', 'EIO');
    await rejectsWith(wal.close(), 'WAL_IO_ERROR');
    expect(wal.state).toBe('closed');
    await expectReleased(dir, faulty);
    await rejectsWith(wal.put('b', '2'), 'WAL_CLOSED');
  });
});

describe('a failed write', () => {
  test.each(['EIO', 'ENOSPC'])(
    '%s rejects that append, does not consume its sequence, and later appends work',
    async (code) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await Wal.open({ dir, fs: faulty.fs });
      await append(wal, puts(2));
      const size = wal.segmentSize;

      faulty.fail('write', code);
      const failed = [wal.put('lost', 'x'), wal.put('lost too', 'y')];
      for (const p of failed) {
        const error = await rejectsWith(p, 'WAL_IO_ERROR');
        expect((error.cause as { code?: string }).code).toBe(code);
        expect(error.message).toContain(wal.path);
      }
      expect(wal.nextSequence).toBe(2);
      expect(wal.segmentSize).toBe(size);
      expect(fs.statSync(wal.path).size).toBe(size);

      await append(wal, puts(2, 2));
      await wal.close();
      await expectReleased(dir, faulty);
      const reopened = await openWal(dir);
      expect(reopened.repairs).toEqual([]);
      expect(readEntries(dir)).toEqual(puts(4));
    },
  );

  test('a short write followed by an error: the partial bytes are cut', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    await append(wal, puts(3));
    const size = wal.segmentSize;

    faulty.shortWrite(7).fail('write', 'ENOSPC');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
    const cut = faulty.indexOf('ftruncate');
    expect(faulty.calls[cut]?.args[1]).toBe(size);
    expect(fs.statSync(wal.path).size).toBe(size);
    expect(wal.nextSequence).toBe(3);

    await append(wal, puts(1, 3));
    await wal.close();
    const reopened = await openWal(dir);
    expect(reopened.repairs).toEqual([]);
    expect(readEntries(dir)).toEqual(puts(4));
  });

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
    const wal = await openWal({ dir, fs: faulty.fs });
    faulty.shortWrite(0);
    const error = await rejectsWith(wal.put('k', 'v'), 'WAL_IO_ERROR');
    expect(error.message).toContain('no progress');
    expect(await wal.put('k', 'v')).toBe(0);
  });

  test('a failed ftruncate after a failed write poisons; reopen cuts the partial bytes', async () => {
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await Wal.open({ dir, fs: faulty.fs });
    await append(wal, puts(2));
    const size = wal.segmentSize;

    faulty.shortWrite(9).fail('write', 'EIO').fail('ftruncate', 'EIO');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
    expect(fs.statSync(wal.path).size).toBe(size + 9);
    faulty.heal();
    await rejectsWith(wal.put('next', 'value'), 'WAL_IO_ERROR');
    await wal.close();
    await expectReleased(dir, faulty);

    const reopened = await openWal(dir);
    expect(reopened.repairs).toMatchObject([{ offset: size, bytes: 9, reason: 'truncated' }]);
    await append(reopened, puts(1, 2));
    expect(readEntries(dir)).toEqual(puts(3));
  });

  test('a cut that follows a failed write is synced before the segment is sealed', async () => {
    // Otherwise a crash could bring the cut bytes back at the end of a sealed
    // segment, where open does not look and recovery finds damage mid-log.
    const dir = tempDir();
    const faulty = new FaultyFs();
    const wal = await openWal({ dir, fs: faulty.fs });
    await append(wal, puts(2));
    const fd = [...faulty.openHandles].find(([, p]) => p === wal.path)?.[0];
    faulty.shortWrite(9).fail('write', 'EIO');
    await rejectsWith(wal.put('partial', 'value'), 'WAL_IO_ERROR');
    const cut = faulty.indexOf('ftruncate');
    await wal.rotate();
    const synced = faulty.indexOf('fdatasync', cut, ([f]) => f === fd);
    const created = faulty.indexOf('open', cut, ([, flags]) => flags === 'wx');
    expect(synced).toBeGreaterThan(cut);
    expect(synced).toBeLessThan(created);
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
      const isTemp = (target: unknown) =>
        String(typeof target === 'number' ? faulty.openHandles.get(target) : target).endsWith(
          '.tmp',
        );
      faulty.fail(op, code, { when: ([target]) => op === 'fsyncDir' || isTemp(target) });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => wal.put(`more${i}`, 'x'.repeat(40))),
      );
      expect(results.some((r) => r.status === 'rejected')).toBe(true);
      await rejectsWith(wal.put('after', 'fault'), 'WAL_IO_ERROR');
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
