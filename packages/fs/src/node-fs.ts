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
 * Writes up to this many bytes are made at once, on the main thread. For a
 * group of one or a few records the hop to the thread pool and back costs
 * more than the copy into the page cache (and is a large part of a lone
 * durable writer's latency); a larger group, of many writers, amortizes the
 * hop, and on the pool its write adds nothing to the main thread's work.
 * A write can still wait on the file system (a journal commit, say): the
 * limit keeps that to lone, small writes.
 */
const MAIN_THREAD_WRITE_BYTES = 4 * 1024;

// Handles opened 'r+dsync'. Their writes wait for the disk, so they always
// go to the pool. Where the platform has no O_DSYNC (Windows), such a write
// is a write and an fdatasync, two calls on the pool, with the same promise.
const durableHandles = new Set<number>();
const { O_DSYNC, O_RDWR } = fs.constants;

function open(file: string, flags: 'r' | 'r+' | 'wx+' | 'r+dsync'): Promise<number> {
  if (flags !== 'r+dsync') return call<number>((done) => fs.open(file, flags, done));
  const mode = O_DSYNC === undefined ? 'r+' : O_RDWR | O_DSYNC;
  return call<number>((done) => fs.open(file, mode, done)).then((fd) => {
    durableHandles.add(fd);
    return fd;
  });
}

function close(fd: number): Promise<void> {
  // Before the call: once closed, the number may come back from another open.
  durableHandles.delete(fd);
  return call<void>((done) => fs.close(fd, done));
}

function poolWrite(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  return call<number>((done) => fs.write(fd, buffer, 0, buffer.length, position, done));
}

function write(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  if (durableHandles.has(fd)) {
    if (O_DSYNC !== undefined) return poolWrite(fd, buffer, position);
    return poolWrite(fd, buffer, position).then((n) =>
      call<void>((done) => fs.fdatasync(fd, done)).then(() => n),
    );
  }
  if (buffer.length > MAIN_THREAD_WRITE_BYTES) return poolWrite(fd, buffer, position);
  try {
    return Promise.resolve(fs.writeSync(fd, buffer, 0, buffer.length, position));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The default {@link WalFs}: `node:fs`. Every fsync, fdatasync and read,
 * every write larger than 4 KiB and every write on an `'r+dsync'` handle
 * (`O_DSYNC`) runs off the main thread, on libuv's pool; other writes of at
 * most 4 KiB are made at once, on the main thread.
 */
export const nodeFs: WalFs = {
  open,
  close,
  read: (fd, buffer, offset, length, position) =>
    call<number>((done) => fs.read(fd, buffer, offset, length, position, done)),
  write,
  fdatasync: (fd) => call<void>((done) => fs.fdatasync(fd, done)),
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
