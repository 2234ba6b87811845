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

// Under sync: 'always' the active segment is opened 'r+dsync': its writes
// wait for the disk, so even a small one must not run on the main thread.
test("a write on an 'r+dsync' handle runs on the pool whatever its size, on a handle the kernel holds O_DSYNC", async () => {
  const file = path.join(tempDir(), 'f');
  await nodeFs.close(await nodeFs.open(file, 'wx+'));
  const fd = await nodeFs.open(file, 'r+dsync');
  if (process.platform === 'linux') {
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    expect(Number.parseInt(flags?.[1] ?? '0', 8) & fs.constants.O_DSYNC).toBe(fs.constants.O_DSYNC);
  }
  const onMain = vi.spyOn(fs, 'writeSync');
  const onPool = vi.spyOn(fs, 'write');
  expect(await nodeFs.write(fd, new Uint8Array(100).fill(1), 0)).toBe(100);
  expect(onMain).not.toHaveBeenCalled();
  expect(onPool).toHaveBeenCalledTimes(1);
  await nodeFs.close(fd);
  // Closed, the number is no longer taken as a durable handle's.
  const plain = await nodeFs.open(file, 'r+');
  await nodeFs.write(plain, new Uint8Array(100).fill(2), 100);
  expect(onMain).toHaveBeenCalledTimes(1);
  await nodeFs.close(plain);
});
