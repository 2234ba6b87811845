import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** Name of the lock file inside a log directory. */
export const LOCK_FILE = 'LOCK';

const open = promisify(fs.open);
const close = promisify(fs.close);
const fstat = promisify(fs.fstat);
const stat = promisify(fs.stat);
const ftruncate = promisify(fs.ftruncate);
const write = promisify(fs.write);
const unlink = promisify(fs.unlink);
const readFile = promisify(fs.readFile);

// Losing the race with releasing holders this often in a row means the file
// system reports unstable inode numbers; better an error than a busy loop.
const MAX_ATTEMPTS = 16;

/**
 * Takes the exclusive writer lock on directory `dir` and resolves to the
 * function that releases it.
 *
 * The lock is a kernel file lock on `dir/LOCK`: an open-file-description lock
 * (`fcntl(F_OFD_SETLK)`) on Linux, `flock` on macOS, `LockFileEx` on Windows,
 * taken through the prebuilt addon of `fs-native-extensions`. LOCK holds
 * `"<pid> <hostname>"` of the holder, for error messages only (for a moment
 * after a takeover it may still name the dead predecessor): who holds the
 * lock is decided by the kernel, never by what the file says.
 *
 * The one protocol step on top of the kernel: a holder removes LOCK before it
 * unlocks, so an opener may lock a file that is already gone from the
 * directory. It therefore holds only once `dir/LOCK` names the very file it
 * locked, and otherwise retries; and since only that holder removes LOCK, the
 * check stays true until it releases.
 *
 * Guarantees:
 * - At most one holder per directory among all processes that use this
 *   function on the same kernel, whatever the interleaving: also across pid
 *   and network namespaces (containers sharing a volume), and within one
 *   process (a second lock of the same directory, by any spelling of its
 *   path, rejects).
 * - The kernel drops the lock when the holder dies, however it dies
 *   (SIGKILL, crash, OOM kill), so a dead holder never blocks the next
 *   opener, and there is no stale-holder takeover to race with. A holder that
 *   is alive but stopped or slow (SIGSTOP, a long pause) keeps its lock.
 * - Release is idempotent (every call returns the same promise) and removes
 *   LOCK only while it still is the file this lock holds, so it never removes
 *   another holder's lock.
 *
 * Limits:
 * - Advisory: it excludes only other callers of this function (or of any
 *   program taking the same kernel lock on LOCK), not other writers.
 * - Deleting or replacing LOCK by hand while it is held lets a second holder
 *   in, as it would with LevelDB's LOCK.
 * - Network file systems lock only as well as their server does (NFS through
 *   its lock manager); this is not tested.
 * - It needs the addon's prebuilt binary: Linux with glibc on x64 and arm64,
 *   macOS, Windows, Android. Elsewhere (musl libc such as Alpine, 32-bit ARM)
 *   it rejects with code `ENOTSUP`. Only Linux is tested.
 * - The lock lives on an open file descriptor, which a `fork()` without
 *   `exec` would share; Node's child processes always `exec`.
 *
 * @param dir - An existing directory.
 * @returns The release function: resolves once LOCK is removed and the lock
 *   dropped. Until then the lock lasts as long as the process, whether or not
 *   the function is still referenced.
 * @throws An `Error` with code `ELOCKED`, naming the holder, when another
 *   holder (in any process, this one included) has the lock; `ENOTSUP` when no
 *   kernel lock can be loaded here; the file system's error otherwise.
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const tryLock = kernelLock();
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 1; ; attempt++) {
    // A plain descriptor, not a FileHandle: garbage collection closes an
    // unreferenced FileHandle, and that would drop the lock.
    const fd = await open(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    try {
      if (!tryLock(fd)) throw locked(dir, await readHolder(file));
      // A holder removes LOCK before it lets go, so what we locked may be a
      // file that is gone from the directory: then lock the new one.
      const [ours, named] = await Promise.all([fstat(fd, { bigint: true }), identify(file)]);
      if (sameFile(ours, named)) {
        const name = Buffer.from(`${process.pid} ${os.hostname()}\n`);
        await ftruncate(fd, 0);
        await write(fd, name, 0, name.length, 0);
        return releaser(fd, file, ours);
      }
    } catch (error) {
      await close(fd); // a partial name left in LOCK is overwritten by the next holder
      throw error;
    }
    await close(fd);
    if (attempt === MAX_ATTEMPTS) {
      throw Object.assign(new Error(`${file} was replaced ${attempt} times while locking it`), {
        code: 'EBUSY',
      });
    }
  }
}

function releaser(fd: number, file: string, ours: FileId): () => Promise<void> {
  let released: Promise<void> | undefined;
  const release = async () => {
    try {
      // Only the holder of the file at `file` removes it, and it removes it
      // before unlocking, so others see either our locked file or none.
      if (sameFile(ours, await identify(file))) await unlink(file);
    } finally {
      await close(fd);
    }
  };
  return () => {
    released ??= release();
    return released;
  };
}

interface FileId {
  dev: bigint;
  ino: bigint;
}

// What `file` names now, if anything.
async function identify(file: string): Promise<FileId | undefined> {
  try {
    return await stat(file, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const sameFile = (a: FileId, b: FileId | undefined): boolean =>
  b !== undefined && a.dev === b.dev && a.ino === b.ino;

async function readHolder(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const [pid, host] = text.trim().split(' ');
  if (!pid || !host) return 'a process that has not written its name yet';
  const here = pid === String(process.pid) && host === os.hostname() ? ' (this process)' : '';
  return `pid ${pid} on ${host}${here}`;
}

function locked(dir: string, holder: string): Error {
  return Object.assign(new Error(`${dir} is locked by ${holder}`), { code: 'ELOCKED' });
}

type TryLock = (fd: number) => boolean;
let loaded: TryLock | undefined;

// Loaded on first use, so that a host without the addon can still import
// @wal/fs and read logs; only taking the lock fails there.
function kernelLock(): TryLock {
  if (loaded) return loaded;
  let addon: { tryLock(fd: number): boolean };
  try {
    addon = createRequire(import.meta.url)('fs-native-extensions');
  } catch (cause) {
    const host = `${process.platform}-${process.arch}`;
    throw Object.assign(new Error(`no kernel file lock for ${host}: ${(cause as Error).message}`), {
      code: 'ENOTSUP',
      cause,
    });
  }
  loaded = (fd) => {
    try {
      return addon.tryLock(fd); // false when another holder has it (EAGAIN)
    } catch (error) {
      // fcntl may report a conflict as EACCES too.
      if ((error as NodeJS.ErrnoException).code === 'EACCES') return false;
      throw error;
    }
  };
  return loaded;
}
