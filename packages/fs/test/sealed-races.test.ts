// listSealedSegments while a running writer's retention deletes several
// segments, and a feed after it threw WAL_TRUNCATED.
import { createHash } from 'node:crypto';
import { listSealedSegments, type Wal, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import { openWal, segmentFile } from './helpers.js';

const DIR = '/log';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

// Three sealed segments (the second empty) and an active one.
async function sealedLog(wal: Wal): Promise<void> {
  await wal.put('a', '1');
  await wal.put('b', '2');
  await wal.rotate(); // segment 0: sequences 0..1
  await wal.rotate(); // segment 1: none
  await wal.put('c', '3');
  await wal.rotate(); // segment 2: sequence 2
  await wal.put('d', '4'); // segment 3, active
}

// A WalFs that awaits `before` ahead of each call.
function hooked(inner: WalFs, before: (op: string, args: unknown[]) => Promise<void>): WalFs {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await before(prop as string, args);
        return value.apply(target, args);
      };
    },
  });
}

describe('listSealedSegments while a running writer truncates several segments', () => {
  test('segments 0 and 1 deleted after segment 0 was looked at: not WAL_CORRUPTION', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    let fired = false;
    const fs = hooked(sim, async (op, args) => {
      if (op === 'open' && args[0] === segmentFile(DIR, 1) && !fired) {
        fired = true;
        // The writer, checkpointed through sequence 1: segments 0 and 1 go, oldest first.
        expect(await wal.truncateThrough(1)).toBe(2);
      }
    });
    const listed = await listSealedSegments(DIR, { fs });
    expect(fired).toBe(true);
    const bytes = sim.readFile(segmentFile(DIR, 2));
    expect(listed).toEqual([
      {
        segment: 2,
        file: segmentFile(DIR, 2),
        firstSequence: 2,
        lastSequence: 2,
        bytes: bytes.length,
        checksum: sha256(bytes),
      },
    ]);
  });
  test('a segment deleted by hand while earlier ones are still listed: WAL_CORRUPTION, the gap is not hidden', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    let fired = false;
    const fs = hooked(sim, async (op, args) => {
      if (op === 'open' && args[0] === segmentFile(DIR, 1) && !fired) {
        fired = true;
        await sim.unlink(segmentFile(DIR, 1)); // not retention: segment 0 stays
      }
    });
    await expect(listSealedSegments(DIR, { fs })).rejects.toMatchObject({ code: 'WAL_CORRUPTION' });
    expect(fired).toBe(true);
  });
});

describe('wal.sealedSegments() after WAL_TRUNCATED', () => {
  test('the feed ends after it threw, as after any other error; return() ends it too', async () => {
    const sim = new SimFs();
    const wal = await openWal({ dir: DIR, fs: sim });
    await sealedLog(wal);
    expect(await wal.truncateThrough(1)).toBe(2);
    const feed = wal.sealedSegments({ from: 0 });
    await expect(feed.next()).rejects.toMatchObject({ code: 'WAL_TRUNCATED' });
    expect(await feed.next()).toEqual({ done: true, value: undefined });
    const other = wal.sealedSegments({ from: 0 });
    await other.return?.();
    expect(await other.next()).toEqual({ done: true, value: undefined });
  });
});
