// wal dump --frames: every record as stored (file, offset, frame size, type,
// synced, a batch's first sequence and op count with its entries beneath),
// damaged regions in place, in text and JSON Lines.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { FRAME_HEADER_SIZE, HOLE_RECORD_SIZE } from '@wal/codec';
import type { VerifyReport } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  cleanLog,
  type FrameAt,
  flipByte,
  flipFrame,
  flipFrames,
  frameOf,
  framesOf,
  removeSegment,
  segment,
  segmentNumbers,
  sequencesIn,
  tearLastBatch,
} from './support/logs.js';
import { lines, literal, run, runJson } from './support/run.js';

interface FrameLine {
  kind: 'frame' | 'damage';
  file: string;
  segment: number;
  offset: number;
  size: number;
  bytes: number;
  type: 'batch' | 'seal' | 'hole' | 'mark';
  synced: number;
  firstSequence: number;
  nextSequence: number;
  ops: number;
  records: number;
  incident: number;
  entries?: { sequence: number; type: string; key: string; value?: string }[];
  reason: string;
  torn: boolean;
}

/** The text lines of a one-put batch of the fixture: the frame, then its entry. */
const batchText = (f: FrameAt): string[] => [
  `${path.basename(f.file)} offset ${f.offset} size ${f.size} batch first ${f.first} ops 1 synced ${f.synced}`,
  `  ${f.first} put "key-${f.first}" "value-${f.first}"`,
];

async function frames(
  argv: string[],
): Promise<{ code: number; rows: FrameLine[]; stderr: string }> {
  const r = await run(['dump', ...argv, '--frames', '--json']);
  return { code: r.code, rows: lines(r.stdout).map((l) => JSON.parse(l)), stderr: r.stderr };
}

