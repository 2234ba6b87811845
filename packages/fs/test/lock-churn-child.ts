// Child process of the lock churn test: `lock-churn-child.ts <dir> <lives>`.
// Locks `dir` over and over, each time entering a critical section that
// detects a second holder, and prints one line per event:
//   ready          loaded, about to start
//   in             entered the critical section
//   overlap <pid> <stat>  found <pid>, running, inside the critical section too
//   dying          about to SIGKILL itself inside the critical section
//   error <text>   the lock failed with something other than ELOCKED
// With <lives> = 0 it runs until SIGTERM, then exits 0 after releasing; with
// <lives> = n it kills itself with SIGKILL on its n-th entry, lock held.
import fs from 'node:fs';
import path from 'node:path';
import { lockDirectory } from '../src/lock.js';

const [dir = '', lives = '0'] = process.argv.slice(2);
const dieOnEntry = Number(lives);
// Who is inside: a hard link to a file holding our pid, so it never exists
// without its content. A holder killed inside leaves it behind.
const marker = path.join(dir, 'inside');
const mine = path.join(dir, `inside.${process.pid}`);
fs.writeFileSync(mine, String(process.pid));

const say = (line: string) => process.stdout.write(`${line}\n`);
const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 2));

// The state (field 3) and kernel flags (field 9) of /proc/<pid>/stat, or
// undefined once the process is gone.
function processStat(pid: number): { state: string; flags: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', flags: Number(fields[6]) };
  } catch {
    return undefined;
  }
}

// Still able to run code: not gone, not a zombie, and not exiting. The kernel
// drops a killed process's locks while it exits, before it becomes a zombie,
// so a new holder may see an exiting (PF_EXITING) previous one.
const PF_EXITING = 0x4;
function running(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && !'ZX'.includes(stat.state) && (stat.flags & PF_EXITING) === 0;
}

function enter(): void {
  for (;;) {
    try {
      fs.linkSync(mine, marker);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let other: number;
    try {
      other = Number(fs.readFileSync(marker, 'utf8'));
    } catch {
      continue; // its holder just left
    }
    if (running(other)) {
      say(`overlap ${other} ${JSON.stringify(processStat(other))}`);
      return;
    }
    fs.rmSync(marker, { force: true }); // left by a holder killed inside
  }
}

function leave(): void {
  try {
    if (Number(fs.readFileSync(marker, 'utf8')) === process.pid) fs.unlinkSync(marker);
  } catch {
    // not ours, or gone: an overlap already reported
  }
}

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
say('ready');
for (let entries = 0; !stopping; ) {
  let release: () => Promise<void>;
  try {
    release = await lockDirectory(dir);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code !== 'ELOCKED') say(`error ${code} ${message}`);
    await pause();
    continue;
  }
  enter();
  say('in');
  if (++entries === dieOnEntry) {
    say('dying');
    process.kill(process.pid, 'SIGKILL');
  }
  await pause();
  leave();
  await release();
  await pause();
}
fs.rmSync(mine);
