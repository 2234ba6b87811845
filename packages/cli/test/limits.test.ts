// The CLI reads any valid log: the record limit comes from each segment's
// header, not from an option (issue 12: a log written with a larger
// maxRecordBytes made every command fail with "use maxRecordBytes >= …").
import path from 'node:path';
import { Wal } from '@wal/fs';
import { expect, test } from 'vitest';
import { tempDir } from './support/logs.js';
import { lines, run } from './support/run.js';

const MiB = 1024 * 1024;

test('a 20 MiB record written under maxRecordBytes 32 MiB: every command reads it', async () => {
  const dir = path.join(tempDir(), 'wal');
  const wal = await Wal.open({ dir, maxRecordBytes: 32 * MiB, sync: 'none' });
  await wal.put('big', new Uint8Array(20 * MiB).fill(0x61));
  await wal.put('after', 'x');
  await wal.close();

  const verify = await run(['verify', dir]);
  expect(verify).toEqual({ code: 0, stdout: 'ok: 1 segment, 2 records, 2 entries\n', stderr: '' });
  const inspect = await run(['inspect', dir]);
  expect(inspect.code).toBe(0);
  expect(lines(inspect.stdout)[1]).toMatch(/^wal_00000000\.log +0 +0-1 +2 +2 +\d{8} +no +ok$/);
  const stats = await run(['stats', dir]);
  expect(stats.code).toBe(0);
  expect(stats.stdout).toMatch(/^entries recovered: 2$/m);

  const dump = await run(['dump', dir]);
  expect(dump.code).toBe(0);
  const out = lines(dump.stdout);
  expect(out).toHaveLength(2);
  expect(out[0]).toBe(`0 put "big" "${'a'.repeat(20 * MiB)}"`);
  expect(out[1]).toBe('1 put "after" "x"');

  const frames = await run(['dump', dir, '--frames', '--json', '--key', 'after']);
  expect(JSON.parse(frames.stdout)).toMatchObject({ offset: 48 + 8 + 17 + 5 + 3 + 4 + 20 * MiB });
  expect((await run(['verify', path.join(dir, 'wal_00000000.log')])).code).toBe(0);
});
