import { encodeSegmentHeader, HEADER_SALT_OFFSET } from '@wal/codec';
import { Wal } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import { repair, verify } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { edit, puts, SEGMENT_HEADER_SIZE, simLog, simLogUnreadableLast } from './helpers.js';

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

  // A rotted sector at the file's start takes the whole header: segment
  // number and log id too. Taken for another file and set aside, the
  // segment's sequences were issued again, under any checkpoint of them.
  test('also when the whole header rotted, its segment number and log id too: refused, and with floor, fromFloor', async () => {
    const { sim, log } = await simLog([puts(2), puts(3), puts(4)]);
    const last = log.segments.at(-1);
    if (!last) throw new Error('fixture');
    const rotted = edit(last.bytes, (b) => b.fill(0xa5, 0, SEGMENT_HEADER_SIZE + 16));
    sim.writeFile(last.file, rotted);
    const before = await snapshot(sim);
    const error = await repair('/wal', { fs: sim }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAL_CORRUPTION' });
    expect((error as Error).message).toMatch(
      new RegExp(`expected to find where the log ended in segment ${last.segment} \\(wal_`),
    );
    expect(await snapshot(sim)).toEqual(before);
    const floor = log.entries.length + 10;
    const done = await repair('/wal', { fs: sim, floor });
    expect(done).toMatchObject({ fromFloor: true, nextSequence: floor });
    expect((await verify('/wal', { fs: sim })).ok).toBe(true);
  });

  test("another log's segment at the end, its header rotted but its magic and id whole, no frame reading: set aside, no floor needed", async () => {
    const { sim, log } = await simLog([puts(2), puts(3), puts(4)]);
    const last = log.segments.at(-1);
    if (!last) throw new Error('fixture');
    const other = edit(last.bytes, (b) => {
      b.set(encodeSegmentHeader({ ...last.header, segment: 77, logId: 'ffffffffffffffff' }), 0);
      b.fill(0xa5, SEGMENT_HEADER_SIZE);
      b[HEADER_SALT_OFFSET] = (b[HEADER_SALT_OFFSET] as number) ^ 1;
    });
    sim.writeFile(last.file, other);
    const done = await repair('/wal', { fs: sim });
    expect(done.fromFloor).toBe(false);
    expect(done.actions.map((a) => [a.action, a.segment])).toContainEqual(['remove', last.segment]);
    expect((await verify('/wal', { fs: sim })).ok).toBe(true);
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
