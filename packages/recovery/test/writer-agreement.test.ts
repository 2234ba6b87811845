// The tail policy must match the writer's open exactly: whatever the damage
// to the last segment, `tolerate-tail` drops the same tail that `Wal.open`
// cuts (or both refuse at the same offset), and both continue from the same
// sequence. Otherwise a log that recovers could fail to open, or the writer
// could cut records that recovery had returned. Both apply the one tail
// rule of the segment layer; this checks they agree on every kind of damage
// and every way the frames were synced.
import { CorruptionError, type WalOp } from '@wal/codec';
import { Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, verify } from '@wal/recovery';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { buildLog, concat, plain, SECTOR_SIZE, type SyncedSpec, writeLog } from './helpers.js';

const RUNS = Number(process.env.WAL_PROPERTY_RUNS ?? 400);

const value = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 500, maxLength: 2500 }),
);
const op: fc.Arbitrary<WalOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: fc.uint8Array({ maxLength: 8 }), value }),
  fc.record({ type: fc.constant('delete' as const), key: fc.uint8Array({ maxLength: 8 }) }),
);
const synced: fc.Arbitrary<SyncedSpec> = fc.oneof(
  fc.constant('each' as const),
  fc.constant('none' as const),
  fc
    .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 })
    .map((groups) => ({ groups })),
);
const segment = fc.record({
  batches: fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 6 }),
  synced,
  mark: fc.boolean(),
});

type Damage = (
  bytes: Uint8Array,
  frames: readonly { offset: number; size: number }[],
) => Uint8Array;
// Positions are fractions of the file, so shrinking keeps them in range.
const at = (bytes: Uint8Array, f: number) =>
  Math.min(bytes.length - 1, Math.floor(f * bytes.length));
const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const damage: fc.Arbitrary<{ name: string; apply: Damage }> = fc.oneof(
  fraction.map((f) => ({
    name: `truncate at ${f}`,
    apply: (b: Uint8Array) => b.subarray(0, Math.floor(f * b.length)),
  })),
  fc.tuple(fraction, fc.integer({ min: 1, max: 255 })).map(([f, x]) => ({
    name: `xor ${x} at ${f}`,
    apply: (b: Uint8Array) => {
      const c = b.slice();
      const p = at(c, f);
      c[p] = (c[p] as number) ^ x;
      return c;
    },
  })),
  fc.tuple(fraction, fc.boolean()).map(([f, cut]) => ({
    name: `zero the sector at ${f}${cut ? ', then cut within it' : ''}`,
    apply: (b: Uint8Array) => {
      const start = Math.floor(at(b, f) / SECTOR_SIZE) * SECTOR_SIZE;
      const c = b.slice();
      c.fill(0, start, start + SECTOR_SIZE);
      return cut ? c.subarray(0, Math.min(c.length, start + SECTOR_SIZE / 2)) : c;
    },
  })),
  fc.tuple(fraction, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([f, junk]) => ({
    name: `overwrite ${junk.length} bytes at ${f}`,
    apply: (b: Uint8Array) => {
      const c = b.slice();
      c.set(junk.subarray(0, c.length - at(c, f)), at(c, f));
      return c;
    },
  })),
  // One sector of some frame reads as zeros: a torn write when the frames
  // after it were written in the same unsynced window, bit rot when one was
  // written after it was synced. Open and recovery must tell them apart alike.
  fc.tuple(fraction, fraction).map(([which, where]) => ({
    name: `torn write in frame ${which}, sector ${where}`,
    apply: (b: Uint8Array, frames: readonly { offset: number; size: number }[]) => {
      const frame = frames[Math.floor(which * frames.length)];
      if (!frame) return b;
      const first = Math.ceil(frame.offset / SECTOR_SIZE) * SECTOR_SIZE;
      const sectors = Math.floor((frame.offset + frame.size - first) / SECTOR_SIZE);
      const start = sectors > 0 ? first + Math.floor(where * sectors) * SECTOR_SIZE : frame.offset;
      return b.slice().fill(0, start, sectors > 0 ? start + SECTOR_SIZE : start + 8);
    },
  })),
  fc.uint8Array({ minLength: 1, maxLength: 700 }).map((junk) => ({
    name: `append ${junk.length} junk bytes`,
    apply: (b: Uint8Array) => concat([b, junk]),
  })),
  fc.integer({ min: 1, max: 3000 }).map((n) => ({
    name: `append ${n} zeros`,
    apply: (b: Uint8Array) => concat([b, new Uint8Array(n)]),
  })),
);

test('tolerate-tail and Wal.open agree on every damaged last segment', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(segment, { minLength: 1, maxLength: 2 }),
      damage,
      async (specs, d) => {
        const log = buildLog('/wal', specs);
        const scanFs = new SimFs();
        await writeLog(log, scanFs);
        const last = log.segments.at(-1);
        if (!last) throw new Error('fixture');
        scanFs.writeFile(last.file, d.apply(last.bytes, last.frames));
        const openFs = scanFs.crash(); // an identical copy: everything was durable

        const scanned = await recover('/wal', { fs: scanFs }).catch((e: unknown) => e);
        const opened = await Wal.open({ dir: '/wal', fs: openFs, sync: 'none' }).catch(
          (e: unknown) => e,
        );
        if (scanned instanceof Error || opened instanceof Error) {
          expect(scanned, d.name).toBeInstanceOf(CorruptionError);
          expect(opened, d.name).toBeInstanceOf(CorruptionError);
          const [a, b] = [scanned as CorruptionError, opened as CorruptionError];
          expect([a.file, a.offset, a.reason], d.name).toEqual([b.file, b.offset, b.reason]);
          // verify refuses it too (whatever refuses is not a torn tail).
          expect((await verify('/wal', { fs: scanFs })).ok, d.name).toBe(false);
          return;
        }
        const r = scanned as Awaited<ReturnType<typeof recover>>;
        const wal = opened as Wal;
        const cut = wal.repairs[0];
        expect(wal.repairs.length, d.name).toBeLessThanOrEqual(1);
        expect(r.nextSequence, d.name).toBe(wal.nextSequence);
        expect(r.stats.tornTail?.offset ?? null, d.name).toBe(cut?.offset ?? null);
        expect(r.stats.tornTail?.file ?? null, d.name).toBe(cut ? last.file : null);
        expect(r.stats.tornTail?.bytes ?? null, d.name).toBe(cut?.bytes ?? null);
        await wal.close();
        // What the writer kept is exactly what recovery returned.
        const after = await recover('/wal', { fs: openFs, mode: 'strict' });
        expect(after.entries.map(plain)).toEqual(r.entries.map(plain));
      },
    ),
    { numRuns: RUNS },
  );
});
