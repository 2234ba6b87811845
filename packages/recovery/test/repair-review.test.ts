// repair, cases a review found: a salt solved from a single frame is no
// proof of that frame (it validates any frame, rotted or not), and a
// damaged header's frames that are another segment's copy must not take
// sequences later segments hold.
import path from 'node:path';
import { HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import type { SimFs } from '@wal/fs/testing';
import { recover, repair } from '@wal/recovery';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  edit,
  flip,
  hex,
  plain,
  put,
  puts,
  repairOrRefused,
  simLog,
  utf8,
} from './helpers.js';

// A copy of `bytes` with the first `from` (a UTF-8 string in them) made `to`.
function replaceText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const at = Buffer.from(bytes).indexOf(Buffer.from(from));
  if (at < 0 || from.length !== to.length) throw new Error('fixture');
  return edit(bytes, (b) => b.set(utf8(to), at));
}

const valuesOf = async (sim: SimFs) =>
  (await recover('/wal', { fs: sim, mode: 'strict' })).entries.map(plain).map((e) => e.value);

describe('a damaged header over a segment of one record', () => {
  // Segment 0 sealed (sequences 0, 1); segment 1, the last, holds one record (2).
  async function oneRecord() {
    const { sim, log } = await simLog([puts(2), [[put('one', 'value-one')]]]);
    return { sim, log, s1: log.segments[1] as BuiltLog['segments'][number] };
  }

  test('its magic flipped and its value rotted: the record is not rebuilt from a salt solved from it; lost says so', async () => {
    const { sim, s1 } = await oneRecord();
    sim.writeFile(s1.file, replaceText(flip(s1.bytes, 0), 'value-one', 'value-ond'));
    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({ nextSequence: 3, lost: [{ firstSequence: 2, nextSequence: 3 }] });
    expect(done.actions).toMatchObject([
      { action: 'remove', segment: 1, damage: [{ reason: 'bad-header' }] },
      { action: 'create', segment: 1, lost: [{ firstSequence: 2, nextSequence: 3 }] },
    ]);
    const values = await valuesOf(sim);
    expect(values).not.toContain(hex(utf8('value-ond')));
    expect(values).toHaveLength(2);
  });

  test('its salt damaged, its record intact: the solved salt makes the header whole, so the record is kept', async () => {
    const { sim, s1 } = await oneRecord();
    sim.writeFile(s1.file, flip(s1.bytes, HEADER_SALT_OFFSET + 1, 0x10));
    const done = await repair('/wal', { fs: sim });
    expect(done).toMatchObject({ nextSequence: 3, lastSequence: 2, lost: [] });
    expect(await valuesOf(sim)).toContain(hex(utf8('value-one')));
  });
});

describe('a damaged header over a copy of a later segment', () => {
  test('segment 0 a rotted copy of segment 3, segment 1 missing: the copy takes no sequence of segment 2; nothing dropped unreported', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2), puts(2)]);
    const [s0, s1, , s3] = log.segments as BuiltLog['segments'];
    if (!s0 || !s1 || !s3) throw new Error('fixture');
    sim.writeFile(s0.file, flip(s3.bytes, 0));
    await sim.unlink(s1.file);
    const done = await repair('/wal', { fs: sim });
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    const kept = new Set(r.entries.map((e) => e.sequence));
    const lost = (n: number) => done.lost.some((l) => l.firstSequence <= n && n < l.nextSequence);
    // Sequences 4..7 are intact in segments 2 and 3.
    for (const n of [4, 5, 6, 7]) expect(kept.has(n) || lost(n), `sequence ${n}`).toBe(true);
    expect(r.entries.map(plain)).toEqual(log.entries.filter((e) => e.sequence >= 4));
    expect(done).toMatchObject({ nextSequence: 8, lastSequence: 7, lost: [] });
    expect(done.actions).toMatchObject([{ action: 'remove', segment: 0 }]);
  });
});

