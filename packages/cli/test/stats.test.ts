// wal stats: a recovery scan's figures and speed, as text and --json.
import path from 'node:path';
import { Exit } from '@wal/cli';
import type { RecoveryStats } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  cleanLog,
  flipFrame,
  hashTree,
  segment,
  sequencesIn,
  tearLastBatch,
} from './support/logs.js';
import { lines, literal, run, runJson } from './support/run.js';

describe('wal stats', () => {
  test('a clean log: every figure, then the scan speed', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    const r = await run(['stats', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual([
      'mode: tolerate-tail',
      'segments scanned: 6',
      'entries recovered: 44',
      expect.stringMatching(/^bytes recovered: \d+ \(\d\.\d KiB\)$/),
      'damaged regions: 0; bytes skipped: 0',
      'torn tail: none',
      'lost to earlier damage: 0 sequences in 0 holes',
      'first sequence: 0; last sequence: 43; next sequence: 44',
      expect.stringMatching(/^scan: \d+\.\d ms, \d+\.\d MB\/s, \d+ entries\/s$/),
    ]);
    expect(hashTree(dir)).toEqual(before);
  });

  test('a torn tail is counted and located', async () => {
    const { dir } = await cleanLog();
    const { file, offset, bytes, batch } = await tearLastBatch(dir);
    const r = await run(['stats', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^torn tail: ${literal(file)} at offset ${offset}, ${bytes} bytes$`, 'm'),
    );
    expect(r.stdout).toMatch(new RegExp(`^entries recovered: ${batch.first}$`, 'm'));
  });

  test('mid-log damage: exit 1 in tolerate-tail; where point-in-time stopped; counted by skip-corrupted', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const tolerant = await run(['stats', dir]);
    expect(tolerant.code).toBe(Exit.DAMAGED);
    expect(tolerant.stdout).toBe('');
    expect(lines(tolerant.stderr)).toEqual([
      expect.stringMatching(
        /^wal: .*\(checksum-mismatch\).* --mode point-in-time or --mode skip-corrupted$/,
      ),
    ]);

    const pit = await run(['stats', dir, '--mode', 'point-in-time']);
    expect(pit.code).toBe(0);
    expect(pit.stdout).toMatch(new RegExp(`^entries recovered: ${hit.first}$`, 'm'));
    expect(pit.stdout).toMatch(
      new RegExp(
        `^stopped at: checksum-mismatch in ${literal(hit.file)} at offset ${hit.offset}; not read from there: \\d+ bytes \\(4 whole segments\\)$`,
        'm',
      ),
    );

    const skip = await run(['stats', dir, '--mode', 'skip-corrupted']);
    expect(skip.code).toBe(0);
    expect(skip.stdout).toMatch(
      new RegExp(`^damaged regions: 1; bytes skipped: ${hit.size}$`, 'm'),
    );
    expect(skip.stdout).toMatch(/^entries recovered: 43$/m);
  });

  test('after repair: the sequences recorded as lost', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir, 1);
    await flipFrame(dir, 2);
    expect((await run(['repair', dir])).code).toBe(0);
    const r = await run(['stats', dir, '--mode', 'strict']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lost to earlier damage: 2 sequences in 2 holes$/m);
    expect(r.stdout).toMatch(/^entries recovered: 42$/m);
  });

  test('one segment file alone', async () => {
    const { dir } = await cleanLog();
    const { first, last, next, entries } = await sequencesIn(dir, 1);
    const r = await run(['stats', segment(dir, 1)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^segments scanned: 1$/m);
    expect(r.stdout).toMatch(new RegExp(`^entries recovered: ${entries}$`, 'm'));
    expect(r.stdout).toMatch(
      new RegExp(`^first sequence: ${first}; last sequence: ${last}; next sequence: ${next}$`, 'm'),
    );
    const copy = path.join(dir, 'copy');
    expect((await run(['stats', copy])).code).toBe(Exit.FAILED);
  });

  test('--json: the recovery stats plus speed', async () => {
    const { dir } = await cleanLog();
    const { code, json } = await runJson(['stats', dir, '--json']);
    expect(code).toBe(0);
    const stats = json as RecoveryStats & { mbPerSecond: number; entriesPerSecond: number };
    expect(stats).toMatchObject({
      mode: 'tolerate-tail',
      missing: false,
      entriesRecovered: 44,
      segmentsScanned: 6,
      tornTail: null,
      damage: [],
      holes: [],
      firstSequence: 0,
      nextSequence: 44,
      lastSequence: 43,
    });
    expect(Number.isFinite(stats.mbPerSecond) && stats.mbPerSecond > 0).toBe(true);
    expect(Number.isFinite(stats.entriesPerSecond) && stats.entriesPerSecond > 0).toBe(true);
  });
});
