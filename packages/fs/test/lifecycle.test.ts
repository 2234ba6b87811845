// Lifecycle: close waits for in-flight appends, syncs and ends the log with
// a mark, releases the lock; calls after close reject with WAL_CLOSED, and
// `await using` closes the log.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { FaultyFs } from './faulty-fs.js';
import {
  framesOf,
  openWal,
  puts,
  readEntries,
  readSegments,
  rejectsWith,
  rootCode,
  segmentNames,
  simDisk,
  tempDir,
} from './helpers.js';

// The lock is free: another writer could take it now.
async function expectUnlocked(dir: string): Promise<void> {
  const release = await nodeFs.lock(dir);
  await release();
}

describe('close', () => {
  test.each(['always', 'interval', 'none'] as const)(
    "waits for in-flight appends: they resolve before close does (sync: '%s')",
    async (sync) => {
      const dir = tempDir();
      const faulty = new FaultyFs();
      const wal = await Wal.open({ dir, sync, fs: faulty.fs, syncIntervalMs: 60_000 });
      const events: string[] = [];
      const appends = puts(100).map((e) =>
        wal.put(e.key, e.value ?? '').then((s) => events.push(`put ${s}`)),
      );
      const closed = wal.close().then(() => events.push('close'));
      await Promise.all([...appends, closed]);
      expect(events).toEqual([...puts(100).map((e) => `put ${e.sequence}`), 'close']);
      expect(wal.state).toBe('closed');
      expect([...faulty.openHandles.values()]).toEqual([]);
      await expectUnlocked(dir);
      // Durable at close in every mode: the last call before close was a sync.
      const lastSync = faulty.calls.findLastIndex((c) => c.op === 'fdatasync');
      const lastWrite = faulty.calls.findLastIndex((c) => c.op === 'write');
      expect(lastSync).toBeGreaterThan(lastWrite);
      expect(readEntries(dir)).toEqual(puts(100));
      // The last frame is a mark written after a sync of everything before
      // it: damage anywhere in a closed log reads as bit rot, never a tear.
      const frames = framesOf(readSegments(dir)[0]);
      const mark = frames.at(-1);
      expect(mark).toMatchObject({ type: 'mark', nextSequence: 100, synced: mark?.offset });
      const writes = faulty.calls.flatMap((c, i) => (c.op === 'write' ? [i] : []));
      const [data, marked] = writes.slice(-2) as [number, number];
      expect(faulty.indexOf('fdatasync', data)).toBeLessThan(marked);
    },
  );

  test('every call after close rejects with WAL_CLOSED; close again resolves as the first did', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.put('k', 'v');
    const closing = wal.close();
    // Even in the same tick as close(): the log is no longer open.
    await rejectsWith(wal.put('same', 'tick'), 'WAL_CLOSED');
    await closing;
    expect(wal.state).toBe('closed');
    const calls = [
      wal.put('k', 'v'),
      wal.delete('k'),
      wal.batch([{ type: 'delete', key: 'k' }]),
      wal.sync(),
      wal.rotate(),
      wal.truncateThrough(0),
      wal.dropExcessSegments(),
      wal.totalSize(),
    ];
    for (const call of calls) {
      const error = await rejectsWith(call, 'WAL_CLOSED');
      expect(error.message).toContain(dir);
    }
    await wal.close();
    await Promise.all([wal.close(), wal.close()]);
    expect(readEntries(dir)).toEqual([{ sequence: 0, type: 'put', key: 'k', value: 'v' }]);
  });

  test("a second close() while the first runs settles with it: after the final sync and the lock's release (sync: 'none')", async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir: '/log', fs: sim, sync: 'none' });
    expect(await wal.put('k', 'v')).toBe(0);
    const first = wal.close();
    await wal.close();
    // What a power loss right now keeps: the put close acknowledged as durable.
    const crashed = sim.crash();
    expect(readEntries('/log', simDisk(crashed)).map((e) => e.key)).toEqual(['k']);
    // The lock is free already: a new writer opens at once.
    const reopened = await Wal.open({ dir: '/log', fs: sim });
    expect(reopened.nextSequence).toBe(1);
    await reopened.close();
    await first;
  });

  test('close() after it settled gives the same outcome: the same rejection', async () => {
    const faulty = new FaultyFs();
    const dir = tempDir();
    const wal = await Wal.open({ dir, fs: faulty.fs, sync: 'none' });
    await wal.put('k', 'v');
    faulty.fail('fdatasync', 'EIO');
    const error = await rejectsWith(wal.close(), 'WAL_FAILED');
    expect(await rejectsWith(wal.close(), 'WAL_FAILED')).toBe(error);
    expect(wal.state).toBe('closed');
  });

  test("a failing lock release rejects close with WAL_IO_ERROR, and the writer still ends 'closed'", async () => {
    // A SimFs whose lock releases, then reports a failure (an unlink of the lock file, say).
    class FailingRelease extends SimFs {
      override async lock(dir: string): Promise<() => Promise<void>> {
        const release = await super.lock(dir);
        return async () => {
          await release();
          throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
        };
      }
    }
    const sim = new FailingRelease();
    const wal = await Wal.open({ dir: '/log', fs: sim, sync: 'none' });
    await wal.put('k', 'v');
    const waiting = wal.waitDurable(5);
    const error = await rejectsWith(wal.close(), 'WAL_IO_ERROR');
    expect(error.message).toContain('/log');
    expect(rootCode(error)).toBe('EIO');
    expect(wal.state).toBe('closed');
    expect(wal.durableSequence).toBe(1);
    await rejectsWith(waiting, 'WAL_CLOSED');
    expect(await rejectsWith(wal.close(), 'WAL_IO_ERROR')).toBe(error); // close's outcome, again
    await rejectsWith(wal.put('k', 'v'), 'WAL_CLOSED');
  });

  test('the getters still answer after close', async () => {
    const dir = tempDir();
    const wal = await Wal.open(dir);
    await wal.put('k', 'v');
    await wal.close();
    expect(wal.nextSequence).toBe(1);
    expect(wal.segment).toBe(0);
    expect(wal.file).toBe(path.join(dir, 'wal_00000000.log'));
    expect(wal.dir).toBe(dir);
    expect(wal.logId).toMatch(/^[0-9a-f]{16}$/);
    expect(wal.logId).toBe(readSegments(dir)[0]?.header.logId);
    expect(wal.state).toBe('closed');
    expect(wal.failure).toBeUndefined();
  });
});

