// Retention deletes segments oldest first, each unlink made durable (the
// directory fsynced) before the next: a power loss may then bring back a
// suffix of what was deleted, never leave an older segment behind a newer
// one deleted (a gap in the chain, which open refuses). When that directory
// fsync fails, the unlink stays undurable, so the next retention call must
// redo the fsync before it deletes more, and before it resolves.
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readEntries, rejectsWith, segmentNames, simDisk } from './helpers.js';

const dir = '/log';

// Segments 0 to 3 sealed, each holding one put (k0 to k3); 4 is active.
async function fourSealed(sim: SimFs, maxSegments?: number): Promise<Wal> {
  const wal = await Wal.open({ dir, fs: sim, maxSegments });
  for (let i = 0; i < 4; i++) {
    expect(await wal.put(`k${i}`, 'v')).toBe(i);
    await wal.rotate();
  }
  return wal;
}

interface Image {
  fs: SimFs;
  plan: string;
}

// Every post-crash state of this instant.
function crashImages(sim: SimFs): Image[] {
  return [...sim.crashPlans({ cuts: 'write-ends' })].map((plan) => ({
    fs: sim.crash(plan),
    plan: sim.describeCrashPlan(plan),
  }));
}

// The images of every instant `run` unlinks a segment.
async function imagesAtUnlinks(sim: SimFs, run: () => Promise<unknown>): Promise<Image[]> {
  const images: Image[] = [];
  sim.onOperation = (event) => {
    if (event.op === 'unlink' && !event.error) images.push(...crashImages(sim));
  };
  try {
    await run();
  } finally {
    sim.onOperation = undefined;
  }
  return images;
}

// The image opens, its entries contiguous and ending with the last put.
async function expectOpens({ fs, plan }: Image): Promise<void> {
  const opened = await Wal.open({ dir, fs }).catch((e: Error) => e);
  expect(opened, `${plan}: ${(opened as Error).message}`).toBeInstanceOf(Wal);
  await (opened as Wal).close();
  const entries = readEntries(dir, simDisk(fs));
  expect(entries.at(-1)?.key, plan).toBe('k3');
}

describe("a retention unlink's directory fsync that failed", () => {
  test('truncateThrough: redone before the next unlink, so no power loss leaves a gap', async () => {
    const sim = new SimFs();
    const wal = await fourSealed(sim);
    sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(wal.truncateThrough(0), 'WAL_IO_ERROR');
    expect(segmentNames(dir, simDisk(sim))).not.toContain('wal_00000000.log');
    const images = await imagesAtUnlinks(sim, async () => {
      expect(await wal.truncateThrough(1)).toBe(1);
    });
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) await expectOpens(image);
    await wal.close();
  });

  test('dropExcessSegments: redone before the next unlink, so no power loss leaves a gap', async () => {
    const sim = new SimFs();
    await (await fourSealed(sim)).close();
    // Five segments, three kept: the first call deletes one and fails, the next one more.
    const wal = await Wal.open({ dir, fs: sim, maxSegments: 3 });
    sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(wal.dropExcessSegments(), 'WAL_IO_ERROR');
    expect(wal.retentionError?.code).toBe('WAL_IO_ERROR');
    expect(segmentNames(dir, simDisk(sim))).not.toContain('wal_00000000.log');
    const images = await imagesAtUnlinks(sim, async () => {
      expect(await wal.dropExcessSegments()).toBe(1);
    });
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) await expectOpens(image);
    expect(wal.retentionError).toBeUndefined();
    await wal.close();
  });

  test('a later call that has nothing left to delete redoes it before resolving', async () => {
    const sim = new SimFs();
    const wal = await fourSealed(sim);
    sim.inject({ ops: ['fsyncDir'] });
    await rejectsWith(wal.truncateThrough(0), 'WAL_IO_ERROR');
    expect(await wal.truncateThrough(0)).toBe(0);
    // Resolved: the deletion is durable, no power loss brings segment 0 back.
    const image = sim.crash();
    expect(segmentNames(dir, simDisk(image))).not.toContain('wal_00000000.log');
    await wal.close();
  });
});

test('property: appends, rotations and retention under single faults; a power loss at any directory operation leaves a log that opens with every acknowledged put', async () => {
  const op = fc.constantFrom('put', 'rotate', 'truncateThrough', 'dropExcessSegments');
  const fault = fc.constantFrom(undefined, 'fsyncDir', 'unlink', 'rename', 'fdatasync');
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ op, back: fc.nat({ max: 6 }), fault }), { maxLength: 25 }),
      fc.constantFrom(undefined, 2, 3),
      async (commands, maxSegments) => {
        const sim = new SimFs();
        let wal = await Wal.open({ dir, fs: sim, maxSegments });
        let acknowledged = 0;
        const images: (Image & { acknowledged: number })[] = [];
        sim.onOperation = (event) => {
          if (event.error || !['unlink', 'fsyncDir', 'rename'].includes(event.op)) return;
          const plans = sim.countCrashPlans({ cuts: 'write-ends' }) <= 64;
          const taken = plans ? crashImages(sim) : [{ fs: sim.crash(), plan: 'worst case' }];
          for (const image of taken) images.push({ ...image, acknowledged });
        };
        for (const c of commands) {
          if (c.fault) sim.inject({ ops: [c.fault] });
          try {
            if (c.op === 'put') acknowledged = (await wal.put('k', 'v')) + 1;
            else if (c.op === 'rotate') await wal.rotate();
            else if (c.op === 'truncateThrough')
              await wal.truncateThrough(Math.max(0, acknowledged - 1 - c.back));
            else await wal.dropExcessSegments();
          } catch {
            // A fault: the writer stays open, or is reopened below.
          }
          sim.clearFaults();
          if (wal.state === 'failed') {
            await wal.close().catch(() => undefined);
            wal = await Wal.open({ dir, fs: sim, maxSegments });
          }
        }
        sim.onOperation = undefined;
        await wal.close().catch(() => undefined);
        for (const image of images) {
          const opened = await Wal.open({ dir, fs: image.fs }).catch((e: Error) => e);
          expect(opened, `${image.plan}: ${(opened as Error).message}`).toBeInstanceOf(Wal);
          expect((opened as Wal).nextSequence).toBeGreaterThanOrEqual(image.acknowledged);
          await (opened as Wal).close();
        }
      },
    ),
    { numRuns: 100 },
  );
});
