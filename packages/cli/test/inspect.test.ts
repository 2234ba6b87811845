// wal inspect: one row per segment with its status, then totals; --json.
import path from 'node:path';
import type { VerifyReport } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  appendGarbage,
  cleanLog,
  flipByte,
  hashTree,
  removeSegment,
  tearTail,
} from './support/logs.js';
import { lines, run, runJson } from './support/run.js';

/** The table's rows as { file: status }, and its last line. */
async function inspect(dir: string) {
  const r = await run(['inspect', dir]);
  expect(r.stderr).toBe('');
  const out = lines(r.stdout);
  expect(out[0]).toMatch(/^file +number +sequences +records +entries +bytes +status$/);
  const rows: Record<string, string> = {};
  for (const l of out.slice(1)) {
    const m = /^(wal_\d{8}\.log) +\d+ +[-\d()a-z]+ +\d+ +\d+ +\d+ +(.+)$/.exec(l);
    if (m) rows[m[1] as string] = m[2] as string;
  }
  return { code: r.code, out, rows, total: out.at(-1) as string };
}

const allOk = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`wal_0000000${i}.log`, 'ok']));

describe('wal inspect', () => {
  test('a clean log: every segment ok, totals, and nothing changed', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    const { code, out, rows, total } = await inspect(dir);
    expect(code).toBe(0);
    expect(rows).toEqual(allOk(5));
    expect(out[1]).toMatch(/^wal_00000000\.log +0 +0-10 +11 +11 +496 +ok$/);
    expect(out[5]).toMatch(/^wal_00000004\.log +4 +41-43 +2 +3 +\d+ +ok$/);
    expect(total).toMatch(
      /^total: 5 segments, 43 records, 44 entries, 2\.\d KiB; next sequence 44$/,
    );
    expect(hashTree(dir)).toEqual(before);
  });

  test('a one-segment log says 1 segment, not 1 segments', async () => {
    const { dir } = await cleanLog(1);
    const { total } = await inspect(dir);
    expect(total).toMatch(/^total: 1 segment, 4 records, 5 entries, \d+ B; next sequence 5$/);
  });

  test('a torn tail: the last segment is torn tail, exit 0', async () => {
    const { dir } = await cleanLog();
    tearTail(dir);
    const { code, rows, total } = await inspect(dir);
    expect(code).toBe(0);
    expect(rows).toEqual({ ...allOk(4), 'wal_00000004.log': 'torn tail' });
    expect(total).toMatch(/43 entries, .*; next sequence 43$/);
  });

  test('garbage after the last record is a torn tail too', async () => {
    const { dir } = await cleanLog();
    appendGarbage(dir);
    const { rows, total } = await inspect(dir);
    expect(rows['wal_00000004.log']).toBe('torn tail');
    expect(total).toMatch(/44 entries, .*; next sequence 44$/);
  });

  test('a flipped byte mid-log: that segment damaged, the rest still read', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    const { code, rows, total } = await inspect(dir);
    expect(code).toBe(0);
    expect(rows).toEqual({ ...allOk(5), 'wal_00000001.log': 'damaged' });
    // The valid prefix ends before the damaged record (sequence 12).
    expect(total).toMatch(/43 entries, .*; next sequence 12$/);
  });

  test('a missing segment: a gap line names the hole', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const { rows, out, total } = await inspect(dir);
    expect(Object.keys(rows)).toEqual([0, 1, 3, 4].map((n) => `wal_0000000${n}.log`));
    expect(out).toContainEqual(
      expect.stringMatching(/^gap \(missing\) at wal_00000003\.log: expected wal_00000002\.log/),
    );
    expect(total).toMatch(/^total: 4 segments, .*; next sequence 21$/);
  });

  test('--json: the full report', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    const { code, json } = await runJson(['inspect', dir, '--json']);
    expect(code).toBe(0);
    const report = json as VerifyReport;
    expect(report.dir).toBe(path.resolve(dir));
    expect(report.segments.map((s) => s.status)).toEqual(['ok', 'damaged', 'ok', 'ok', 'ok']);
    expect(report.segments[1]?.damage[0]).toMatchObject({
      offset: 76, // segment header (32) + the first record (44)
      reason: 'checksum-mismatch',
      tornTail: false,
    });
    expect(report).toMatchObject({ ok: false, entries: 43, nextSequence: 12 });
  });
});
