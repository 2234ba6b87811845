// One writer per directory, checked through Wal.open only (the lock's
// mechanism is its own module's business): in this process, in another
// process, a lock left behind by a process killed with SIGKILL (reaped or
// still a zombie), and release on close.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wal } from '@wal/fs';
import { describe, expect, onTestFinished, test } from 'vitest';
import { openWal, readEntries, rejectsWith, tempDir } from './helpers.js';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = path.join('test', 'fixtures', 'hold-lock.ts');
const nodeArgs = ['--conditions=@wal/source', '--import', 'tsx', fixture];

// Runs `command`, which starts the fixture on a log; `locked` resolves with the
// pid of the process holding the lock once it holds it.
function holdLock(command: string, args: string[]) {
  const child = spawn(command, args, { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const locked = new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
      const match = /locked (\d+)\n/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.on('exit', (code) =>
      reject(new Error(`holder exited (${code}) before locking: ${stderr}`)),
    );
  });
  return { child, locked };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });

function killWithSigkill(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

// /proc/<pid>/stat field 3: 'Z' once a process has exited but not been reaped.
function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

// Entries of /proc/<pid>/task: the threads not yet gone.
function threadCount(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

describe('one writer per directory', () => {
  test('a second open in this process gets WAL_LOCKED, until the first closes', async () => {
    const dir = tempDir();
    const first = await Wal.open(dir);
    const error = await rejectsWith(Wal.open(dir), 'WAL_LOCKED');
    expect(error.message).toContain(dir);
    // Also through another spelling of the same directory.
    await rejectsWith(Wal.open(path.join(dir, '..', path.basename(dir), '.')), 'WAL_LOCKED');
    expect(first.state).toBe('open');
    await first.put('still', 'writable');
    await first.close();
    const second = await openWal(dir);
    expect(second.nextSequence).toBe(1);
  });

  test('an open while another process holds the lock gets WAL_LOCKED, until it closes', async () => {
    const dir = tempDir();
    const { child, locked } = holdLock(process.execPath, [...nodeArgs, dir]);
    await locked;
    const error = await rejectsWith(Wal.open(dir), 'WAL_LOCKED');
    expect(error.message).toContain(dir);
    await rejectsWith(Wal.open(dir), 'WAL_LOCKED'); // a refused open changes nothing

    child.kill('SIGTERM'); // the holder closes cleanly and releases the lock
    await exited(child);
    expect(child.exitCode).toBe(0);
    const wal = await openWal(dir);
    expect(wal.nextSequence).toBe(1);
  });

  test('a lock left by a holder killed with SIGKILL does not block', async () => {
    const dir = tempDir();
    const { child, locked } = holdLock(process.execPath, [...nodeArgs, dir]);
    const pid = await locked;
    killWithSigkill(pid);
    await exited(child);

    const wal = await openWal(dir);
    await wal.put('parent', 'after the kill');
    await wal.close();
    expect(readEntries(dir).map((e) => e.key)).toEqual(['child', 'parent']);
  });

  test('a holder killed with SIGKILL and not yet reaped (a zombie) does not block', async () => {
    const dir = tempDir();
    // The holder runs in the background of a shell that then becomes `sleep`,
    // which never reaps it: after SIGKILL it stays a zombie.
    const { child, locked } = holdLock('sh', [
      '-c',
      `"$0" ${nodeArgs.join(' ')} "$1" & exec sleep 600`,
      process.execPath,
      dir,
    ]);
    const pid = await locked;
    killWithSigkill(pid);
    // The main thread is a zombie first; the other threads, and with the
    // last of them the open files and their kernel lock, go a moment later.
    await expect.poll(() => [processState(pid), threadCount(pid)]).toEqual(['Z', 1]);

    const wal = await openWal(dir);
    expect(wal.nextSequence).toBe(1);
    child.kill('SIGKILL');
  });

  test('openers racing for the lock a killed holder left: exactly one wins', async () => {
    const dir = tempDir();
    const holder = holdLock(process.execPath, [...nodeArgs, dir]);
    killWithSigkill(await holder.locked);
    await exited(holder.child);

    const racers = Array.from({ length: 4 }, () => holdLock(process.execPath, [...nodeArgs, dir]));
    const outcomes = await Promise.all(
      racers.map(({ locked }) =>
        locked.then(
          () => 'locked',
          (error: Error) => (error.message.includes('WAL_LOCKED') ? 'refused' : error.message),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'locked')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(3);
    // The winner's record is the only one after the killed holder's.
    for (const { child } of racers) child.kill('SIGTERM');
    await Promise.all(racers.map(({ child }) => exited(child)));
    expect(readEntries(dir).map((e) => e.key)).toEqual(['child', 'child']);
  });
});
