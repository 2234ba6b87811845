// wal verify: exit 0 when clean, 1 with one line per problem (file, offset,
// bytes, reason); the tail policy per --mode; one segment file alone; --json.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { Wal } from '@wal/fs';
import type { VerifyReport } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import type { FileReport } from '../src/file-report.js';
import {
  appendGarbage,
  cleanLog,
  flipByte,
  hashTree,
  removeSegment,
  segment,
  tearTail,
} from './support/logs.js';
import { lines, run, runJson } from './support/run.js';

describe('wal verify <dir>', () => {
  test('a clean log exits 0 with one ok line, in both modes', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    for (const mode of [[], ['--mode', 'tolerate-tail'], ['--mode', 'strict']]) {
      const r = await run(['verify', dir, ...mode]);
      expect(r).toEqual({
        code: 0,
        stdout: 'ok: 6 segments, 43 records, 44 entries\n',
        stderr: '',
      });
    }
    expect(hashTree(dir)).toEqual(before);
  });

  test('a torn tail: reported, exit 0 by default, exit 1 in strict', async () => {
    const { dir } = await cleanLog();
    // Past the close mark (21 bytes) into the last batch.
    tearTail(dir, 30);
    const tolerant = await run(['verify', dir]);
    expect(tolerant.code).toBe(0);
    expect(lines(tolerant.stdout)).toEqual([
      expect.stringMatching(
        /^torn tail wal_00000005\.log offset 355 bytes 25 truncated: .* \(cut when the log is next opened\)$/,
      ),
      'ok: 6 segments, 42 records, 43 entries',
    ]);

    const strict = await run(['verify', dir, '--mode', 'strict']);
    expect(strict.code).toBe(Exit.DAMAGED);
    expect(lines(strict.stdout)).toEqual([
      expect.stringMatching(/^torn tail wal_00000005\.log offset 355 bytes 25 truncated: [^(]*$/),
      `damaged: 6 segments, 42 records, 43 entries; run wal repair ${dir} --dry-run to see the fix`,
    ]);
    expect(strict.stderr).toBe('');
  });

  test('garbage appended to the last segment is a torn tail of exactly those bytes', async () => {
    const { dir } = await cleanLog();
    appendGarbage(dir, 20);
    const r = await run(['verify', dir, '--mode', 'strict']);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(r.stdout).toMatch(/^torn tail wal_00000005\.log offset 410 bytes 20 /m);
  });

  test('a flipped byte mid-log: exit 1, the line names file, offset, bytes and reason', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        /^damaged wal_00000001\.log offset 94 bytes 48 checksum-mismatch: expected CRC 0x[0-9a-f]{8} \(stored\), found 0x[0-9a-f]{8}/,
      ),
      `damaged: 6 segments, 42 records, 43 entries; run wal repair ${dir} --dry-run to see the fix`,
    ]);
  });

  test('a missing segment: exit 1, named where the chain breaks', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)[0]).toMatch(
      /^damaged wal_00000003\.log offset 0 bytes 0 missing-segment: expected wal_00000002\.log after wal_00000001\.log, found wal_00000003\.log/,
    );
  });

  test('every problem is listed, not just the first', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    flipByte(dir, 3);
    tearTail(dir, 30);
    const r = await run(['verify', dir]);
    expect(r.code).toBe(Exit.DAMAGED);
    const out = lines(r.stdout);
    expect(out.filter((l) => l.startsWith('damaged wal_'))).toHaveLength(2);
    expect(out.filter((l) => l.startsWith('torn tail wal_00000005.log'))).toHaveLength(1);
  });

  test('sequences an earlier repair recorded as lost are listed, and are not damage', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    expect((await run(['repair', dir])).code).toBe(0);
    const r = await run(['verify', dir, '--mode', 'strict']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      `hole wal_00000001.log offset 94: sequence 10 was lost to damage; repair incident 1 kept the bytes in ${path.join(dir, 'quarantine', '1')}`,
      'ok: 6 segments, 42 records, 43 entries',
    ]);
  });

  test('the suggested repair command quotes a path with spaces', async () => {
    const { dir } = await cleanLog(2);
    const spaced = `${dir} it's`;
    fs.renameSync(dir, spaced);
    flipByte(spaced, 0, 60);
    const r = await run(['verify', spaced]);
    expect(r.stdout).toContain(`run wal repair '${dir} it'\\''s' --dry-run`);
  });

  test('--json parses, with ok matching the exit code', async () => {
    const { dir } = await cleanLog();
    const clean = await runJson(['verify', dir, '--json']);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ ok: true, mode: 'tolerate-tail', entries: 44 });

    tearTail(dir, 30);
    const strict = await runJson(['verify', dir, '--json', '--mode', 'strict']);
    expect(strict.code).toBe(Exit.DAMAGED);
    const report = strict.json as VerifyReport;
    expect(report).toMatchObject({ ok: false, mode: 'strict', damage: [], holes: [] });
    expect(report.tornTail).toMatchObject({ segment: 5, offset: 355, reason: 'truncated' });
    expect(report.segments.map((s) => s.sealed)).toEqual([true, true, true, true, true, false]);
  });
});

