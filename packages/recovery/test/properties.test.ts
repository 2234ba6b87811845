// Random logs with random damage of several kinds at once (flips, zeroed
// ranges, cut, copied or deleted segments, junk), checked against what was
// written: no mode ever returns a wrong entry, and each keeps its promise.
import { SEAL_FRAME_SIZE, SEGMENT_HEADER_SIZE, type WalOp } from '@wal/codec';
import { SimFs } from '@wal/fs/testing';
import { recover, verify } from '@wal/recovery';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  buildLog,
  concat,
  MODES,
  type Plain,
  plain,
  type SyncedSpec,
  writeLog,
} from './helpers.js';

const RUNS = Number(process.env.WAL_PROPERTY_RUNS ?? 300);

const op: fc.Arbitrary<WalOp> = fc.oneof(
  fc.record({
    type: fc.constant('put' as const),
    key: fc.uint8Array({ maxLength: 6 }),
    value: fc.oneof(
      fc.uint8Array({ maxLength: 30 }),
      fc.uint8Array({ minLength: 400, maxLength: 1200 }),
    ),
  }),
  fc.record({ type: fc.constant('delete' as const), key: fc.uint8Array({ maxLength: 6 }) }),
);
const synced: fc.Arbitrary<SyncedSpec> = fc.oneof(
  fc.constant('each' as const),
  fc.constant('none' as const),
  fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 })
    .map((groups) => ({ groups })),
);
const segments = fc.array(
  fc.record({
    batches: fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 5 }),
    synced,
  }),
  { minLength: 1, maxLength: 4 },
);

type Hit =
  | { kind: 'xor'; at: number; x: number }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'cut'; at: number }
  | { kind: 'junk'; bytes: Uint8Array }
  | { kind: 'delete' }
  | { kind: 'copy'; from: number };
const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const hit: fc.Arbitrary<{ segment: number; hit: Hit }> = fc.record({
  segment: fc.nat(3),
  hit: fc.oneof(
    fc.record({
      kind: fc.constant('xor' as const),
      at: fraction,
      x: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({
      kind: fc.constant('zero' as const),
      at: fraction,
      length: fc.integer({ min: 1, max: 700 }),
    }),
    fc.record({ kind: fc.constant('cut' as const), at: fraction }),
    fc.record({
      kind: fc.constant('junk' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 100 }),
    }),
    fc.record({ kind: fc.constant('delete' as const) }),
    // Another segment's bytes under this name (a swapped or duplicated file).
    fc.record({ kind: fc.constant('copy' as const), from: fc.nat(3) }),
  ),
});

function apply(bytes: Uint8Array, h: Hit, others: readonly Uint8Array[]): Uint8Array | null {
  const at = Math.floor(('at' in h ? h.at : 0) * bytes.length);
  const c = bytes.slice();
  if (h.kind === 'copy') return (others[h.from % others.length] as Uint8Array).slice();
  if (h.kind === 'xor' && at < c.length) c[at] = (c[at] as number) ^ h.x;
  if (h.kind === 'zero') c.fill(0, at, at + h.length);
  if (h.kind === 'cut') return c.subarray(0, at);
  if (h.kind === 'junk') return concat([c, h.bytes]);
  if (h.kind === 'delete') return null;
  return c;
}

test('no mode returns a wrong entry; each keeps its promise', async () => {
  await fc.assert(
    fc.asyncProperty(
      segments,
      fc.array(hit, { minLength: 1, maxLength: 3 }),
      async (specs, hits) => {
        const log = buildLog('/wal', specs);
        const sim = new SimFs();
        await writeLog(log, sim);
        const files = new Map(log.segments.map((s) => [s.file, s.bytes as Uint8Array | null]));
        const originals = log.segments.map((s) => s.bytes);
        for (const { segment, hit: h } of hits) {
          const file = log.segments[segment % log.segments.length]?.file as string;
          const bytes = files.get(file);
          if (bytes) files.set(file, apply(bytes, h, originals));
        }
        for (const [file, bytes] of files) {
          if (bytes) sim.writeFile(file, bytes);
          else await sim.unlink(file);
        }
        const bySequence = new Map(log.entries.map((e) => [e.sequence, e]));
        const present = [...files.values()].filter((b): b is Uint8Array => b !== null);
        const total = present.reduce((n, b) => n + b.length, 0);
        const hasShort = present.some((b) => b.length < SEGMENT_HEADER_SIZE);

        const results = new Map<string, Plain[]>();
        let skipReadPastTorn = false;
        for (const mode of MODES) {
          const r = await recover('/wal', { fs: sim, mode }).catch((e: unknown) => e);
          if (r instanceof Error) {
            // Only the refusing modes refuse, and only with WAL_CORRUPTION.
            expect(['strict', 'tolerate-tail']).toContain(mode);
            expect(r).toMatchObject({ code: 'WAL_CORRUPTION' });
            continue;
          }
          const { entries, stats } = r as Awaited<ReturnType<typeof recover>>;
          const got = entries.map(plain);
          results.set(mode, got);
          if (mode === 'skip-corrupted') skipReadPastTorn = stats.tornTail !== null;
          // Never a wrong entry, never out of order.
          for (const [i, e] of got.entries()) {
            expect(e).toEqual(bySequence.get(e.sequence));
            if (i > 0) expect(e.sequence).toBeGreaterThan((got[i - 1] as Plain).sequence);
          }
          // Every mode but skip-corrupted returns an unbroken run of the log
          // (from its first segment still there: the front may be cut away).
          if (mode !== 'skip-corrupted' && got.length > 0) {
            const from = (got[0] as Plain).sequence;
            expect(got).toEqual(log.entries.slice(from, from + got.length));
          }
          // Every byte is accounted for: a header, a seal, recovered, skipped or
          // unread. Seals read are not counted anywhere, so what is left over
          // must be whole seals, at most one per segment scanned. (Files too
          // short for a header are left out: they have no header to count.)
          if ((mode === 'point-in-time' || mode === 'skip-corrupted') && !hasShort) {
            const headers = SEGMENT_HEADER_SIZE * stats.segmentsScanned;
            const { bytesRecovered, bytesSkipped, bytesUnread, bytesFree } = stats;
            const left =
              total - (headers + bytesRecovered + bytesSkipped + bytesUnread + bytesFree);
            expect(left % SEAL_FRAME_SIZE, mode).toBe(0);
            expect(left, mode).toBeGreaterThanOrEqual(0);
            expect(left, mode).toBeLessThanOrEqual(SEAL_FRAME_SIZE * stats.segmentsScanned);
          }
          expect(stats.nextSequence).toBeGreaterThan(stats.lastSequence ?? -1);
        }
        // A clean refusal-free scan is a prefix of point-in-time's, which skip-corrupted extends.
        const pit = results.get('point-in-time') ?? [];
        const skip = results.get('skip-corrupted') ?? [];
        expect(skip.slice(0, pit.length)).toEqual(pit);
        for (const mode of ['strict', 'tolerate-tail']) {
          const got = results.get(mode);
          if (got) expect(got).toEqual(pit);
        }
        // verify agrees with the scans: ok exactly when tolerate-tail reads the log.
        const report = await verify('/wal', { fs: sim });
        expect(report.ok).toBe(results.has('tolerate-tail'));
        // It reads no further than a torn tail, which skip-corrupted reads past.
        expect(report.entries).toBeGreaterThanOrEqual(skipReadPastTorn ? pit.length : skip.length);
      },
    ),
    { numRuns: RUNS },
  );
});
