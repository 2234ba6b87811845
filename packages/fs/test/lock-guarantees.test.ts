// lockDirectory (src/lock.ts) on a real disk: one holder per directory, a dead
// holder never blocks, a live one is never robbed, and release removes only
// its own lock. The first three tests are regressions of the pid-file lock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { LOCK_FILE, lockDirectory } from '../src/lock.js';
import { tempDir } from './helpers.js';
import { startChild } from './lock-child.js';

async function rejection(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  const error = await promise.then(
    () => undefined,
    (e: NodeJS.ErrnoException) => e,
  );
  if (error === undefined) throw new Error('expected the lock to be refused, but it was taken');
  return error;
}

const inode = (file: string) => fs.statSync(file, { bigint: true }).ino;

describe('lockDirectory', () => {
  test('an empty LOCK of a live opener that has not yet written its name is not taken', async () => {
    const dir = tempDir();
    const opener = startChild('lock-holder.ts', [dir, 'pause']);
    const [, pid] = await opener.line(/^paused (\d+)$/);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe('');

    const error = await rejection(lockDirectory(dir));
    expect(error.code).toBe('ELOCKED');
    expect(error.message).toBe(`${dir} is locked by a process that has not written its name yet`);

    opener.process.kill('SIGCONT');
    await opener.line(/^locked /);
    const named = await rejection(lockDirectory(dir));
    expect(named.message).toBe(`${dir} is locked by pid ${pid} on ${os.hostname()}`);
    opener.process.kill('SIGTERM');
    await opener.line(/^released$/);
  });

  test('release does not remove a LOCK that is no longer its own', async () => {
    const dir = tempDir();
    const file = path.join(dir, LOCK_FILE);
    const release = await lockDirectory(dir);
    fs.unlinkSync(file); // by hand: now a second holder can get in
    const other = startChild('lock-holder.ts', [dir, 'hold']);
    const [, pid] = await other.line(/^locked (\d+)$/);
    const theirs = inode(file);

    await release();
    expect(inode(file)).toBe(theirs);
    const error = await rejection(lockDirectory(dir));
    expect(error.message).toMatch(new RegExp(`pid ${pid}\\b`));
    other.process.kill('SIGTERM');
    await other.line(/^released$/);
    await (await lockDirectory(dir))();
  });

  test('the lock of a holder killed with SIGKILL is taken at once', async () => {
    const dir = tempDir();
    const holder = startChild('lock-holder.ts', [dir, 'hold']);
    const [, pid] = await holder.line(/^locked (\d+)$/);
    holder.process.kill('SIGKILL');
    await holder.exited;
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toMatch(new RegExp(`^${pid} `));

    const release = await lockDirectory(dir);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toMatch(
      new RegExp(`^${process.pid} `),
    );
    await release();
  });

  test('a stopped holder (SIGSTOP) keeps its lock, however long it is stopped', async () => {
    const dir = tempDir();
    const holder = startChild('lock-holder.ts', [dir, 'hold']);
    const [, pid] = await holder.line(/^locked (\d+)$/);
    holder.process.kill('SIGSTOP');
    for (let i = 0; i < 3; i++) {
      const error = await rejection(lockDirectory(dir));
      expect(error.message).toContain(`pid ${pid} `);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    holder.process.kill('SIGCONT');
    holder.process.kill('SIGTERM');
    await holder.line(/^released$/);
    await (await lockDirectory(dir))();
  });

  test('a holder in other user, pid and network namespaces excludes us, and its death frees', async () => {
    const dir = tempDir();
    // unshare --kill-child: SIGKILL to unshare reaches the holder too.
    const unshare = ['unshare', '--map-root-user', '--net', '--pid', '--fork', '--kill-child'];
    const holder = startChild('lock-holder.ts', [dir, 'hold'], undefined, unshare);
    const [, pid] = await holder.line(/^locked (\d+)$/);
    expect(pid).toBe('1'); // its pid means nothing here; the kernel lock does not care
    const error = await rejection(lockDirectory(dir));
    expect(error.message).toBe(`${dir} is locked by pid 1 on ${os.hostname()}`);

    holder.process.kill('SIGKILL');
    await holder.exited;
    // The kernel frees the lock once the holder is gone (just after unshare).
    const attempt = () =>
      lockDirectory(dir).then(
        async (release) => {
          await release();
          return 'taken';
        },
        (e: NodeJS.ErrnoException) => e.code,
      );
    await expect.poll(attempt).toBe('taken');
  });

  test('a second lock in this process is refused, by any spelling of the path', async () => {
    const dir = tempDir();
    const release = await lockDirectory(dir);
    const spellings = [dir, `${dir}/`, path.join(dir, '..', path.basename(dir), '.')];
    const link = path.join(tempDir(), 'link');
    fs.symlinkSync(dir, link);
    for (const spelling of [...spellings, link]) {
      const error = await rejection(lockDirectory(spelling));
      expect(error.code).toBe('ELOCKED');
      expect(error.message).toBe(
        `${spelling} is locked by pid ${process.pid} on ${os.hostname()} (this process)`,
      );
    }
    // Concurrent attempts: exactly one wins.
    await release();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => lockDirectory(dir)));
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as NodeJS.ErrnoException).code).toBe('ELOCKED');
    }
    await won[0]?.();
  });

  test('release is idempotent: one removal, and the lock can be taken again', async () => {
    const dir = tempDir();
    const release = await lockDirectory(dir);
    const first = release();
    expect(release()).toBe(first);
    await first;
    await release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);

    const again = await lockDirectory(dir);
    await release(); // the old release must not touch the new lock
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    await rejection(lockDirectory(dir));
    await again();
  });

  test('another process is refused while this one holds the lock, and named', async () => {
    const dir = tempDir();
    const release = await lockDirectory(dir);
    const other = startChild('lock-holder.ts', [dir, 'hold']);
    const [, code, message] = await other.line(/^refused (\S+) (.*)$/);
    expect(code).toBe('ELOCKED');
    expect(message).toBe(`${dir} is locked by pid ${process.pid} on ${os.hostname()}`);
    await release();
  });

  test('where no prebuilt addon loads, the lock rejects with ENOTSUP', async () => {
    const dir = tempDir();
    const child = startChild('lock-holder.ts', [dir, 'no-addon']);
    const [json = ''] = await child.line(/^\{.*\}$/);
    const { code, message } = JSON.parse(json) as { code: string; message: string };
    expect(code).toBe('ENOTSUP');
    expect(message).toMatch(
      new RegExp(`^no kernel file lock for ${process.platform}-no-such-cpu: `),
    );
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});
