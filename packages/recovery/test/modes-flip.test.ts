// Every byte of a three-segment log flipped, once per mode. A flip damages
// exactly one unit (a segment header or a frame), so what each mode must do
// is known exactly: the test derives it from the layout, independently of
// the scanner, and checks entries, errors and stats against it.
import { CorruptionError, looksTorn } from '@wal/codec';
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
  SEGMENT_HEADER_SIZE,
  simLog,
} from './helpers.js';

const { sim, log } = simLog([
  [[put('a', '1')], [put('b', ''), del('a')], [put('c', 'three')]],
  [[del('b')], [put('d', 'x'.repeat(40))]],
  [[put('e', '5')], [put('f', '6'), put('g', '7'), del('e')], [put('h', 'last')]],
]);
const lastIndex = log.segments.length - 1;

interface Unit {
  segment: number;
  /** Frame index, or -1 for the header. */
  frame: number;
  offset: number;
  /** Damaged bytes: the frame, or the whole file for a header. */
  bytes: number;
}

function unitAt(log: BuiltLog, segment: number, p: number): Unit {
  const seg = log.segments[segment];
  if (!seg) throw new Error('fixture');
  if (p < SEGMENT_HEADER_SIZE) return { segment, frame: -1, offset: 0, bytes: seg.bytes.length };
  const frame = seg.frames.findIndex((f) => p < f.offset + f.size);
  const f = seg.frames[frame];
  if (!f) throw new Error('fixture');
  return { segment, frame, offset: f.offset, bytes: f.size };
}

// The writer's tail rule, applied to the flipped bytes.
function isTorn(unit: Unit, damaged: Uint8Array): boolean {
  const seg = log.segments[unit.segment];
  if (!seg || unit.segment !== lastIndex || unit.frame < 0) return false;
  if (unit.frame === seg.frames.length - 1) return true;
  return looksTorn(damaged.subarray(unit.offset, unit.offset + unit.bytes), unit.offset, 1 << 24);
}

const allBut = (unit: Unit): Plain[] =>
  log.segments.flatMap((s, i) =>
    s.frames.flatMap((f, j) =>
      i === unit.segment && (unit.frame < 0 || unit.frame === j) ? [] : f.entries,
    ),
  );

describe('flip every byte of a three-segment log, in every mode', () => {
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
        const torn = isTorn(unit, damaged);
        const prefix = entriesBefore(log, s, Math.max(unit.frame, 0));
        const where = `${mode}: byte ${p} of segment ${s}`;

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
            // Torn or not, the unit is the only thing lost.
            expect(entries, where).toEqual(allBut(unit));
          } else {
            expect(entries, where).toEqual(prefix);
            expect(result?.nextSequence, where).toBe(prefix.length);
          }
          if (unit.frame < 0) {
            expect(stats?.gaps, where).toMatchObject([{ kind: 'foreign', segment: s }]);
            expect(stats?.corruptions, where).toEqual([]);
          } else {
            const region = {
              segment: s,
              offset: unit.offset,
              bytes: torn ? seg.bytes.length - unit.offset : unit.bytes,
            };
            expect(stats?.tornTail, where).toEqual(torn ? expect.objectContaining(region) : null);
            const listed = mode === 'skip-corrupted' || !torn;
            expect(stats?.corruptions, where).toEqual(
              listed ? [expect.objectContaining(region)] : [],
            );
            expect(stats?.entriesCorrupted, where).toBe(listed ? 1 : 0);
          }
          if (mode === 'point-in-time') {
            const stops = unit.frame < 0 || !torn;
            expect(stats?.stoppedAt, where).toEqual(
              stops ? expect.objectContaining({ segment: s, offset: unit.offset }) : null,
            );
            // Nothing is lost from the accounting: every byte is a header, recovered, skipped or unread.
            const headers = SEGMENT_HEADER_SIZE * (unit.frame < 0 ? s : s + 1);
            const total = log.segments.reduce((n, x) => n + x.bytes.length, 0);
            expect(
              headers +
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
