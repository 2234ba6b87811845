// wal repair: says what it cuts and where the bytes go; afterwards verify is
// clean and the writer continues the sequence; --dry-run changes no byte.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { Wal } from '@wal/fs';
import type { RepairResult } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  cleanLog,
  flipByte,
  hashTree,
  removeSegment,
  segment,
  tearTail,
  tempDir,
} from './support/logs.js';
import { lines, run, runJson } from './support/run.js';

/** Repairs, then checks verify (strict) exits 0 and a writer continues at `next`. */
async function repairAndReopen(dir: string, next: number): Promise<string[]> {
  const r = await run(['repair', dir]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const verify = await run(['verify', dir, '--mode', 'strict']);
  expect(verify.code).toBe(0);
  expect(verify.stdout).toMatch(/^ok: /);
  const wal = await Wal.open({ dir, maxSegmentBytes: 512 });
  try {
    expect(wal.repairs).toEqual([]);
    expect(await wal.put('after', 'repair')).toBe(next);
  } finally {
    await wal.close();
  }
  expect((await run(['verify', dir, '--mode', 'strict'])).code).toBe(0);
  return lines(r.stdout);
}

describe('wal repair', () => {
  test('a clean log: nothing to repair, no byte changed', async () => {
    const { dir } = await cleanLog();
    const before = hashTree(dir);
    const r = await run(['repair', dir]);
    expect(r).toEqual({
      code: 0,
      stdout:
        'nothing to repair: the log is clean\nnow: last sequence 43; the writer continues at sequence 44\n',
      stderr: '',
    });
    expect(hashTree(dir)).toEqual(before);
  });

  test('a torn tail is cut and its bytes kept in .broken beside it', async () => {
    const { dir } = await cleanLog();
    const file = segment(dir, 4);
    const original = fs.readFileSync(file);
    tearTail(dir);
    const torn = fs.readFileSync(file);
    const out = await repairAndReopen(dir, 43);
    const m =
      /^did cut wal_00000004\.log at offset (\d+) \((\d+) bytes, torn-tail: truncated\); bytes kept in wal_00000004\.log\.broken$/.exec(
        out[0] as string,
      );
    expect(m).not.toBeNull();
    const offset = Number(m?.[1]);
    expect(offset + Number(m?.[2])).toBe(torn.length);
    expect(out[1]).toBe('now: last sequence 42; the writer continues at sequence 43');
    expect(fs.readFileSync(`${file}.broken`)).toEqual(torn.subarray(offset));
    expect(original.subarray(0, offset)).toEqual(torn.subarray(0, offset));
  });

  test('mid-log damage: the segment is cut, it and every later one kept whole in quarantine/', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    const originals = [1, 2, 3, 4].map((n) => fs.readFileSync(segment(dir, n)));
    const out = await repairAndReopen(dir, 12);
    expect(out).toEqual([
      expect.stringMatching(
        /^did cut wal_00000001\.log at offset 76 \(\d+ bytes, damage: checksum-mismatch\); bytes kept in quarantine\/wal_00000001\.log$/,
      ),
      expect.stringMatching(
        /^did move wal_00000002\.log out of the log \(\d+ bytes, after-damage: checksum-mismatch\); bytes kept in quarantine\/wal_00000002\.log$/,
      ),
      expect.stringMatching(/^did move wal_00000003\.log .*quarantine\/wal_00000003\.log$/),
      expect.stringMatching(/^did move wal_00000004\.log .*quarantine\/wal_00000004\.log$/),
      'now: last sequence 11; the writer continues at sequence 12',
    ]);
    originals.forEach((bytes, i) => {
      expect(fs.readFileSync(path.join(dir, 'quarantine', `wal_0000000${i + 1}.log`))).toEqual(
        bytes,
      );
    });
    // The salvage command the help gives: all but the damaged record.
    const salvage = await run(['dump', path.join(dir, 'quarantine'), '--mode', 'skip-corrupted']);
    expect(salvage.code).toBe(0);
    const salvaged = lines(salvage.stdout).map((l) => Number(l.split(' ')[0]));
    expect(salvaged).toEqual([11, ...Array.from({ length: 31 }, (_, i) => 13 + i)]);
  });

  test('a missing segment: the segments after the hole go to quarantine/', async () => {
    const { dir } = await cleanLog();
    removeSegment(dir, 2);
    const out = await repairAndReopen(dir, 21);
    expect(out[0]).toMatch(
      /^did move wal_00000003\.log out of the log \(\d+ bytes, gap: missing\)/,
    );
    expect(fs.readdirSync(path.join(dir, 'quarantine')).sort()).toEqual([
      'wal_00000003.log',
      'wal_00000004.log',
    ]);
  });

  test('--dry-run says "would", changes no byte, quarantine/ included', async () => {
    const { dir } = await cleanLog();
    flipByte(dir, 1);
    tearTail(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    // A second round of damage, with quarantine/ and .broken files already there.
    flipByte(dir, 0, 40);
    const before = hashTree(dir);
    expect(Object.keys(before)).toContain(path.join('quarantine', 'wal_00000001.log'));
    const r = await run(['repair', dir, '--dry-run']);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(
      /^would cut wal_00000000\.log at offset 32 .*bytes kept in quarantine\/wal_00000000\.log$/,
    );
    // Earlier copies are never overwritten: the next free name.
    expect(out[1]).toMatch(
      /^would move wal_00000001\.log .*bytes kept in quarantine\/wal_00000001\.log\.1$/,
    );
    expect(out.at(-2)).toBe('after repair: no entries; the writer continues at sequence 0');
    expect(out.at(-1)).toBe('dry run: nothing was changed');
    expect(hashTree(dir)).toEqual(before);
    const json = await runJson(['repair', dir, '--dry-run', '--json']);
    expect(json.json).toMatchObject({ dryRun: true, nextSequence: 0, lastSequence: null });
    expect(hashTree(dir)).toEqual(before);
  });

  test('--json: the actions, with where each keeps its bytes', async () => {
    const { dir } = await cleanLog();
    tearTail(dir);
    const { code, json } = await runJson(['repair', dir, '--json']);
    expect(code).toBe(0);
    const result = json as RepairResult;
    expect(result).toMatchObject({ dryRun: false, nextSequence: 43, lastSequence: 42 });
    expect(result.actions).toEqual([
      expect.objectContaining({
        action: 'cut',
        cause: 'torn-tail',
        file: segment(dir, 4),
        keptIn: `${segment(dir, 4)}.broken`,
      }),
    ]);
  });

  test('refuses while a writer holds the log (exit 1, no byte changed); --dry-run still answers', async () => {
    const { dir } = await cleanLog();
    tearTail(dir);
    const before = hashTree(dir);
    const wal = await Wal.open({ dir, maxSegmentBytes: 512 });
    try {
      const after = hashTree(dir); // opening cut the tail itself
      const r = await run(['repair', dir]);
      expect(r.code).toBe(Exit.FAILED);
      expect(lines(r.stderr)).toEqual([
        expect.stringMatching(/^wal: expected no writer on .*, found /),
      ]);
      expect(hashTree(dir)).toEqual(after);
      expect((await run(['repair', dir, '--dry-run'])).code).toBe(0);
    } finally {
      await wal.close();
    }
    expect(before).not.toEqual(hashTree(dir));
  });

  test('a log whose only segment is foreign: all of it quarantined, then an empty, clean log', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 0), Buffer.alloc(100, 0x41));
    const out = await repairAndReopen(dir, 0);
    expect(out[0]).toMatch(
      /^did move wal_00000000\.log out of the log \(100 bytes, gap: foreign\)/,
    );
  });

  test('a lone segment too short for its header: moved to .broken, then an empty log', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 0), Buffer.alloc(10));
    await run(['repair', dir]);
    expect(fs.readdirSync(dir)).toEqual(['wal_00000000.log.broken']);
    // Regression: with no wal_N.log left, every command refused the directory.
    const verify = await run(['verify', dir, '--mode', 'strict']);
    expect(verify).toEqual({
      code: 0,
      stdout: 'ok: 0 segments, 0 records, 0 entries\n',
      stderr: '',
    });
    expect((await run(['dump', dir])).code).toBe(0);
    expect((await run(['inspect', dir])).stdout).toMatch(/^total: 0 segments, /m);
  });
});
