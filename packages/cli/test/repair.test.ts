// wal repair: prints the incident folder, each action, the sequences
// recorded as lost and the next sequence; afterwards verify is clean and the
// writer continues above every sequence the log held; --dry-run changes no byte.
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { HEADER_SALT_OFFSET, SEGMENT_HEADER_SIZE } from '@wal/codec';
import { Wal } from '@wal/fs';
import type { RepairResult } from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import {
  cleanLog,
  flipFrame,
  flipFrames,
  hashTree,
  removeSegment,
  segment,
  segmentNumbers,
  sequencesIn,
  tearLastBatch,
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
  expect(verify.stdout).toMatch(/^ok: /m);
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

const INCIDENT_1 =
  'incident 1: quarantine/1 keeps a copy of each file changed or removed, and manifest.json';

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

  test('a torn tail: the last segment rebuilt without it, the file as it was kept', async () => {
    const { dir } = await cleanLog();
    const { file, offset, bytes, batch } = await tearLastBatch(dir);
    const torn = fs.readFileSync(file);
    const name = path.basename(file);
    const out = await repairAndReopen(dir, batch.first);
    expect(out).toEqual([
      INCIDENT_1,
      `rebuilt ${name}: truncated at offset ${offset} (${bytes} bytes); no sequence lost; as it was: quarantine/1/${name}`,
      'lost: no sequence',
      `now: last sequence ${batch.first - 1}; the writer continues at sequence ${batch.first}`,
    ]);
    expect(fs.readFileSync(path.join(dir, 'quarantine/1', name))).toEqual(torn);
  });

  test('mid-log damage: only that segment is rebuilt, with a hole; intact segments stay', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const damaged = fs.readFileSync(segment(dir, 1));
    const before = hashTree(dir);
    const out = await repairAndReopen(dir, 44);
    expect(out).toEqual([
      INCIDENT_1,
      `rebuilt wal_00000001.log: checksum-mismatch at offset ${hit.offset} (${hit.size} bytes); lost sequence ${hit.first}; as it was: quarantine/1/wal_00000001.log`,
      `lost: 1 sequence (${hit.first}), recorded as 1 hole in the log`,
      'now: last sequence 43; the writer continues at sequence 44',
    ]);
    const after = hashTree(dir);
    for (const n of [0, 2, 3, 4]) {
      const name = path.basename(segment(dir, n));
      expect(after[name]).toBe(before[name]);
    }
    expect(fs.readFileSync(path.join(dir, 'quarantine/1/wal_00000001.log'))).toEqual(damaged);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(dir, 'quarantine/1/manifest.json'), 'utf8'),
    );
    expect(manifest).toMatchObject({
      incident: 1,
      lost: [{ firstSequence: hit.first, nextSequence: hit.next }],
    });
    // Every entry but the lost one is still in the log, and the one written after repair (44).
    const dumped = lines((await run(['dump', dir])).stdout).map((l) => Number(l.split(' ')[0]));
    expect(dumped).toEqual(Array.from({ length: 45 }, (_, i) => i).filter((i) => i !== hit.first));
  });

  test('a missing segment: re-created holding only a hole for its sequences', async () => {
    const { dir } = await cleanLog();
    const { first, last, entries } = await sequencesIn(dir, 2);
    removeSegment(dir, 2);
    const out = await repairAndReopen(dir, 44);
    expect(out).toEqual([
      INCIDENT_1,
      `created wal_00000002.log: a segment holding only a hole; lost sequences ${first}-${last}`,
      `lost: ${entries} sequences (${first}-${last}), recorded as 1 hole in the log`,
      'now: last sequence 43; the writer continues at sequence 44',
    ]);
  });

  test('several actions: each on its line, the lost sequences listed together', async () => {
    const { dir } = await cleanLog();
    const [a, b] = await flipFrames(dir, 1, [1, 3]);
    const { first, last, entries } = await sequencesIn(dir, 3);
    removeSegment(dir, 3);
    const out = await repairAndReopen(dir, 44);
    const lost = `${a?.first}, ${b?.first}, ${first}-${last}`;
    expect(out).toEqual([
      INCIDENT_1,
      `rebuilt wal_00000001.log: checksum-mismatch at offset ${a?.offset} (${a?.size} bytes) and 1 more; lost sequences ${a?.first}, ${b?.first}; as it was: quarantine/1/wal_00000001.log`,
      `created wal_00000003.log: a segment holding only a hole; lost sequences ${first}-${last}`,
      `lost: ${entries + 2} sequences (${lost}), recorded as 3 holes in the log`,
      'now: last sequence 43; the writer continues at sequence 44',
    ]);
  });

  test('--dry-run says "would", changes no byte, and names the next incident', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir);
    expect((await run(['repair', dir])).code).toBe(0);
    // A second round of damage, with an incident already there.
    const hit = await flipFrame(dir, 3);
    const before = hashTree(dir);
    expect(Object.keys(before)).toContain(path.join('quarantine', '1', 'wal_00000001.log'));
    const r = await run(['repair', dir, '--dry-run']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'incident 2: quarantine/2 would keep a copy of each file changed or removed, and manifest.json',
      `would rebuild wal_00000003.log: checksum-mismatch at offset ${hit.offset} (${hit.size} bytes); lost sequence ${hit.first}; as it was: quarantine/2/wal_00000003.log`,
      `lost: 1 sequence (${hit.first}), would be recorded as 1 hole in the log`,
      'after repair: last sequence 43; the writer continues at sequence 44',
      'dry run: nothing was changed',
    ]);
    expect(hashTree(dir)).toEqual(before);
    const json = await runJson(['repair', dir, '--dry-run', '--json']);
    expect(json.json).toMatchObject({
      dryRun: true,
      incident: 2,
      nextSequence: 44,
      lastSequence: 43,
    });
    expect(hashTree(dir)).toEqual(before);
  });

  test('--json: the result, with every action and where it keeps its copy', async () => {
    const { dir } = await cleanLog();
    const hit = await flipFrame(dir);
    const { code, json } = await runJson(['repair', dir, '--json']);
    expect(code).toBe(0);
    const result = json as RepairResult;
    expect(result).toMatchObject({
      dir: path.resolve(dir),
      dryRun: false,
      incident: 1,
      incidentDir: path.join(dir, 'quarantine', '1'),
      lost: [{ firstSequence: hit.first, nextSequence: hit.next }],
      nextSequence: 44,
      lastSequence: 43,
    });
    expect(result.actions).toEqual([
      expect.objectContaining({
        action: 'rebuild',
        file: segment(dir, 1),
        keptIn: path.join(dir, 'quarantine', '1', 'wal_00000001.log'),
        damage: [
          expect.objectContaining({
            offset: hit.offset,
            bytes: hit.size,
            reason: 'checksum-mismatch',
          }),
        ],
      }),
    ]);
  });

  test('refuses while a writer holds the log (exit 3, no byte changed); --dry-run still answers', async () => {
    const { dir } = await cleanLog();
    const writer = await Wal.open({ dir, maxSegmentBytes: 512 });
    try {
      const before = hashTree(dir);
      const r = await run(['repair', dir]);
      expect(r.code).toBe(Exit.FAILED);
      expect(r.stdout).toBe('');
      expect(lines(r.stderr)).toEqual([
        expect.stringMatching(/^wal: expected no writer on .* during repair, found /),
      ]);
      expect(hashTree(dir)).toEqual(before);
      expect((await run(['repair', dir, '--dry-run'])).code).toBe(0);
    } finally {
      await writer.close();
    }
  });

  test('a log whose only segment is foreign: moved out, then an empty, clean log', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 0), Buffer.alloc(100, 0x41));
    const out = await repairAndReopen(dir, 0);
    expect(out).toEqual([
      INCIDENT_1,
      'moved out wal_00000000.log: bad-header at offset 0 (100 bytes); no sequence lost; as it was: quarantine/1/wal_00000000.log',
      'lost: no sequence',
      'now: no entries; the writer continues at sequence 0',
    ]);
  });

  test('a lone segment too short for its header: moved out, and every command still reads the log', async () => {
    const dir = tempDir();
    fs.writeFileSync(segment(dir, 0), Buffer.alloc(10));
    expect((await run(['repair', dir])).code).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['quarantine']);
    // Regression: with no wal_N.log left, every command refused the directory.
    expect(await run(['verify', dir, '--mode', 'strict'])).toEqual({
      code: 0,
      stdout: 'ok: 0 segments, 0 records, 0 entries\n',
      stderr: '',
    });
    expect((await run(['dump', dir])).code).toBe(0);
    expect((await run(['inspect', dir])).stdout).toMatch(/^total: 0 segments, /m);
  });

  test('nothing reads in the last segment: refused, no byte changed, --floor named; with --floor, repaired and the writer continues there', async () => {
    const { dir } = await cleanLog();
    const file = segment(dir, segmentNumbers(dir).at(-1) as number);
    const bytes = fs.readFileSync(file);
    bytes[0] = (bytes[0] as number) ^ 1; // magic
    bytes[HEADER_SALT_OFFSET] = (bytes[HEADER_SALT_OFFSET] as number) ^ 1;
    bytes[SEGMENT_HEADER_SIZE] = (bytes[SEGMENT_HEADER_SIZE] as number) ^ 0x40; // first frame's length
    fs.writeFileSync(file, bytes);
    const before = hashTree(dir);
    for (const args of [
      ['repair', dir],
      ['repair', dir, '--dry-run'],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(Exit.DAMAGED);
      expect(r.stderr).toMatch(/found no readable frame under any salt/);
      expect(r.stderr).toMatch(/pass --floor <n>/);
      expect(hashTree(dir)).toEqual(before);
    }
    expect((await run(['repair', dir, '--floor', '-1'])).code).toBe(2);
    expect(hashTree(dir)).toEqual(before);
    const r = await run(['repair', dir, '--floor', '1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the writer continues at sequence 1000/);
    expect(r.stdout).toMatch(
      /from --floor: nothing read in the last segment, so it may have held sequences from 1000 on; replay refuses a checkpoint at or above 1000/,
    );
    expect((await run(['verify', dir, '--mode', 'strict'])).code).toBe(0);
    const wal = await Wal.open({ dir });
    try {
      expect(await wal.put('after', 'floor')).toBe(1000);
    } finally {
      await wal.close();
    }
  });
});
