// Where nodeFs makes a write: at once on the main thread (writeSync) or on
// libuv's pool (fs.write). Only small writes may run on the main thread,
// where a stalled file system would hold up the event loop.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs } from '@wal/fs';
import { afterEach, expect, test, vi } from 'vitest';
import { tempDir } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

test('a write of at most 4 KiB runs on the main thread, a larger one on the pool', async () => {
  const file = path.join(tempDir(), 'f');
  const fd = await nodeFs.open(file, 'wx+');
  const onMain = vi.spyOn(fs, 'writeSync');
  const onPool = vi.spyOn(fs, 'write');
  let position = 0;
  const where = async (bytes: number) => {
    const [main, pool] = [onMain.mock.calls.length, onPool.mock.calls.length];
    expect(await nodeFs.write(fd, new Uint8Array(bytes).fill(1), position)).toBe(bytes);
    position += bytes;
    const ranOnMain = onMain.mock.calls.length - main;
    expect(ranOnMain + onPool.mock.calls.length - pool).toBe(1);
    return ranOnMain === 1 ? 'main' : 'pool';
  };
  expect(await where(100)).toBe('main');
  expect(await where(4096)).toBe('main');
  expect(await where(4097)).toBe('pool');
  expect(await where(1 << 20)).toBe('pool');
  await nodeFs.fdatasync(fd);
  expect(await where(4097)).toBe('pool');
  await nodeFs.close(fd);
  expect(fs.statSync(file).size).toBe(100 + 4096 + 2 * 4097 + (1 << 20));
});
