import fs from 'node:fs';
import { lockDirectory } from './lock.js';
import type { WalFs } from './wal-fs.js';

// The callback API: every call runs on libuv's thread pool, and costs less
// than fs.promises (no FileHandle objects, no extra promise per call).
function call<T>(run: (done: (error: NodeJS.ErrnoException | null, value?: T) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value as T)));
  });
}

/**
 * Where a write runs. A copy into the page cache takes microseconds, less
 * than the hop to the thread pool and back (about 20 µs of main-thread time
 * per call measured on a VM, and two wake-ups of latency), so a small write
 * is made at once, on the main thread:
 * - up to SMALL_WRITE_BYTES always (a lone writer's group of a few records);
 * - up to SYNCED_WRITE_BYTES while the file holds at most that many bytes
 *   written since its last fdatasync: with `sync: 'always'` that is a whole
 *   group of many writers, synced right after.
 * The second bound is what keeps a stall off the main thread: the kernel
 * throttles a process that dirties pages faster than they are written back
 * (balance_dirty_pages sleeps it), and only a file written without syncs
 * (`'none'`, `'interval'`) can pile up dirty pages; its large writes go to
 * the pool. `apps/bench/src/write-study.ts` measures both placements.
 */
const SMALL_WRITE_BYTES = 4 * 1024;
const SYNCED_WRITE_BYTES = 64 * 1024;

/** Bytes written to each open descriptor since its last fdatasync (or its open). */
const unsynced = new Map<number, number>();

function write(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  const length = buffer.length;
  const dirty = (unsynced.get(fd) ?? 0) + length;
  unsynced.set(fd, dirty);
  if (length > SMALL_WRITE_BYTES && (length > SYNCED_WRITE_BYTES || dirty > SYNCED_WRITE_BYTES)) {
    return call<number>((done) => fs.write(fd, buffer, 0, length, position, done));
  }
  try {
    return Promise.resolve(fs.writeSync(fd, buffer, 0, length, position));
  } catch (error) {
    return Promise.reject(error);
  }
}

function fdatasync(fd: number): Promise<void> {
  // Bytes written from here on are not covered by this sync.
  unsynced.set(fd, 0);
  return call<void>((done) => fs.fdatasync(fd, done));
}

function close(fd: number): Promise<void> {
  unsynced.delete(fd);
  return call<void>((done) => fs.close(fd, done));
}

/**
 * The default {@link WalFs}: `node:fs`. Every fsync, fdatasync and read
 * runs off the main thread, on libuv's pool, and so does every write larger
 * than 4 KiB, but one of at most 64 KiB to a file that holds no more than
 * that written since its last fdatasync (a group under `sync: 'always'`):
 * those are made at once, on the main thread.
 */
export const nodeFs: WalFs = {
  open: (file, flags) => call<number>((done) => fs.open(file, flags, done)),
  close,
  read: (fd, buffer, offset, length, position) =>
    call<number>((done) => fs.read(fd, buffer, offset, length, position, done)),
  write,
  fdatasync,
  fsyncDir: async (dir) => {
    const fd = await call<number>((done) => fs.open(dir, 'r', done));
    try {
      await call<void>((done) => fs.fsync(fd, done));
    } finally {
      await call<void>((done) => fs.close(fd, done));
    }
  },
  ftruncate: (fd, length) => call<void>((done) => fs.ftruncate(fd, length, done)),
  fsize: async (fd) => (await call<fs.Stats>((done) => fs.fstat(fd, done))).size,
  stat: async (file) => {
    const s = await call<fs.Stats>((done) => fs.stat(file, done));
    return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory() };
  },
  rename: (from, to) => call<void>((done) => fs.rename(from, to, done)),
  unlink: (file) => call<void>((done) => fs.unlink(file, done)),
  readdir: (dir) => call<string[]>((done) => fs.readdir(dir, done)),
  mkdirp: (dir) => call<void>((done) => fs.mkdir(dir, { recursive: true }, (e) => done(e))),
  lock: lockDirectory,
};
