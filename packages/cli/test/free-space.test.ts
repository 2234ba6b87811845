// The zeros a writer preallocates after the last frame of the last segment
// are free space: every command reads them as Wal.open does (one rule, in
// the segment layer), not as damage or a torn tail, and changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { Wal } from '@wal/fs';
import { expect, test } from 'vitest';
import { framesOf, hashTree, segment, tempDir } from './support/logs.js';
import { lines, run } from './support/run.js';

async function preallocatedLog(): Promise<{ dir: string; last: string; dataEnd: number }> {
  const dir = path.join(tempDir(), 'wal');
  const wal = await Wal.open({ dir, maxSegmentBytes: 4096 });
  for (let i = 0; i < 100; i++) await wal.put(`k${i}`, `v${i}`);
  await wal.close();
  const last = segment(dir, 1);
  const dataEnd = (await framesOf(dir, 1)).at(-1)?.end as number;
  return { dir, last, dataEnd };
}

test('a log with free space after its last frame: verify, inspect, dump, stats and repair see no damage', async () => {
  const { dir, last, dataEnd } = await preallocatedLog();
  const bytes = fs.readFileSync(last);
  expect(bytes.length).toBe(4096);
  expect(dataEnd).toBeLessThan(bytes.length);
  expect(bytes.subarray(dataEnd).every((b) => b === 0)).toBe(true);
  const before = hashTree(dir);

  for (const mode of ['tolerate-tail', 'strict']) {
    expect(await run(['verify', dir, '--mode', mode])).toEqual({
      code: 0,
      stdout: 'ok: 2 segments, 100 records, 100 entries\n',
      stderr: '',
    });
  }
  const inspect = await run(['inspect', dir]);
  expect(inspect.code).toBe(0);
  expect(lines(inspect.stdout)[2]).toMatch(/^wal_00000001\.log +1 +99-99 +1 +1 +4096 +no +ok$/);
  const dump = await run(['dump', dir, '--frames']);
  expect(dump.code).toBe(0);
  expect(lines(dump.stdout).at(-1)).toMatch(
    new RegExp(`^wal_00000001\\.log offset ${dataEnd - 21} size 21 mark next 100 `),
  );
  expect(dump.stdout).not.toMatch(/damaged|torn/);
  const stats = await run(['stats', dir]);
  expect(stats.stdout).toMatch(/^torn tail: none$/m);
  expect(stats.stdout).toMatch(/^damaged regions: 0; bytes skipped: 0$/m);
  expect(await run(['repair', dir])).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(/^nothing to repair: the log is clean$/m),
  });
  expect(hashTree(dir)).toEqual(before);

  // The writer continues over the zeros.
  const wal = await Wal.open({ dir, maxSegmentBytes: 4096 });
  expect(wal.repairs).toEqual([]);
  expect(await wal.put('after', 'reopen')).toBe(100);
  await wal.close();
  expect(fs.statSync(last).size).toBe(4096);
  expect((await run(['verify', dir, '--mode', 'strict'])).stdout).toBe(
    'ok: 2 segments, 101 records, 101 entries\n',
  );
});

test('bytes after the free space are a torn tail from the last frame, zeros included', async () => {
  const { dir, last, dataEnd } = await preallocatedLog();
  fs.appendFileSync(last, Buffer.from([40, 0, 0, 0, 1, 2, 3]));
  const r = await run(['verify', dir]);
  expect(r.code).toBe(0);
  expect(lines(r.stdout)[0]).toMatch(
    new RegExp(`^torn tail wal_00000001\\.log offset ${dataEnd} bytes ${4103 - dataEnd} `),
  );
});
