// The fsyncgate salvage (issue 13). After a failed fdatasync the kernel may
// have marked the unsynced pages clean without writing them, so a later
// fdatasync that succeeds does not persist them (SimFs models this). The
// writer rewrites the acknowledged bytes since its last good sync, so the
// reopened writer's sync persists them instead of appending after a future
// hole. It must work on segments the writer created itself, and its own
// failure must be loud.
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { readEntries, rejectsWith, simDisk } from './helpers.js';

const dir = '/log';

// A 'none' writer that synced k0, then put k1 (acknowledged, not durable).
async function writerWithUnsyncedPut(sim: SimFs): Promise<Wal> {
  const wal = await Wal.open({ dir, fs: sim, sync: 'none' });
  expect(await wal.put('k0', 'v0')).toBe(0);
  await wal.sync();
  expect(await wal.put('k1', 'v1')).toBe(1);
  return wal;
}

describe('after a failed fdatasync', () => {
  test.each([
    ['created by this writer', false],
    ['reopened by this writer', true],
  ])(
    'on a segment %s, an acknowledged put after reopen survives a power loss',
    async (_, reopen) => {
      const sim = new SimFs();
      if (reopen) {
        const first = await Wal.open({ dir, fs: sim });
        await first.close();
      }
      const wal = await writerWithUnsyncedPut(sim);
      sim.inject({ ops: ['fdatasync'] });
      const error = await rejectsWith(wal.sync(), 'WAL_FAILED');
      expect(wal.state).toBe('failed');
      expect(error.message).not.toContain('salvage');
      await rejectsWith(wal.close(), 'WAL_FAILED'); // k1 resolved, never durable

      const again = await Wal.open({ dir, fs: sim, sync: 'always' });
      expect(again.nextSequence).toBe(2); // k1 is in the page cache
      expect(await again.put('k2', 'v2')).toBe(2); // acknowledged: fdatasync'ed
      await again.close();

      // Power loss: only what reached stable storage. k1 may be lost, but then
      // k2 could not be read; k2 was acknowledged as durable, so both are there.
      for (const image of [
        sim.crash(),
        ...Array.from({ length: 20 }, (_, seed) => sim.crash(seed)),
      ]) {
        const reopened = await Wal.open({ dir, fs: image });
        expect(reopened.repairs).toEqual([]);
        const entries = readEntries(dir, simDisk(image));
        expect(entries.find((e) => e.key === 'k0')?.sequence).toBe(0);
        expect(entries.find((e) => e.key === 'k2')?.sequence).toBe(2);
        expect(reopened.nextSequence).toBe(3);
        await reopened.close();
      }
    },
  );

  test.each(['read', 'write'] as const)(
    'a failed %s in the salvage is reported: the error says the salvage failed',
    async (op) => {
      const sim = new SimFs();
      const wal = await writerWithUnsyncedPut(sim);
      sim.inject({ ops: ['fdatasync'] });
      const fault = sim.inject({ ops: [op] });
      const error = await rejectsWith(wal.sync(), 'WAL_FAILED');
      expect(fault.fired).toHaveLength(1);
      expect(wal.state).toBe('failed');
      const failure = wal.failure as Error;
      expect(error.cause).toBe(failure);
      expect(failure.message).toContain('fdatasync');
      expect(failure.message).toMatch(/salvage of acknowledged bytes failed/);
      expect(failure.message).toContain('may be lost on power loss');
      expect(error.message).toContain(failure.message);
      const causes = (failure.cause as AggregateError).errors as { code?: string }[];
      expect(failure.cause).toBeInstanceOf(AggregateError);
      expect(causes.map((c) => c.code)).toEqual(['EIO', 'WAL_IO_ERROR']);
      await rejectsWith(wal.close(), 'WAL_FAILED'); // k1 resolved, never durable
      expect(sim.openHandles).toBe(0);
    },
  );

  // When the salvage itself failed, the lost pages are still in the page
  // cache: the next open reads them, and its own fdatasync succeeds without
  // writing them. Open must not acknowledge appends after a future hole: it
  // has to rewrite what no frame says was durable (past the last frame's
  // synced watermark) before that fdatasync.
  test.each(['read', 'write'] as const)(
    'after a failed %s in the salvage, a put acknowledged by the next writer survives a power loss',
    async (op) => {
      const sim = new SimFs();
      const wal = await writerWithUnsyncedPut(sim);
      sim.inject({ ops: ['fdatasync'] });
      sim.inject({ ops: [op] });
      await rejectsWith(wal.sync(), 'WAL_FAILED');
      await rejectsWith(wal.close(), 'WAL_FAILED'); // k1 resolved, never durable

      const again = await Wal.open({ dir, fs: sim, sync: 'always' });
      expect(await again.put('k2', 'v2')).toBe(2);
      await again.close();
      const image = sim.crash();
      const reopened = await Wal.open({ dir, fs: image });
      const entries = readEntries(dir, simDisk(image));
      expect(entries.map((e) => e.key)).toEqual(['k0', 'k1', 'k2']);
      await reopened.close();
    },
  );

  // Open cuts a torn tail after them: the bytes before the cut that no
  // frame says are durable must still be rewritten before it syncs.
  test('after a failed salvage and a torn tail, a put acknowledged by the writer that cut it survives a power loss', async () => {
    const sim = new SimFs();
    const wal = await writerWithUnsyncedPut(sim);
    sim.inject({ ops: ['fdatasync'] });
    sim.inject({ ops: ['write'] });
    await rejectsWith(wal.sync(), 'WAL_FAILED');
    const { file, segmentSize } = wal;
    await rejectsWith(wal.close(), 'WAL_FAILED'); // k1 resolved, never durable
    // Part of a frame after k1, as a writer killed mid-write leaves it.
    const fd = await sim.open(file, 'r+');
    await sim.write(
      fd,
      new Uint8Array([0x55, 0x66, 0x77, 0x88, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      segmentSize,
    );
    await sim.close(fd);

    const again = await Wal.open({ dir, fs: sim, sync: 'always' });
    expect(again.repairs).toMatchObject([{ file, offset: segmentSize }]);
    expect(await again.put('k2', 'v2')).toBe(2);
    await again.close();
    const image = sim.crash();
    const reopened = await Wal.open({ dir, fs: image });
    expect(readEntries(dir, simDisk(image)).map((e) => e.key)).toEqual(['k0', 'k1', 'k2']);
    await reopened.close();
  });

  // The same trap at open: a killed 'none' writer left records in the page
  // cache; the next open's fdatasync of them fails. Its pages may now be
  // clean without being on disk, so open rewrites them before it reports
  // the failure, and the open that retries syncs them for real.
  test("open's own failed fdatasync of what it scanned: the retry makes it durable", async () => {
    const sim = new SimFs();
    const killedWriter = await Wal.open({ dir, fs: sim, sync: 'none' });
    expect(await killedWriter.put('k0', 'v0')).toBe(0);
    const next = sim.kill();
    const fault = next.inject({ ops: ['fdatasync'] });
    const error = await rejectsWith(Wal.open({ dir, fs: next }), 'WAL_IO_ERROR');
    expect(fault.fired.map((f) => f.path)).toEqual([killedWriter.file]);
    expect(error.message).toContain('fdatasync');
    expect(next.locks).toBe(0);

    const again = await Wal.open({ dir, fs: next, sync: 'always' });
    expect(await again.put('k1', 'v1')).toBe(1);
    await again.close();
    const image = next.crash();
    const reopened = await Wal.open({ dir, fs: image });
    expect(readEntries(dir, simDisk(image)).map((e) => e.key)).toEqual(['k0', 'k1']);
    await reopened.close();
  });

  test('unacknowledged bytes of the group whose sync failed are cut, not salvaged', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir, fs: sim });
    expect(await wal.put('k0', 'v0')).toBe(0);
    const size = wal.segmentSize;
    sim.inject({ ops: ['fdatasync'] });
    await rejectsWith(wal.put('k1', 'v1'), 'WAL_FAILED');
    expect(sim.readFile(wal.file)).toHaveLength(size);
    await wal.close();
    const again = await Wal.open({ dir, fs: sim });
    expect(again.nextSequence).toBe(1);
    await again.close();
  });
});
