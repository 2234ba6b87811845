import { Wal } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import { repair, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { puts, simLog, simLogUnreadableLast } from './helpers.js';

async function snapshot(sim: SimFs): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await sim.readdir('/wal')).sort())
    out.set(name, Buffer.from(sim.readFile(`/wal/${name}`)).toString('hex'));
  return out;
}

describe('repair of a last segment where nothing reads', () => {
  test('refuses with WAL_CORRUPTION, naming the segment and floor; every file byte-identical, no quarantine', async () => {
    const { sim, last } = await simLogUnreadableLast();
    const before = await snapshot(sim);
    for (const dryRun of [false, true]) {
      const error = await repair('/wal', { fs: sim, dryRun }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'WAL_CORRUPTION' });
      expect((error as Error).message).toMatch(
        new RegExp(`expected to find where the log ended in segment ${last.segment} \\(wal_`),
      );
      expect((error as Error).message).toMatch(/found no readable frame under any salt/);
      expect((error as Error).message).toMatch(/floor/);
      expect((error as Error).cause).toBeDefined();
      expect(await snapshot(sim)).toEqual(before);
    }
    expect((await sim.readdir('/wal')).includes('quarantine')).toBe(false);
  });

  test('with floor: repairs, the range up to floor is lost, verify is clean, the writer continues at floor', async () => {
    const { sim, log } = await simLogUnreadableLast();
    const floor = log.entries.length + 50;
    const done = await repair('/wal', { fs: sim, floor });
    expect(done.nextSequence).toBe(floor);
    const end = done.lost.at(-1);
    expect(end?.nextSequence).toBe(floor);
    expect(end?.firstSequence).toBeLessThanOrEqual(5);
    expect((await verify('/wal', { fs: sim })).ok).toBe(true);
    const wal = await Wal.open({ dir: '/wal', fs: sim });
    try {
      expect(await wal.put('k', 'v')).toBeGreaterThanOrEqual(floor);
    } finally {
      await wal.close();
    }
  });

  test('floor on a clean log only ever raises the next sequence', async () => {
    const { sim, log } = await simLog([puts(2), puts(3)]);
    const low = await repair('/wal', { fs: sim, floor: 1, dryRun: true });
    expect(low.nextSequence).toBe(log.entries.length);
    expect(low.actions).toEqual([]);
    const done = await repair('/wal', { fs: sim, floor: 20 });
    expect(done.nextSequence).toBe(20);
    expect(done.lost).toEqual([{ firstSequence: log.entries.length, nextSequence: 20 }]);
    expect((await verify('/wal', { fs: sim })).ok).toBe(true);
  });

  test('floor is validated before any I/O', async () => {
    for (const floor of [-1, 1.5, '3', Number.MAX_SAFE_INTEGER + 2])
      await expect(repair('/nowhere', { floor: floor as number })).rejects.toMatchObject({
        code: 'WAL_INVALID_OPTIONS',
      });
  });
});
