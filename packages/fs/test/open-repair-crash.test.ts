// A crash at every operation of open's own repair (rewrite, copy into
// .broken, cut, the vouching mark and its sync, directory fsyncs), each way a
// power loss or kill can leave the files, then a reopen: it must open, keep
// what was durable, and continue at or above it; then an append under
// 'always' and another crash keep it.
import { Wal } from '@wal/fs';
import { SimFs as Sim, type SimFs, seededRandom } from '@wal/fs/testing';
import { expect, test } from 'vitest';
import { readEntries, simDisk } from './helpers.js';

const DIR = '/log';

async function crashedWithTornTail(): Promise<SimFs[]> {
  const sim = new Sim();
  const wal = await Wal.open({ dir: DIR, fs: sim, sync: 'none', preallocateBytes: 700 });
  for (let i = 0; i < 5; i++) await wal.put(`a${i}`, `A${i}:${'a'.repeat(150)}`);
  await wal.sync();
  expect(wal.durableSequence).toBe(5);
  for (let i = 0; i < 5; i++) await wal.put(`b${i}`, `B${i}:${'b'.repeat(150)}`);
  const images: SimFs[] = [];
  for (const plan of sim.crashPlans({ cuts: 'write-ends' })) images.push(sim.crash(plan));
  return images;
}

function brokenNames(sim: SimFs): string[] {
  return simDisk(sim)
    .names(DIR)
    .filter((name) => /\.broken(\.\d+)?$/.test(name));
}

test('a crash at each step of a repairing open, then reopen: nothing durable lost, no sequence reused', async () => {
  const random = seededRandom(7);
  const images = await crashedWithTornTail();
  let cutting = 0;
  let checked = 0;
  for (const image of images) {
    // Probe: how many operations does this open take, and does it cut?
    const probe = image.kill();
    const start = probe.operations;
    const w = await Wal.open({ dir: DIR, fs: probe, sync: 'always' });
    const ops = probe.operations - start;
    const cut = w.repairs.length > 0;
    await w.close();
    if (!cut) continue;
    const copy = probe.readFile(`${DIR}/${brokenNames(probe)[0]}`);
    cutting++;
    // Every third repairing image: the crash points inside open are what vary.
    if (cutting % 3 !== 1) continue;
    for (let k = 1; k <= ops; k++) {
      for (let variant = 0; variant < 4; variant++) {
        const base = image.kill();
        let crashed: SimFs | undefined;
        const at = base.operations + k;
        base.onOperation = (event) => {
          if (!crashed && event.index >= at) {
            crashed =
              variant === 0
                ? base.crash()
                : variant === 1
                  ? base.kill()
                  : base.crash(base.randomCrashPlan(random));
          }
        };
        await Wal.open({ dir: DIR, fs: base, sync: 'always' }).catch(() => undefined);
        base.onOperation = undefined;
        if (!crashed) continue;
        // The copy of the cut bytes is whole under its name, or not there.
        for (const name of brokenNames(crashed))
          expect(crashed.readFile(`${DIR}/${name}`), `${name}, op ${k} v${variant}`).toEqual(copy);
        let second: Wal;
        try {
          second = await Wal.open({ dir: DIR, fs: crashed, sync: 'always' });
        } catch (error) {
          throw new Error(
            `open after a crash at op ${k}/${ops} (variant ${variant}) of the repairing open failed`,
            { cause: error },
          );
        }
        expect(second.nextSequence, `op ${k} v${variant}`).toBeGreaterThanOrEqual(5);
        const entries = readEntries(DIR, simDisk(crashed));
        expect(entries.length).toBe(second.nextSequence);
        for (let i = 0; i < 5; i++) expect(entries[i]?.value).toBe(`A${i}:${'a'.repeat(150)}`);
        // Then write under 'always' and crash again: acknowledged stays.
        const s = await second.put('c', 'C');
        const again = crashed.crash(crashed.randomCrashPlan(random));
        const third = await Wal.open({ dir: DIR, fs: again, sync: 'always' });
        expect(third.nextSequence).toBeGreaterThan(s);
        expect(readEntries(DIR, simDisk(again))[s]?.value).toBe('C');
        checked++;
      }
    }
  }
  expect(cutting).toBeGreaterThan(0);
  expect(checked).toBeGreaterThan(cutting);
  console.log(
    `repairing open crashes: ${images.length} crash images, ${cutting} cut a torn tail (every third taken), ${checked} crashes inside that open checked, 0 problems`,
  );
}, 600_000);