describe('wal dump --frames', () => {
  test('text: one line per record, a batch with its entries beneath', async () => {
    const { dir } = await cleanLog();
    const r = await run(['dump', dir, '--frames']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    expect(out.slice(0, 4)).toEqual([
      'wal_00000000.log offset 48 size 46 batch first 0 ops 1 synced 48',
      '  0 put "key-0" "value-0"',
      'wal_00000000.log offset 94 size 46 batch first 1 ops 1 synced 48',
      '  1 put "key-1" "value-1"',
    ]);
    const zero = await framesOf(dir, 0);
    const seal = zero.at(-1) as FrameAt;
    const records = zero.length - 1;
    expect(out).toContain(
      `wal_00000000.log offset ${seal.offset} size ${seal.size} seal next ${seal.first} records ${records} bytes ${seal.end} synced ${seal.synced}`,
    );
    // The two-op batch: one frame, its entries grouped beneath it.
    const two = await frameOf(dir, 41);
    const at = `${path.basename(two.file)} offset ${two.offset} size ${two.size}`;
    const batch = out.indexOf(`${at} batch first 41 ops 2 synced ${two.synced}`);
    expect(batch).toBeGreaterThan(0);
    expect(out[batch + 1]).toMatch(/^ {2}41 put "bin\\n\\"é" /);
    expect(out[batch + 2]).toBe('  42 delete "key-4"');
    // Close writes a mark after its final sync: its synced is its own offset.
    const mark = (await framesOf(dir, two.segment)).at(-1) as FrameAt;
    expect(out.at(-1)).toBe(
      `${path.basename(mark.file)} offset ${mark.offset} size ${mark.size} mark next 44 synced ${mark.offset}`,
    );
  });

  test('JSON Lines: the frames tile every segment from its header to its end', async () => {
    const { dir } = await cleanLog();
    const { code, rows } = await frames([dir]);
    expect(code).toBe(0);
    expect(rows.every((f) => f.kind === 'frame')).toBe(true);
    for (const n of segmentNumbers(dir)) {
      const own = rows.filter((f) => f.segment === n);
      expect(own[0]?.offset).toBe(48);
      for (let i = 1; i < own.length; i++) {
        expect(own[i]?.offset).toBe((own[i - 1]?.offset ?? 0) + (own[i - 1]?.size ?? 0));
      }
      const end = (own.at(-1)?.offset ?? 0) + (own.at(-1)?.size ?? 0);
      expect(end).toBe(fs.statSync(segment(dir, n)).size);
      expect(own.every((f) => f.file === segment(dir, n))).toBe(true);
    }
    // Every batch's entries are its ops, in sequence from its first; in all, every entry once.
    const batches = rows.filter((f) => f.type === 'batch');
    for (const b of batches) {
      expect(b.entries?.map((e) => e.sequence)).toEqual(
        Array.from({ length: b.ops }, (_, i) => b.firstSequence + i),
      );
    }
    expect(batches.flatMap((b) => b.entries ?? [])).toHaveLength(44);
    // Each sealed segment's seal counts its records and bytes.
    const seals = rows.filter((f) => f.type === 'seal');
    expect(seals).toHaveLength(5);
    for (const s of seals) {
      expect(s.records).toBe(batches.filter((b) => b.segment === s.segment).length);
      expect(s.bytes).toBe(s.offset + s.size);
    }
    expect(rows.at(-1)).toMatchObject({ type: 'mark', nextSequence: 44 });
  });

  test('damage in place: a damaged row between the frames around it, exit 1', async () => {
    const { dir } = await cleanLog();
    const [before, hit, after] = (await framesOf(dir, 1)).slice(0, 3) as FrameAt[];
    await flipFrames(dir, 1, [1]);
    const [from, to] = [String(before?.first), String(after?.first)];
    const r = await run(['dump', dir, '--frames', '--from', from, '--to', to]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      ...batchText(before as FrameAt),
      expect.stringMatching(
        new RegExp(
          `^damaged wal_00000001\\.log offset ${hit?.offset} bytes ${hit?.size} checksum-mismatch: expected CRC`,
        ),
      ),
      ...batchText(after as FrameAt),
    ]);
    const { rows } = await frames([dir]);
    // It reads on past the damage: every other entry is there.
    expect(rows.filter((f) => f.type === 'batch').flatMap((b) => b.entries ?? [])).toHaveLength(43);
    expect(rows.filter((f) => f.kind === 'damage')).toEqual([
      expect.objectContaining({
        kind: 'damage',
        file: segment(dir, 1),
        segment: 1,
        offset: hit?.offset,
        bytes: hit?.size,
        reason: 'checksum-mismatch',
        torn: false,
      }),
    ]);
  });

  test('a torn tail is a row too, and not a failure', async () => {
    const { dir } = await cleanLog();
    const { file, offset, bytes } = await tearLastBatch(dir);
    const { code, rows } = await frames([dir]);
    expect(code).toBe(0);
    expect(rows.at(-1)).toMatchObject({ kind: 'damage', file, offset, bytes, torn: true });
    const text = await run(['dump', dir, '--frames']);
    expect(lines(text.stdout).at(-1)).toMatch(
      new RegExp(
        `^torn tail ${literal(path.basename(file))} offset ${offset} bytes ${bytes} truncated: `,
      ),
    );
  });

  test.each([
    ['none', false],
    ['always', false],
  ] as const)(
    'a log ending in a sealed segment (sync %s): its damage judged as verify judges it',
    async (sync, torn) => {
      // A rotation that wrote and synced its seal, then crashed before the next
      // segment existed. The tail rule still applies to that last segment, and
      // in every mode the seal says all before it was durable: rot, not torn.
      const { dir } = await cleanLog(undefined, sync);
      removeSegment(dir, 5);
      const [hit] = await flipFrames(dir, 4, [7]);
      const report = (await runJson(['verify', dir, '--json'])).json as VerifyReport;
      const found = torn ? report.tornTail : report.damage[0];
      expect(found).toMatchObject({
        file: hit?.file,
        offset: hit?.offset,
        reason: 'checksum-mismatch',
      });
      const { code, rows } = await frames([dir]);
      expect(code).toBe(torn ? Exit.OK : Exit.DAMAGED);
      expect(rows.filter((f) => f.kind === 'damage')).toEqual([
        expect.objectContaining({
          file: found?.file,
          offset: found?.offset,
          bytes: found?.bytes,
          torn,
        }),
      ]);
    },
  );

  test('a missing segment: the break in the chain, where it is found', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const { code, rows } = await frames([dir]);
    expect(code).toBe(Exit.DAMAGED);
    const damage = rows.filter((f) => f.kind === 'damage');
    expect(damage).toEqual([
      expect.objectContaining({ file: segment(dir, 3), offset: 0, reason: 'missing-segment' }),
    ]);
    // Right before segment 3's first frame.
    const at = rows.indexOf(damage[0] as FrameLine);
    expect(rows[at + 1]).toMatchObject({ segment: 3, offset: 48 });
  });

  test('after repair: the hole record names the lost sequences and the incident', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    const r = await run([
      'dump',
      dir,
      '--frames',
      '--from',
      String(hit.first),
      '--to',
      String(hit.first),
    ]);
    expect(r.code).toBe(0);
    // In the damaged frame's place, written by repair once what precedes it was durable.
    const size = FRAME_HEADER_SIZE + HOLE_RECORD_SIZE;
    expect(lines(r.stdout)).toEqual([
      `${path.basename(hit.file)} offset ${hit.offset} size ${size} hole first ${hit.first} next ${hit.next} incident 1 synced ${hit.offset}`,
    ]);
  });

  test('--from, --to, --limit select entries; seals and marks at the range edges', async () => {
    const { dir } = await cleanLog();
    const entries = (rows: FrameLine[]) =>
      rows.flatMap((f) => f.entries ?? []).map((e) => e.sequence);
    const types = (rows: FrameLine[]) => rows.map((f) => f.type);
    // Across the end of segment 1: its last two entries, then the first of segment 2.
    const { last } = await sequencesIn(dir, 1);
    const a = (await frames([dir, '--from', String(last - 1), '--to', String(last + 1)])).rows;
    expect(entries(a)).toEqual([last - 1, last, last + 1]);
    expect(types(a)).toEqual(['batch', 'batch', 'seal', 'batch']);
    expect(a.map((f) => f.segment)).toEqual([1, 1, 1, 2]);
    // A batch straddling the range shows the entries in it, and says how many ops it has.
    const b = (await frames([dir, '--from', '42', '--limit', '1'])).rows;
    expect(b).toEqual([
      expect.objectContaining({
        firstSequence: 41,
        ops: 2,
        entries: [expect.objectContaining({ sequence: 42 })],
      }),
    ]);
    expect(types((await frames([dir, '--from', '43'])).rows)).toEqual(['batch', 'mark']);
    expect((await frames([dir, '--limit', '0'])).rows).toEqual([]);
  });

  test('--key and --prefix: only the batches holding a match, with only the matches', async () => {
    const { dir } = await cleanLog();
    const { code, rows } = await frames([dir, '--key', 'key-4']);
    expect(code).toBe(0);
    const [put, batch] = [await frameOf(dir, 4), await frameOf(dir, 42)];
    expect(rows).toEqual([
      expect.objectContaining({
        segment: put.segment,
        offset: put.offset,
        firstSequence: 4,
        ops: 1,
        entries: [expect.objectContaining({ sequence: 4, type: 'put' })],
      }),
      expect.objectContaining({
        segment: batch.segment,
        offset: batch.offset,
        firstSequence: 41,
        ops: 2,
        entries: [expect.objectContaining({ sequence: 42, type: 'delete' })],
      }),
    ]);
    const text = await run(['dump', dir, '--frames', '--prefix', 'key-1', '--to', '10']);
    expect(lines(text.stdout)).toEqual([
      ...batchText(await frameOf(dir, 1)),
      ...batchText(await frameOf(dir, 10)),
    ]);
  });

  test('one file: a segment alone, a copy under another name, a file whose header is bad', async () => {
    const { dir } = await cleanLog();
    const stored = await framesOf(dir, 3);
    const { rows } = await frames([segment(dir, 3)]);
    expect(rows.map((f) => [f.offset, f.type])).toEqual(stored.map((f) => [f.offset, f.type]));
    expect(stored.at(-1)?.type).toBe('seal');
    flipByte(dir, 3, 1);
    const bad = await frames([segment(dir, 3)]);
    expect(bad.code).toBe(Exit.DAMAGED);
    expect(bad.rows).toEqual([
      expect.objectContaining({ kind: 'damage', offset: 0, reason: 'bad-header', torn: false }),
    ]);
    const copy = path.join(dir, 'copy-of-3.bin');
    fs.copyFileSync(segment(dir, 2), copy);
    // No number in the name: the header's is used.
    expect((await frames([copy])).rows[0]).toMatchObject({
      file: copy,
      segment: 2,
      firstSequence: (await sequencesIn(dir, 2)).first,
    });
  });
});
