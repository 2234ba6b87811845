// Where nodeFs makes a write: at once on the main thread (writeSync) or on
// libuv's pool (fs.write). Large writes to a file with many unsynced bytes
// must go to the pool, where the kernel's dirty-page throttling cannot
// stall the event loop.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs } from '@wal/fs';
import { afterEach, expect, test, vi } from 'vitest';
import { tempDir } from './helpers.js';

const KiB = 1024;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Opens a new file through nodeFs and counts where its writes run. */
async function watched() {
  const file = path.join(tempDir(), 'f');
  const fd = await nodeFs.open(file, 'wx+');
  const onMain = vi.spyOn(fs, 'writeSync');
  const onPool = vi.spyOn(fs, 'write');
  let position = 0;
  return {
    file,
    fd,
    /** Writes `bytes` bytes; returns where the write ran. */
    async write(bytes: number): Promise<'main' | 'pool'> {
      const main = onMain.mock.calls.length;
      const pool = onPool.mock.calls.length;
      const written = await nodeFs.write(fd, new Uint8Array(bytes).fill(1), position);
      expect(written).toBe(bytes);
      position += bytes;
      const ranOnMain = onMain.mock.calls.length - main;
      const ranOnPool = onPool.mock.calls.length - pool;
      expect(ranOnMain + ranOnPool).toBe(1);
      return ranOnMain === 1 ? 'main' : 'pool';
    },
  };
}

test('a write of at most 4 KiB runs on the main thread, however much is unsynced', async () => {
  const f = await watched();
  for (let i = 0; i < 40; i++) expect(await f.write(4 * KiB)).toBe('main');
  await nodeFs.close(f.fd);
  expect(fs.statSync(f.file).size).toBe(160 * KiB);
});

test('a write of up to 64 KiB runs on the main thread after a sync, and on the pool once 64 KiB are unsynced', async () => {
  const f = await watched();
  expect(await f.write(36 * KiB)).toBe('main');
  // 72 KiB unsynced with this one: the pool.
  expect(await f.write(36 * KiB)).toBe('pool');
  await nodeFs.fdatasync(f.fd);
  expect(await f.write(64 * KiB)).toBe('main');
  expect(await f.write(5 * KiB)).toBe('pool');
  await nodeFs.fdatasync(f.fd);
  expect(await f.write(60 * KiB)).toBe('main');
  await nodeFs.close(f.fd);
  expect(fs.statSync(f.file).size).toBe(201 * KiB);
});

test('a write larger than 64 KiB runs on the pool, also right after a sync', async () => {
  const f = await watched();
  await nodeFs.fdatasync(f.fd);
  expect(await f.write(64 * KiB + 1)).toBe('pool');
  await nodeFs.close(f.fd);
});

test('a descriptor number reused after close starts with nothing unsynced', async () => {
  const f = await watched();
  expect(await f.write(40 * KiB)).toBe('main');
  expect(await f.write(40 * KiB)).toBe('pool');
  await nodeFs.close(f.fd);
  const fd = await nodeFs.open(path.join(path.dirname(f.file), 'g'), 'wx+');
  const onMain = vi.mocked(fs.writeSync);
  const before = onMain.mock.calls.length;
  await nodeFs.write(fd, new Uint8Array(40 * KiB), 0);
  expect(onMain.mock.calls.length).toBe(before + 1);
  await nodeFs.close(fd);
});
