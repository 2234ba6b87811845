// Every byte of a three-segment log flipped, once per mode. A flip damages
// exactly one unit (a segment header, a frame or a seal), so what each mode
// must do is known exactly: the test derives it from the layout (write
// groups and seals), independently of the scanner, and checks entries,
// errors and stats against it. Values hold zero-filled runs: rot in them is
// still rot, never a torn write.
import { CorruptionError } from '@wal/codec';
import { recover } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  type BuiltLog,
  del,
  entriesBefore,
  MODES,
  type Plain,
  plain,
  put,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  simLog,
} from './helpers.js';

const zeros = new Uint8Array(600);
const { sim, log } = await simLog([
  [[put('a', '1')], [put('b', ''), del('a')], [put('c', 'three')]],
  [[del('b')], [put('z', zeros)], [put('d', 'x'.repeat(40))]],
  {
    // Two frames synced one by one, then one write group of three never synced.
    batches: [
      [put('e', '5')],
      [put('f', '6'), put('g', '7'), del('e')],
      [put('h', 'last')],
      [put('y', zeros)],
      [put('i', '9')],
    ],
    synced: { groups: [1, 1, 3] },
  },
]);
const lastIndex = log.segments.length - 1;

interface Unit {
  segment: number;
  kind: 'header' | 'frame' | 'seal';
  /** Frame index (for a frame). */
  frame: number;
  offset: number;
  /** Damaged bytes: the frame or seal, or the whole file for a header. */
  bytes: number;
}

function unitAt(log: BuiltLog, segment: number, p: number): Unit {
  const seg = log.segments[segment];
  if (!seg) throw new Error('fixture');
  if (p < SEGMENT_HEADER_SIZE) {
    return { segment, kind: 'header', frame: -1, offset: 0, bytes: seg.bytes.length };
  }
  if (seg.sealAt !== null && p >= seg.sealAt) {
    return { segment, kind: 'seal', frame: -1, offset: seg.sealAt, bytes: SEAL_FRAME_SIZE };
  }
  const frame = seg.frames.findIndex((f) => p < f.offset + f.size);
  const f = seg.frames[frame];
  if (!f) throw new Error('fixture');
  return { segment, kind: 'frame', frame, offset: f.offset, bytes: f.size };
}

// The tail rule, from the layout: a frame of the last segment is torn when
// no later frame was written after it was durable.
function isTorn(unit: Unit): boolean {
  const seg = log.segments[unit.segment];
  if (!seg || unit.segment !== lastIndex || unit.kind !== 'frame') return false;
  return seg.frames.slice(unit.frame + 1).every((f) => f.synced <= unit.offset);
}

// Entries the scanner has read up to the unit (a seal comes after all of its segment's).
function prefixOf(unit: Unit): Plain[] {
  const frame = unit.kind === 'seal' ? Number.POSITIVE_INFINITY : Math.max(unit.frame, 0);
  return entriesBefore(log, unit.segment, frame);
}

const allBut = (unit: Unit): Plain[] =>
  log.segments.flatMap((s, i) =>
    s.frames.flatMap((f, j) =>
      i === unit.segment && (unit.kind === 'header' || unit.frame === j) ? [] : f.entries,
    ),
  );

// Bytes that are neither entries nor damage: headers and seals read.
function overheadRead(unit: Unit, stopped: boolean): number {
  let n = 0;
  for (const [i, s] of log.segments.entries()) {
    if (stopped && i > unit.segment) break;
    if (stopped && i === unit.segment && unit.kind === 'header') break;
    n += SEGMENT_HEADER_SIZE;
    const sealRead = s.sealAt !== null && !(i === unit.segment && unit.kind === 'seal');
    if (sealRead && !(stopped && i === unit.segment)) n += SEAL_FRAME_SIZE;
  }
  return n;
}

describe('flip every byte of a three-segment log, in every mode', () => {
  test('the layout has torn and rot cases in the last segment', () => {
    const last = log.segments[lastIndex];
    const units = last?.frames.map((_, j) =>
      isTorn({
        segment: lastIndex,
        kind: 'frame',
        frame: j,
        offset: last.frames[j]?.offset ?? 0,
        bytes: 0,
      }),
    );
    expect(units).toEqual([false, false, true, true, true]);
  });

  test.each(MODES)('%s', async (mode) => {
    let checked = 0;
    for (let s = 0; s < log.segments.length; s++) {
      const seg = log.segments[s];
      if (!seg) throw new Error('fixture');
      for (let p = 0; p < seg.bytes.length; p++) {
        const damaged = seg.bytes.slice();
        damaged[p] = (damaged[p] as number) ^ 0xff;
        sim.writeFile(seg.file, damaged);
        const unit = unitAt(log, s, p);
        const torn = isTorn(unit);
        const prefix = prefixOf(unit);
        const where = `${mode}: byte ${p} of segment ${s} (${unit.kind} at ${unit.offset})`;

        let error: unknown;
        let result: Awaited<ReturnType<typeof recover>> | undefined;
        try {
          result = await recover('/wal', { fs: sim, mode });
        } catch (e) {
          error = e;
        }
        const refuses = mode === 'strict' || (mode === 'tolerate-tail' && !torn);
        if (refuses) {
          expect(error, where).toBeInstanceOf(CorruptionError);
          expect(error, where).toMatchObject({ file: seg.file, offset: unit.offset });
        } else {
          expect(error, where).toBeUndefined();
          const stats = result?.stats;
          const entries = result?.entries.map(plain);
          if (mode === 'skip-corrupted') {
            // Rot, or a torn write it reads on past: the unit is the only thing lost.
            expect(entries, where).toEqual(allBut(unit));
          } else {
            // A torn tail is dropped in every mode; point-in-time stops at rot.
            expect(entries, where).toEqual(prefix);
            expect(result?.nextSequence, where).toBe(prefix.length);
          }
          if (unit.kind === 'header') {
            expect(stats?.damage, where).toEqual([
              expect.objectContaining({ reason: 'bad-header', segment: s, offset: 0 }),
            ]);
            expect(stats?.tornTail, where).toBeNull();
          } else {
            const region = {
              segment: s,
              offset: unit.offset,
              bytes:
                torn && mode !== 'skip-corrupted' ? seg.bytes.length - unit.offset : unit.bytes,
            };
            expect(stats?.tornTail, where).toEqual(torn ? expect.objectContaining(region) : null);
            const listed = mode === 'skip-corrupted' || !torn;
            expect(stats?.damage, where).toEqual(listed ? [expect.objectContaining(region)] : []);
            expect(stats?.damagedRegions, where).toBe(listed ? 1 : 0);
          }
          if (mode === 'point-in-time') {
            const stops = !torn;
            expect(stats?.stoppedAt, where).toEqual(
              stops ? expect.objectContaining({ segment: s, offset: unit.offset }) : null,
            );
            // Nothing is lost from the accounting: every byte is a header or
            // seal read, recovered, skipped or unread.
            const total = log.segments.reduce((n, x) => n + x.bytes.length, 0);
            expect(
              overheadRead(unit, stops) +
                (stats?.bytesRecovered ?? 0) +
                (stats?.bytesSkipped ?? 0) +
                (stats?.bytesUnread ?? 0),
              where,
            ).toBe(total);
          }
        }
        checked++;
      }
      sim.writeFile(seg.file, seg.bytes);
    }
    expect(checked).toBe(log.segments.reduce((n, x) => n + x.bytes.length, 0));
  });
});
