// wal verify: exit 0 when clean, 1 with one line per problem (file, offset,
// bytes, reason); the tail policy per --mode; --json.
import fs from 'node:fs';
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

describe('wal verify', () => {
  test('a clean log exits 0 with one ok line, in both modes', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    for (const mode of [[], ['--mode', 'tolerate-tail'], ['--mode', 'strict']]) {
      const r = await run(['verify', dir, ...mode]);
      expect(r).toEqual({
        code: 0,
        stdout: 'ok: 5 segments, 43 records, 44 entries\n',
        stderr: '',
      });
    }
    expect(hashTree(dir)).toEqual(before);
  });

  test('a torn tail: reported, exit 0 by default, exit 1 in strict', async () => {
    const { dir } = await cleanLog();
    tearTail(dir);
    const tolerant = await run(['verify', dir]);
    expect(tolerant.code).toBe(0);
    expect(lines(tolerant.stdout)).toEqual([
      expect.stringMatching(
        /^torn tail wal_00000004\.log offset \d+ bytes \d+ truncated \(cut when the log is next opened\)$/,
      ),
      'ok: 5 segments, 42 records, 43 entries',
    ]);

    const strict = await run(['verify', dir, '--mode', 'strict']);
    expect(strict.code).toBe(1);
    expect(lines(strict.stdout)).toEqual([
      expect.stringMatching(/^torn tail wal_00000004\.log offset \d+ bytes \d+ truncated$/),
      `damaged: 5 segments, 42 records, 43 entries; run wal repair ${dir} --dry-run to see the fix`,
    ]);
    expect(strict.stderr).toBe('');
  });

  test('garbage appended to the last segment is a torn tail of exactly those bytes', async () => {
    const { dir } = await cleanLog();
    appendGarbage(dir, 20);
    const r = await run(['verify', dir, '--mode', 'strict']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^torn tail wal_00000004\.log offset \d+ bytes 20 /m);
  });

  test('a flipped byte mid-log: exit 1, the line names file, offset, bytes and reason', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        /^damaged wal_00000001\.log offset 76 bytes \d+ checksum-mismatch: expected CRC 0x[0-9a-f]{8} \(stored\), found 0x[0-9a-f]{8}/,
      ),
      expect.stringMatching(/^damaged: 5 segments, 42 records, 43 entries; run wal repair /),
    ]);
  });

  test('a missing segment: exit 1 with a gap line', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)[0]).toMatch(
      /^gap wal_00000003\.log \(missing\) bytes 0: expected wal_00000002\.log after wal_00000001\.log, found wal_00000003\.log/,
    );
  });

  test('every problem is listed, not just the first', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    flipByte(dir, 3);
    tearTail(dir);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.startsWith('damaged wal_'))).toHaveLength(2);
    expect(out.filter((l) => l.startsWith('torn tail wal_00000004.log'))).toHaveLength(1);
  });

  test('the suggested repair command quotes a path with spaces', async () => {
    const { dir } = await cleanLog(2);
    const spaced = `${dir} it's`;
    fs.renameSync(dir, spaced);
    flipByte(spaced, 0, 40);
    const r = await run(['verify', spaced]);
    expect(r.stdout).toContain(`run wal repair '${dir} it'\\''s' --dry-run`);
  });

  test('--json parses, with ok matching the exit code', async () => {
    const { dir } = await cleanLog();
    const clean = await runJson(['verify', dir, '--json']);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ ok: true, mode: 'tolerate-tail', entries: 44 });

    tearTail(dir);
    const strict = await runJson(['verify', dir, '--json', '--mode', 'strict']);
    expect(strict.code).toBe(1);
    const report = strict.json as VerifyReport;
    expect(report).toMatchObject({ ok: false, mode: 'strict', corruptions: [], gaps: [] });
    expect(report.tornTail).toMatchObject({ segment: 4, reason: 'truncated' });
  });
});
