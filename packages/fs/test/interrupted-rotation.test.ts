// A rotation writes the seal, fdatasyncs it, then creates the next segment.
// When the writer dies (or its fdatasync fails) after the seal is written
// but before it is known durable, the next open finds a segment that looks
// sealed. It must make that seal durable before it starts the next segment
// and acknowledges anything there: otherwise a power loss takes the seal
// (and in 'none' mode the records before it) and leaves a later segment
// behind an unsealed one, which open refuses.
import { type SyncMode, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { describe, expect, test } from 'vitest';
import {
  framesOf,
  readEntries,
  readSegments,
  rejectsWith,
  segmentFile,
  segmentNames,
  simDisk,
} from './helpers.js';

const dir = '/log';

async function expectAfterPowerLoss(sim: SimFs, keys: string[]): Promise<void> {
  const image = sim.crash();
  const wal = await Wal.open({ dir, fs: image });
  const entries = readEntries(dir, simDisk(image));
  expect(entries.map((e) => e.key)).toEqual(keys);
  await wal.close();
}

describe.each(['always', 'none'] as const)("sync: '%s'", (sync: SyncMode) => {
  test('killed after writing the seal: the next process syncs it before using the next segment', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir, fs: sim, sync });
    expect(await wal.put('k0', 'v0')).toBe(0);
    let killed: SimFs | undefined;
    sim.onOperation = (event) => {
      if (event.op === 'write' && event.path === segmentFile(dir, 0) && !killed) {
        killed = sim.kill(); // the seal is in the page cache only
      }
    };
    await wal.rotate();
    sim.onOperation = undefined;
    const next = killed as SimFs;

    const again = await Wal.open({ dir, fs: next, sync: 'always' });
    expect(again.segment).toBe(1);
    expect(await again.put('k1', 'v1')).toBe(1); // acknowledged as durable
    await again.close();
    expect(segmentNames(dir, simDisk(next))).toEqual(['wal_00000000.log', 'wal_00000001.log']);
    await expectAfterPowerLoss(next, ['k0', 'k1']);
  });

  test("the seal's fdatasync failed: the reopened writer syncs it before using the next segment", async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir, fs: sim, sync });
    expect(await wal.put('k0', 'v0')).toBe(0);
    sim.inject({ ops: ['fdatasync'] });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    // Under 'none' k0 resolved unsynced, and the sync that would cover it failed.
    if (sync === 'none') await rejectsWith(wal.close(), 'WAL_FAILED');
    else await wal.close();

    const again = await Wal.open({ dir, fs: sim, sync: 'always' });
    expect(await again.put('k1', 'v1')).toBe(1);
    await again.close();
    await expectAfterPowerLoss(sim, ['k0', 'k1']);
  });
});

// Without a sync before it, a seal in 'none' or 'interval' mode would carry
// the watermark of the last sync. When creating the next segment then fails,
// the sealed segment stays the last one, which open scans under the tail
// rule: rot in a record before the seal would be cut as a torn tail. (With
// preallocated zeros the seal is preceded by the sync of their cut anyway.)
describe.each(['none', 'interval'] as const)("sync: '%s', the next segment not created", (sync) => {
  test('the seal vouches for every byte before it: rot there is refused, not cut', async () => {
    const sim = new SimFs();
    const wal = await Wal.open({ dir, fs: sim, sync, syncIntervalMs: 60_000, preallocateBytes: 0 });
    for (let i = 0; i < 5; i++) expect(await wal.put(`k${i}`, `v${i}`)).toBe(i);
    sim.inject({ ops: ['open'] });
    await rejectsWith(wal.rotate(), 'WAL_FAILED');
    await wal.close();
    const image = sim.crash();
    const frames = framesOf(readSegments(dir, simDisk(image))[0]);
    const seal = frames.at(-1);
    expect(seal).toMatchObject({ type: 'seal', synced: seal?.offset });

    const file = segmentFile(dir, 0);
    const bytes = new Uint8Array(image.readFile(file));
    const third = frames[2] as { offset: number; end: number };
    bytes[third.end - 1] = (bytes[third.end - 1] as number) ^ 0x01;
    image.writeFile(file, bytes);
    image.syncAll();
    const error = await rejectsWith(Wal.open({ dir, fs: image }), 'WAL_CORRUPTION');
    expect(error.message).toContain(`${file} at offset ${third.offset}`);
  });
});
