// wal inspect: one row per segment with its seal and status, then missing
// segments, lost sequences and totals; --json; exit 0 whatever it finds.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import type { VerifyReport } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  appendGarbage,
  cleanLog,
  flipByte,
  flipFrame,
  hashTree,
  removeSegment,
  segment,
  sequencesIn,
  tearLastBatch,
} from './support/logs.js';
import { lines, literal, run, runJson } from './support/run.js';

const ROW = /^(wal_\d{8}\.log) +\d+ +[-\d()a-z]+ +\d+ +\d+ +\d+ +(yes|no) +(.+)$/;

/** The table's rows as { file: status }, the other lines, and the last line. */
async function inspect(dir: string) {
  const r = await run(['inspect', dir]);
  expect(r.stderr).toBe('');
  const out = lines(r.stdout);
  expect(out[0]).toMatch(/^file +number +sequences +records +entries +bytes +sealed +status$/);
  const rows: Record<string, string> = {};
  const sealed: Record<string, string> = {};
  const notes: string[] = [];
  for (const l of out.slice(1, -1)) {
    const m = ROW.exec(l);
    if (m) {
      rows[m[1] as string] = m[3] as string;
      sealed[m[1] as string] = m[2] as string;
    } else notes.push(l);
  }
  return { code: r.code, out, rows, sealed, notes, total: out.at(-1) as string };
}

const allOk = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`wal_0000000${i}.log`, 'ok']));

describe('wal inspect', () => {
  test('a clean log: every segment ok, all but the last sealed, totals, nothing changed', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    const { code, out, rows, sealed, notes, total } = await inspect(dir);
    expect(code).toBe(0);
    expect(rows).toEqual(allOk(6));
    expect(Object.values(sealed)).toEqual(['yes', 'yes', 'yes', 'yes', 'yes', 'no']);
    expect(notes).toEqual([]);
    // Records: batch and hole records, as a seal counts them (not a seal or a mark).
    const row = async (n: number, sealed: string) => {
      const { first, last, entries, records } = await sequencesIn(dir, n);
      const size = fs.statSync(segment(dir, n)).size;
      const cells = [n, `${first}-${last}`, records, entries, size, sealed, 'ok'];
      return new RegExp(`^${literal(path.basename(segment(dir, n)))} +${cells.join(' +')}$`);
    };
    expect(out[1]).toMatch(await row(0, 'yes'));
    expect(out[6]).toMatch(await row(5, 'no'));
    expect(total).toBe('total: 6 segments, 43 records, 44 entries, 2.7 KiB; next sequence 44');
    expect(hashTree(dir)).toEqual(before);
  });

  test('a one-segment log says 1 segment, not 1 segments', async () => {
    const { dir } = await cleanLog(0);
    const { total } = await inspect(dir);
    expect(total).toBe('total: 1 segment, 3 records, 4 entries, 445 B; next sequence 4');
  });

  test('a torn tail: the last segment is torn tail, exit 0', async () => {
    const { dir } = await cleanLog();
    await tearLastBatch(dir);
    const { code, rows, total } = await inspect(dir);
    expect(code).toBe(0);
    expect(rows).toEqual({ ...allOk(5), 'wal_00000005.log': 'torn tail' });
    expect(total).toMatch(/43 entries, .*; next sequence 43$/);
  });

  test('garbage after the last record is a torn tail too', async () => {
    const { dir } = await cleanLog();
    appendGarbage(dir);
    const { rows, total } = await inspect(dir);
    expect(rows['wal_00000005.log']).toBe('torn tail');
    expect(total).toMatch(/44 entries, .*; next sequence 44$/);
  });

  test('a flipped byte mid-log: that segment damaged, the rest still read, exit 0', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir);
    const { code, rows, total } = await inspect(dir);
    expect(code).toBe(Exit.OK);
    expect(rows).toEqual({ ...allOk(6), 'wal_00000001.log': 'damaged' });
    // Above every sequence the log holds: what the writer continues from after repair.
    expect(total).toMatch(/43 entries, .*; next sequence 44$/);
  });

  test('a header that is not a segment header: unreadable, not read', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 2, 1);
    const { code, rows, total } = await inspect(dir);
    expect(code).toBe(Exit.OK);
    expect(rows).toEqual({ ...allOk(6), 'wal_00000002.log': 'unreadable' });
    expect(total).toMatch(/^total: 6 segments, 35 records, 36 entries, /);
  });

  test('a missing segment: a line names the hole in the chain', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const { rows, notes } = await inspect(dir);
    expect(Object.keys(rows)).toEqual([0, 1, 3, 4, 5].map((n) => `wal_0000000${n}.log`));
    expect(rows['wal_00000003.log']).toBe('damaged');
    expect(notes).toEqual([
      expect.stringMatching(/^missing: expected wal_00000002\.log after wal_00000001\.log, found/),
    ]);
  });

  test('sequences an earlier repair recorded as lost get a line each', async () => {
    const { dir } = await cleanLog();
    const lost = await sequencesIn(dir, 3);
    const hit = await flipFrame(dir);
    removeSegment(dir, 3);
    expect((await run(['repair', dir])).code).toBe(0);
    const { rows, notes } = await inspect(dir);
    expect(rows).toEqual(allOk(6));
    const incident = path.join(dir, 'quarantine', '1');
    expect(notes).toEqual([
      `hole in wal_00000001.log: sequence ${hit.first} was lost to damage; repair incident 1 kept the bytes in ${incident}`,
      `hole in wal_00000003.log: sequences ${lost.first}-${lost.last} were lost to damage; repair incident 1 kept the bytes in ${incident}`,
    ]);
  });

  test('one file is for verify and dump: inspect takes a directory', async () => {
    const { dir } = await cleanLog(2);
    const r = await run(['inspect', segment(dir, 0)]);
    expect(r.code).toBe(Exit.USAGE);
    expect(r.stderr).toContain(`for one file use wal verify ${segment(dir, 0)}`);
  });

  test('--json: the full report', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const { code, json } = await runJson(['inspect', dir, '--json']);
    expect(code).toBe(0);
    const report = json as VerifyReport;
    expect(report.dir).toBe(path.resolve(dir));
    expect(report.segments.map((s) => s.status)).toEqual(['ok', 'damaged', 'ok', 'ok', 'ok', 'ok']);
    expect(report.segments[1]?.damage).toEqual([
      expect.objectContaining({ offset: hit.offset, bytes: hit.size, reason: 'checksum-mismatch' }),
    ]);
    expect(report).toMatchObject({ ok: false, entries: 43, nextSequence: 44 });
  });
});