describe('repair never drops an intact record without saying so', () => {
  type Op =
    | { kind: 'flip'; segment: number; at: number; mask: number }
    | { kind: 'delete'; segment: number }
    | { kind: 'copy'; from: number; to: number; headerByte: number | null }
    | { kind: 'cut'; segment: number; at: number };
  const SEGMENTS = 4;
  const segment = fc.integer({ min: 0, max: SEGMENTS - 1 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('flip' as const),
      segment,
      at: fc.nat(),
      mask: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), segment }),
    fc.record({
      kind: fc.constant('copy' as const),
      from: segment,
      to: segment,
      headerByte: fc.option(fc.integer({ min: 0, max: SEGMENT_HEADER_SIZE - 1 })),
    }),
    fc.record({ kind: fc.constant('cut' as const), segment, at: fc.nat() }),
  );

  // A record is intact when its segment's file still has its header and its
  // frame byte for byte where they were written.
  function intactSequences(sim: SimFs, names: Set<string>, log: BuiltLog): Set<number> {
    const intact = new Set<number>();
    for (const s of log.segments) {
      if (!names.has(path.basename(s.file))) continue;
      const bytes = Buffer.from(sim.readFile(s.file));
      const same = (from: number, to: number) =>
        to <= bytes.length &&
        bytes.subarray(from, to).equals(Buffer.from(s.bytes.subarray(from, to)));
      if (!same(0, SEGMENT_HEADER_SIZE)) continue;
      for (const f of s.frames)
        if (same(f.offset, f.offset + f.size)) for (const e of f.entries) intact.add(e.sequence);
    }
    return intact;
  }

  test('whatever flips, deletions, cuts and copies of segments: an intact record is kept as it was, or its sequence is listed lost; nothing kept differs from what was written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: SEGMENTS, maxLength: SEGMENTS }),
        fc.array(op, { minLength: 1, maxLength: 4 }),
        async (counts, ops) => {
          const { sim, log } = await simLog(counts.map((n, i) => puts(n, 8, `s${i}k`)));
          for (const o of ops) {
            const names = new Set(await sim.readdir('/wal'));
            const file = (n: number) => log.segments[n]?.file as string;
            const has = (n: number) => names.has(path.basename(file(n)));
            if (o.kind === 'delete' && has(o.segment)) await sim.unlink(file(o.segment));
            if (o.kind === 'flip' && has(o.segment)) {
              const bytes = sim.readFile(file(o.segment));
              if (bytes.length > 0)
                sim.writeFile(file(o.segment), flip(bytes, o.at % bytes.length, o.mask));
            }
            if (o.kind === 'cut' && has(o.segment)) {
              const bytes = sim.readFile(file(o.segment));
              sim.writeFile(file(o.segment), bytes.slice(0, o.at % (bytes.length + 1)));
            }
            if (o.kind === 'copy' && o.from !== o.to) {
              const bytes = log.segments[o.from]?.bytes as Uint8Array;
              const copy = o.headerByte === null ? bytes : flip(bytes, o.headerByte);
              sim.writeFile(file(o.to), copy);
            }
          }
          sim.syncAll();
          const intact = intactSequences(sim, new Set(await sim.readdir('/wal')), log);
          const done = await repairOrRefused(sim);
          if (done === null) return;
          const r = await recover('/wal', { fs: sim, mode: 'strict' });
          const written = new Map(log.entries.map((e) => [e.sequence, e]));
          const kept = new Map(r.entries.map(plain).map((e) => [e.sequence, e]));
          for (const e of kept.values())
            expect(e, 'a kept record as written').toEqual(written.get(e.sequence));
          const lost = (n: number) =>
            done.lost.some((l) => l.firstSequence <= n && n < l.nextSequence);
          for (const n of intact)
            expect(kept.has(n) || lost(n), `sequence ${n}: kept or listed lost`).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