describe('open', () => {
  test('a relative dir is resolved; the directory (and parents) are created', async () => {
    const base = tempDir();
    const relative = path.relative(process.cwd(), path.join(base, 'a', 'b'));
    const wal = await openWal(relative);
    expect(wal.dir).toBe(path.join(base, 'a', 'b'));
    expect(wal.state).toBe('open');
    expect(wal.repairs).toEqual([]);
    expect(segmentNames(wal.dir)).toEqual(['wal_00000000.log']);
    expect(fs.readdirSync(wal.dir).filter((n) => n.startsWith('wal_'))).toEqual([
      'wal_00000000.log',
    ]);
  });

  test('a new directory is made durable: its parent is fsynced before open resolves', async () => {
    const base = tempDir();
    const faulty = new FaultyFs();
    await openWal({ dir: path.join(base, 'a', 'b'), fs: faulty.fs });
    const made = faulty.indexOf('mkdirp');
    expect(faulty.indexOf('fsyncDir', made, ([p]) => p === base)).toBeGreaterThan(made);
    expect(faulty.indexOf('fsyncDir', made, ([p]) => p === path.join(base, 'a'))).toBeGreaterThan(
      made,
    );
  });
});

describe('await using', () => {
  test('closes the log and releases the lock at the end of the block', async () => {
    const dir = tempDir();
    let escaped: Wal | undefined;
    {
      await using wal = await Wal.open(dir);
      await wal.put('k', 'v');
      escaped = wal;
    }
    expect(escaped?.state).toBe('closed');
    const again = await openWal(dir);
    expect(again.nextSequence).toBe(1);
  });

  test('closes it when the block throws, too', async () => {
    const dir = tempDir();
    const fail = async () => {
      await using wal = await Wal.open(dir);
      await wal.put('k', 'v');
      throw new Error('boom');
    };
    await expect(fail()).rejects.toThrow('boom');
    const again = await openWal(dir);
    expect(again.nextSequence).toBe(1);
  });
});