describe('wal verify <file>', () => {
  test('a sealed segment of a clean log: ok, with its sequences', async () => {
    const { dir } = await cleanLog();
    const r = await run(['verify', segment(dir, 1)]);
    expect(r).toEqual({
      code: 0,
      stdout: 'ok: wal_00000001.log, sealed, 8 entries, sequences 9-16\n',
      stderr: '',
    });
    const last = await run(['verify', segment(dir, 5)]);
    expect(last.stdout).toBe('ok: wal_00000005.log, not sealed, 3 entries, sequences 41-43\n');
  });

  test('a damaged segment: exit 1, every region, and the repair for its log', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    flipByte(dir, 1, 200);
    const r = await run(['verify', segment(dir, 1)]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^damaged wal_00000001\.log offset 94 bytes 48 checksum-mismatch: /),
      expect.stringMatching(/^damaged wal_00000001\.log offset 190 bytes 48 checksum-mismatch: /),
      `damaged: wal_00000001.log, sealed, 6 entries, sequences 9-16; run wal repair ${dir} --dry-run to see the fix`,
    ]);
  });

  test("a repair incident's copy: its damage, and no repair to suggest", async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    expect((await run(['repair', dir])).code).toBe(0);
    const copy = path.join(dir, 'quarantine', '1', 'wal_00000001.log');
    const r = await run(['verify', copy]);
    expect(r.code).toBe(Exit.DAMAGED);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^damaged wal_00000001\.log offset 94 bytes 48 checksum-mismatch: /),
      'damaged: wal_00000001.log, sealed, 7 entries, sequences 9-16',
    ]);
  });

  test('a .broken copy that Wal.open set aside: its torn tail, exit 0; strict exit 1', async () => {
    const { dir } = await cleanLog();
    appendGarbage(dir, 20);
    const wal = await Wal.open({ dir, maxSegmentBytes: 512 });
    await wal.close();
    const broken = `${segment(dir, 5)}.broken`;
    const r = await run(['verify', broken]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(
        /^torn tail wal_00000005\.log\.broken offset 410 bytes 20 bad-length: .*\(cut when the log is next opened\)$/,
      ),
      'ok: wal_00000005.log.broken, not sealed, 3 entries, sequences 41-43',
    ]);
    expect((await run(['verify', broken, '--mode', 'strict'])).code).toBe(Exit.DAMAGED);
  });

  test('a header that is not a segment header: unreadable, exit 1', async () => {
    const { dir } = await cleanLog(2);
    const file = flipByte(dir, 0, 1);
    const { code, json } = await runJson(['verify', file, '--json']);
    expect(code).toBe(Exit.DAMAGED);
    expect(json).toMatchObject({
      ok: false,
      status: 'unreadable',
      sealed: false,
      entries: 0,
      damage: [{ offset: 0, reason: 'bad-header' }],
    });
  });

  test('--json: the report of the file, ok matching the exit code', async () => {
    const { dir } = await cleanLog();
    const { code, json } = await runJson(['verify', segment(dir, 2), '--json']);
    expect(code).toBe(0);
    const report = json as FileReport;
    expect(report).toEqual({
      file: segment(dir, 2),
      segment: 2,
      mode: 'tolerate-tail',
      ok: true,
      status: 'ok',
      sealed: true,
      bytes: fs.statSync(segment(dir, 2)).size,
      firstSequence: 17,
      lastSequence: 24,
      nextSequence: 25,
      entries: 8,
      damage: [],
      tornTail: null,
      holes: [],
      durationMs: expect.any(Number),
    });
  });
});
