// repair, the review's blind spot: a record whose own frame bytes are
// intact counts as intact even when its segment's header is damaged. Header
// salvage may keep it (by the stated salt, or a solved one it can verify) or
// list it lost when it cannot verify it, but never drop it silently.
import path from 'node:path';
import { HEADER_FIRST_SEQUENCE_OFFSET, HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import type { SimFs } from '@wal/fs/testing';
import { recover, repair } from '@wal/recovery';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type BuiltLog, flip, plain, puts, repairOrRefused, simLog } from './helpers.js';

type Op =
  | { kind: 'flip'; segment: number; at: number; mask: number }
  | { kind: 'header'; segment: number; at: number; mask: number }
  | { kind: 'delete'; segment: number }
  | { kind: 'copy'; from: number; to: number; headerByte: number | null }
  | { kind: 'cut'; segment: number; at: number };
const SEGMENTS = 4;
const segment = fc.integer({ min: 0, max: SEGMENTS - 1 });
const mask = fc.integer({ min: 1, max: 255 });
const headerByte = fc.integer({ min: 0, max: SEGMENT_HEADER_SIZE - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), segment, at: fc.nat(), mask }),
  // Header damage is weighted up: it is what header salvage reads past.
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('header' as const), segment, at: headerByte, mask }),
  },
  fc.record({ kind: fc.constant('delete' as const), segment }),
  fc.record({
    kind: fc.constant('copy' as const),
    from: segment,
    to: segment,
    headerByte: fc.option(headerByte),
  }),
  fc.record({ kind: fc.constant('cut' as const), segment, at: fc.nat() }),
);

// A record is intact when its own segment's file still has its frame byte
// for byte where it was written, whatever became of the header; with the
// header's salt field changed, only when the frames before it are intact
// too: salvage finds a salt by walking the frames from the header (a record
// past a rotted frame under a lost salt is beyond what repair can locate).
function intactSequences(sim: SimFs, names: Set<string>, log: BuiltLog): Set<number> {
  const intact = new Set<number>();
  for (const s of log.segments) {
    if (!names.has(path.basename(s.file))) continue;
    const bytes = Buffer.from(sim.readFile(s.file));
    const same = (from: number, to: number) =>
      to <= bytes.length &&
      bytes.subarray(from, to).equals(Buffer.from(s.bytes.subarray(from, to)));
    const saltKept = same(HEADER_SALT_OFFSET, HEADER_SALT_OFFSET + 4);
    let before = true;
    for (const f of s.frames) {
      const whole = same(f.offset, f.offset + f.size);
      if (whole && (saltKept || before)) for (const e of f.entries) intact.add(e.sequence);
      before &&= whole;
    }
  }
  return intact;
}

async function damage(sim: SimFs, log: BuiltLog, ops: readonly Op[]): Promise<void> {
  for (const o of ops) {
    const names = new Set(await sim.readdir('/wal'));
    const file = (n: number) => log.segments[n]?.file as string;
    const has = (n: number) => names.has(path.basename(file(n)));
    if (o.kind === 'delete' && has(o.segment)) await sim.unlink(file(o.segment));
    if ((o.kind === 'flip' || o.kind === 'header') && has(o.segment)) {
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
      sim.writeFile(file(o.to), o.headerByte === null ? bytes : flip(bytes, o.headerByte));
    }
  }
  sim.syncAll();
}

