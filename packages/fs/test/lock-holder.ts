// Child process for the lock tests: `lock-holder.ts <dir> <mode>`.
//   hold         takes the lock, prints "locked <pid>", holds it until SIGTERM,
//                then releases it, prints "released" and exits 0.
//   pause        the same, but stops itself (SIGSTOP) right before its first
//                write to a file named LOCK, after printing "paused <pid>": a
//                live opener caught between taking the lock and naming itself.
//   no-addon     pretends to run on a CPU no prebuilt addon exists for and
//                prints the lock's error as JSON.
// Any other outcome prints "refused <code> <message>" and exits 1.
import fs from 'node:fs';
import path from 'node:path';

const [dir = '', mode = 'hold'] = process.argv.slice(2);

if (mode === 'pause') {
  // Patched before the lock module loads, so it sees these functions.
  let paused = false;
  const stopBeforeLockWrite = (fd: number) => {
    if (paused || path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`)) !== 'LOCK') return;
    paused = true;
    process.stdout.write(`paused ${process.pid}\n`);
    process.kill(process.pid, 'SIGSTOP');
  };
  const { write, writeSync } = fs;
  Object.assign(fs, {
    write: (fd: number, ...rest: unknown[]) => {
      stopBeforeLockWrite(fd);
      return (write as (...args: unknown[]) => void)(fd, ...rest);
    },
    writeSync: (fd: number, ...rest: unknown[]) => {
      stopBeforeLockWrite(fd);
      return (writeSync as (...args: unknown[]) => number)(fd, ...rest);
    },
  });
}
if (mode === 'no-addon') Object.defineProperty(process, 'arch', { value: 'no-such-cpu' });

const { lockDirectory } = await import('../src/lock.js');
try {
  const release = await lockDirectory(dir);
  const alive = setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', () => {
    clearInterval(alive);
    release().then(() => {
      process.stdout.write('released\n');
      process.exit(0);
    });
  });
  // Only now: a SIGTERM sent as soon as this line is read must find the handler.
  process.stdout.write(`locked ${process.pid}\n`);
} catch (error) {
  const { code, message } = error as NodeJS.ErrnoException;
  if (mode === 'no-addon') process.stdout.write(`${JSON.stringify({ code, message })}\n`);
  else process.stdout.write(`refused ${code} ${message}\n`);
  process.exitCode = 1;
}
