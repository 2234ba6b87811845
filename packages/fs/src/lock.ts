import fs from 'node:fs';
import path from 'node:path';

/** Name of the lock file inside a log directory. */
export const LOCK_FILE = 'LOCK';

// Directories locked by this process: a second open in the same process must
// fail even though the lock file names a live process (us).
const heldInProcess = new Set<string>();

/**
 * Takes the writer lock of `dir`. Placeholder: the pid-file protocol of the
 * first release, to be replaced by the lock of issue 13.
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const release = lockSync(dir);
  return async () => release();
}

// The lock is a file holding "pid start-time". It is taken with O_EXCL; a lock
// whose process is gone (SIGKILL leaves the file behind) is taken over.
function lockSync(dir: string): () => void {
  const key = fs.realpathSync(dir);
  if (heldInProcess.has(key)) throw locked(dir, 'this process');
  const file = path.join(key, LOCK_FILE);
  const me = `${process.pid} ${processStat(process.pid)?.startTime ?? '-'}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, me);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
      const holder = readHolder(file);
      if (holder !== undefined && isAlive(holder)) throw locked(dir, `pid ${holder.pid}`);
      // Stale: move it aside atomically, so only one opener takes it over.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch (moveError) {
        if ((moveError as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw moveError;
      }
      const moved = readHolder(aside);
      if (moved && holder && (moved.pid !== holder.pid || moved.startTime !== holder.startTime)) {
        // Another opener replaced the stale lock between our read and our
        // rename: put its lock back (link fails if yet another exists).
        fs.linkSync(aside, file);
        fs.unlinkSync(aside);
        throw locked(dir, `pid ${moved.pid}`);
      }
      fs.unlinkSync(aside);
    }
  }
  heldInProcess.add(key);
  return () => {
    heldInProcess.delete(key);
    try {
      fs.unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
}

interface Holder {
  pid: number;
  startTime: string;
}

function readHolder(file: string): Holder | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // vanished or unreadable: treat as stale and retry
  }
  const [pid, startTime = '-'] = text.trim().split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, startTime } : undefined;
}

// Alive means: the pid exists, has not exited (a SIGKILLed process whose
// parent has not reaped it is a zombie: it holds no files and never writes
// again) and, where /proc tells us, is the process that wrote the lock (not
// a later process that reused the pid).
function isAlive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStat(holder.pid);
  if (now?.state === 'Z' || now?.state === 'X') return false;
  return holder.startTime === '-' || now === undefined || now.startTime === holder.startTime;
}

// Fields 3 (state) and 22 (start time in clock ticks since boot) of
// /proc/<pid>/stat (Linux only).
function processStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '-' };
  } catch {
    return undefined;
  }
}

function locked(dir: string, holder: string): Error {
  return Object.assign(new Error(`${dir} is locked by ${holder}`), { code: 'ELOCKED' });
}