describe("records repair reads but places below the log's start are listed lost", () => {
  // Whether every sequence in `sequences` is kept in the repaired log or listed lost.
  async function accounted(sim: SimFs, sequences: number[]) {
    const done = await repair('/wal', { fs: sim });
    const r = await recover('/wal', { fs: sim, mode: 'strict' });
    const kept = new Set(r.entries.map((e) => e.sequence));
    const lost = (n: number) => done.lost.some((l) => l.firstSequence <= n && n < l.nextSequence);
    return { done, missing: sequences.filter((n) => !kept.has(n) && !lost(n)) };
  }

  test('a later damaged header over an intact record below where a salvaged copy starts the log: listed lost', async () => {
    // Segment 0 a rotted copy of segment 3 (sequence 3), 1 and 3 gone,
    // segment 2's header rotted in its first sequence (no longer one) over
    // its intact record (sequence 2).
    const { sim, log } = await simLog([1, 1, 1, 1].map((n, i) => puts(n, 8, `s${i}k`)));
    const [s0, s1, s2, s3] = log.segments as BuiltLog['segments'];
    if (!s0 || !s1 || !s2 || !s3) throw new Error('fixture');
    sim.writeFile(s0.file, flip(s3.bytes, 0));
    await sim.unlink(s1.file);
    sim.writeFile(s2.file, flip(s2.bytes, HEADER_FIRST_SEQUENCE_OFFSET + 7));
    await sim.unlink(s3.file);
    const { done, missing } = await accounted(sim, [2]);
    expect(missing).toEqual([]);
    expect(done.lost).toEqual([{ firstSequence: 2, nextSequence: 3 }]);
  });

  test('the first segment set aside (its header damaged, a later header starting too low): its records are listed lost', async () => {
    // Segment 1's header claims sequence 1, which segment 0's frames hold.
    const { sim, log } = await simLog([puts(2), { batches: puts(2), firstSequence: 1 }]);
    const [s0] = log.segments as BuiltLog['segments'];
    if (!s0) throw new Error('fixture');
    sim.writeFile(s0.file, flip(s0.bytes, 0));
    const { done, missing } = await accounted(sim, [0, 1]);
    expect(missing).toEqual([]);
    expect(done.actions).toMatchObject([{ action: 'remove', segment: 0 }, { segment: 1 }]);
  });

  test('the first segment set aside (magic and salt damaged, its seal rotted: its one record unverifiable): listed lost from where its header says it starts', async () => {
    const { sim, log } = await simLog([puts(1), puts(1), puts(1)]);
    const [s0] = log.segments as BuiltLog['segments'];
    if (!s0 || s0.sealAt === null) throw new Error('fixture');
    sim.writeFile(s0.file, flip(flip(flip(s0.bytes, 0), HEADER_SALT_OFFSET), s0.sealAt + 10));
    const { done, missing } = await accounted(sim, [0]);
    expect(missing).toEqual([]);
    expect(done.lost).toEqual([{ firstSequence: 0, nextSequence: 1 }]);
  });

  test('the first segment set aside (its salt damaged, its one frame rotted: nothing reads): listed lost from where its header says it starts', async () => {
    const { sim, log } = await simLog([puts(1), puts(1), puts(1)]);
    const [s0] = log.segments as BuiltLog['segments'];
    if (!s0) throw new Error('fixture');
    sim.writeFile(s0.file, flip(flip(s0.bytes, HEADER_SALT_OFFSET), SEGMENT_HEADER_SIZE + 3, 0x40));
    const done = await repair('/wal', { fs: sim });
    expect(done.lost).toEqual([{ firstSequence: 0, nextSequence: 1 }]);
    expect(done.nextSequence).toBe(3);
  });

  test('the first segment set aside (its salt damaged, its one frame and its seal rotted: nothing reads under any salt): listed lost from where its header says it starts', async () => {
    // The header's CRC gives its salt back, but no frame validates under it:
    // only the stated first sequence says what the segment held.
    const { sim, log } = await simLog([puts(1), puts(1), puts(1)]);
    const [s0] = log.segments as BuiltLog['segments'];
    if (!s0 || s0.sealAt === null) throw new Error('fixture');
    const salted = flip(s0.bytes, HEADER_SALT_OFFSET);
    sim.writeFile(s0.file, flip(flip(salted, SEGMENT_HEADER_SIZE + 3, 0x40), s0.sealAt + 10));
    const done = await repair('/wal', { fs: sim });
    expect(done.actions).toMatchObject([{ action: 'remove', segment: 0 }, { segment: 1 }]);
    expect(done.lost).toEqual([{ firstSequence: 0, nextSequence: 1 }]);
    expect(done.nextSequence).toBe(3);
  });

  test('segments 0 and 1 swapped (each set aside: its own number is taken): their records are listed lost', async () => {
    const { sim, log } = await simLog([puts(2), puts(2), puts(2)]);
    const [s0, s1] = log.segments as BuiltLog['segments'];
    if (!s0 || !s1) throw new Error('fixture');
    sim.writeFile(s0.file, s1.bytes);
    sim.writeFile(s1.file, s0.bytes);
    const { done, missing } = await accounted(sim, [0, 1, 2, 3]);
    expect(missing).toEqual([]);
    expect(done.lost).toEqual([{ firstSequence: 0, nextSequence: 4 }]);
  });
});

describe('repair never drops a record with intact frame bytes without saying so, its header damaged or not', () => {
  test('whatever header damage, flips, deletions, cuts and copies: a record whose frame is intact is kept as it was, or its sequence is listed lost; nothing kept differs from what was written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: SEGMENTS, maxLength: SEGMENTS }),
        fc.array(op, { minLength: 1, maxLength: 4 }),
        async (counts, ops) => {
          const { sim, log } = await simLog(counts.map((n, i) => puts(n, 8, `s${i}k`)));
          await damage(sim, log, ops);
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
      { numRuns: Number(process.env.WAL_PROPERTY_RUNS ?? 300) },
    );
  });
});
