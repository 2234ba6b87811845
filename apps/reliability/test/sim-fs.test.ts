import { Wal } from '@wal/fs';
import { type CrashPlan, SimFs, seededRandom } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

// The crash model every loop relies on, checked on its own.

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** A durable directory /d, as an existing log directory would be. */
async function withDir(options?: ConstructorParameters<typeof SimFs>[0]): Promise<SimFs> {
  const fs = new SimFs(options);
  await fs.mkdirp('/d');
  await fs.fsyncDir('/');
  return fs;
}

/** The code `call` rejects with, or 'no error'. */
function codeOf(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => 'no error',
    (error: unknown) => (error as { code?: unknown }).code,
  );
}

/** Creates `file` with `content` (not durable), and closes it. */
async function create(fs: SimFs, file: string, content: Uint8Array): Promise<void> {
  const fd = await fs.open(file, 'wx+');
  await fs.write(fd, content, 0);
  await fs.close(fd);
}

describe('SimFs behaves like a POSIX file system', () => {
  test('errors carry Node-style codes', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    expect(await codeOf(() => fs.open('/d/a', 'wx+'))).toBe('EEXIST');
    expect(await codeOf(() => fs.open('/d/missing', 'r'))).toBe('ENOENT');
    expect(await codeOf(() => fs.open('/nope/a', 'wx+'))).toBe('ENOENT');
    expect(await codeOf(() => fs.open('/d', 'r'))).toBe('EISDIR');
    expect(await codeOf(() => fs.readdir('/d/a'))).toBe('ENOTDIR');
    expect(await codeOf(() => fs.stat('/d/a/b'))).toBe('ENOTDIR');
    expect(await codeOf(() => fs.unlink('/d'))).toBe('EISDIR');
    expect(await codeOf(() => fs.mkdirp('/d/a'))).toBe('EEXIST');
    await fs.close(fd);
    expect(await codeOf(() => fs.read(fd, new Uint8Array(1), 0, 1, 0))).toBe('EBADF');
    expect(await codeOf(() => fs.write(fd, bytes(1), 0))).toBe('EBADF');
    expect(await codeOf(() => fs.close(fd))).toBe('EBADF');
    const ro = await fs.open('/d/a', 'r');
    expect(await codeOf(() => fs.write(ro, bytes(1), 0))).toBe('EBADF');
    expect(await codeOf(() => fs.ftruncate(ro, 0))).toBe('EINVAL');
    await fs.close(ro);
    expect(fs.openHandles).toBe(0);
  });

  test('reads see writes at any position; a gap reads as zeros', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.write(fd, bytes(1, 2), 0);
    await fs.write(fd, bytes(3, 4), 4);
    const back = new Uint8Array(6);
    expect(await fs.read(fd, back, 0, 6, 0)).toBe(6);
    expect(back).toEqual(bytes(1, 2, 0, 0, 3, 4));
    expect(await fs.fsize(fd)).toBe(6);
    await fs.close(fd);
    expect(fs.readFile('/d/a')).toEqual(bytes(1, 2, 0, 0, 3, 4));
    expect(await fs.stat('/d/a')).toEqual({ size: 6, isFile: true, isDirectory: false });
    await fs.rename('/d/a', '/d/b');
    expect(await fs.readdir('/d')).toEqual(['b']);
  });

  test('the lock is exclusive, released by its function, and by a crash or a kill', async () => {
    const fs = await withDir();
    const release = await fs.lock('/d');
    expect(await codeOf(() => fs.lock('/d'))).toBe('ELOCKED');
    await release();
    await fs.lock('/d');
    expect([fs.crash().locks, fs.kill().locks]).toEqual([0, 0]);
    expect(await codeOf(() => fs.crash().lock('/d'))).toBe('no error');
    expect(await codeOf(() => fs.kill().lock('/d'))).toBe('no error');
  });

  test('a call takes effect at once; the caller learns its outcome later, as from the thread pool', async () => {
    const fs = await withDir();
    let seen: number | undefined;
    fs.onOperation = (event) => {
      if (event.op === 'write') seen = fs.readFile('/d/a').length;
    };
    const fd = await fs.open('/d/a', 'wx+');
    const write = fs.write(fd, bytes(1, 2, 3), 0);
    expect(seen).toBe(3);
    expect(await write).toBe(3);
    await fs.close(fd);
  });
});

describe('crash states', () => {
  test('synced bytes always survive; the unsynced suffix is dropped, kept, cut or torn', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ write: fc.uint8Array({ minLength: 1, maxLength: 700 }) }),
            fc.constant({ sync: true }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer(),
        async (steps, seed) => {
          const fs = await withDir();
          const fd = await fs.open('/d/a', 'wx+');
          await fs.fdatasync(fd);
          await fs.fsyncDir('/d');
          let size = 0;
          let synced: Uint8Array = new Uint8Array(0);
          for (const step of steps) {
            if ('write' in step) size += await fs.write(fd, step.write, size);
            else {
              await fs.fdatasync(fd);
              synced = fs.readFile('/d/a');
            }
          }
          const current = fs.readFile('/d/a');
          const after = fs.crash(seed).readFile('/d/a');
          // Always: the synced bytes, then a prefix of the unsynced ones
          // except for zeros in at most one sector.
          expect(after.subarray(0, synced.length)).toEqual(synced);
          expect(after.length).toBeGreaterThanOrEqual(synced.length);
          expect(after.length).toBeLessThanOrEqual(current.length);
          const differing = [...after.keys()].filter((i) => after[i] !== current[i]);
          for (const i of differing) expect(after[i]).toBe(0);
          if (differing.length > 0) {
            const sector = Math.floor((differing[0] as number) / 512);
            expect(Math.floor((differing.at(-1) as number) / 512)).toBe(sector);
          }
        },
      ),
    );
  });

  test('a kill keeps the page cache: everything written is readable, and a later power loss loses what was never synced', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.write(fd, bytes(1, 2), 0);
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.write(fd, bytes(3, 4), 2);
    await create(fs, '/d/b', bytes(5));
    await fs.lock('/d');
    const killed = fs.kill();
    expect(killed.readFile('/d/a')).toEqual(bytes(1, 2, 3, 4));
    expect((await killed.readdir('/d')).sort()).toEqual(['a', 'b']);
    expect([killed.openHandles, killed.locks]).toEqual([0, 0]);
    // Nothing the dead process did not sync became durable by its death.
    const lost = killed.crash();
    expect(lost.readFile('/d/a')).toEqual(bytes(1, 2));
    expect(await lost.readdir('/d')).toEqual(['a']);
    // The next process can make it durable.
    const next = await killed.open('/d/a', 'r+');
    await killed.fdatasync(next);
    await killed.fsyncDir('/d');
    expect(killed.crash().readFile('/d/a')).toEqual(bytes(1, 2, 3, 4));
    expect((await killed.crash().readdir('/d')).sort()).toEqual(['a', 'b']);
  });

  test('unsynced data sometimes survives and sometimes does not', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.write(fd, new Uint8Array(1000).fill(7), 0);
    const lengths = new Set<number>();
    let torn = 0;
    for (let seed = 0; seed < 200; seed++) {
      const after = fs.crash(seed).readFile('/d/a');
      lengths.add(after.length);
      if (after.includes(0)) torn++;
    }
    expect(lengths.has(0)).toBe(true);
    expect(lengths.has(1000)).toBe(true);
    expect(lengths.size).toBeGreaterThan(10);
    expect(torn).toBeGreaterThan(0);
    expect(fs.crash().readFile('/d/a').length).toBe(0);
  });

  test('a torn sector zeroes only unsynced bytes of one aligned 512-byte sector', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.write(fd, new Uint8Array(600).fill(1), 0);
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.write(fd, new Uint8Array(600).fill(2), 600);
    const first = fs.crash({
      files: new Map([[fs.inode('/d/a'), { kind: 'torn', length: 1200, sector: 512 }]]),
    });
    const a = first.readFile('/d/a');
    expect(a.subarray(0, 600).every((b) => b === 1)).toBe(true);
    expect(a.subarray(600, 1024).every((b) => b === 0)).toBe(true);
    expect(a.subarray(1024).every((b) => b === 2)).toBe(true);
  });

  test('a file made durable by fdatasync vanishes unless its directory was fsynced', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.write(fd, bytes(1, 2, 3), 0);
    await fs.fdatasync(fd);
    const outcomes = new Set<string>();
    for (const plan of fs.crashPlans()) outcomes.add((await fs.crash(plan).readdir('/d')).join());
    expect(outcomes).toEqual(new Set(['', 'a']));
    await fs.fsyncDir('/d');
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(1, 2, 3));
  });

  test('a rename without a directory fsync may vanish; after one it survives', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a.tmp', 'wx+');
    await fs.write(fd, bytes(9), 0);
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.rename('/d/a.tmp', '/d/a');
    const names = new Set<string>();
    for (const plan of fs.crashPlans()) names.add((await fs.crash(plan).readdir('/d')).join());
    expect(names).toEqual(new Set(['a.tmp', 'a']));
    await fs.fsyncDir('/d');
    expect(await fs.crash().readdir('/d')).toEqual(['a']);
  });

  test('a rename replayed after a crash moves only the file it renamed', async () => {
    const fs = await withDir();
    fs.writeFile('/d/t', bytes(1));
    await fs.unlink('/d/t');
    const fd = await fs.open('/d/t', 'wx+');
    await fs.write(fd, bytes(2), 0);
    await fs.fdatasync(fd);
    await fs.close(fd);
    await fs.rename('/d/t', '/d/f');
    const seen = new Set<string>();
    for (const plan of fs.crashPlans()) {
      const after = fs.crash(plan);
      const names = (await after.readdir('/d')).sort();
      seen.add(names.join());
      // Had the unlink or the create been lost, the rename has nothing to move.
      if (names.includes('f')) expect(after.readFile('/d/f')).toEqual(bytes(2));
    }
    expect(seen).toEqual(new Set(['', 't', 'f']));
  });

  test('an unlink without a directory fsync may be undone by a crash', async () => {
    const fs = await withDir();
    fs.writeFile('/d/a', bytes(5));
    await fs.unlink('/d/a');
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(5));
    await fs.fsyncDir('/d');
    expect(await fs.crash().readdir('/d')).toEqual([]);
  });

  test('a new directory needs its parent fsynced to survive', async () => {
    const fs = new SimFs();
    await fs.mkdirp('/x/y');
    fs.writeFile('/x/y/f', bytes(1));
    await fs.fsyncDir('/x/y');
    expect(await fs.crash().readdir('/')).toEqual([]);
    await fs.fsyncDir('/');
    await fs.fsyncDir('/x');
    expect(fs.crash().readFile('/x/y/f')).toEqual(bytes(1));
  });

  test("'in-order' keeps a prefix of directory operations; 'any' keeps any subset", async () => {
    const states = async (dirOrder: 'any' | 'in-order'): Promise<Set<string>> => {
      const fs = await withDir({ dirOrder });
      for (const name of ['a', 'b']) await fs.close(await fs.open(`/d/${name}`, 'wx+'));
      const out = new Set<string>();
      for (const p of fs.crashPlans()) out.add((await fs.crash(p).readdir('/d')).sort().join());
      return out;
    };
    expect(await states('in-order')).toEqual(new Set(['', 'a', 'a,b']));
    expect(await states('any')).toEqual(new Set(['', 'a', 'b', 'a,b']));
  });

  test('the enumerator walks drop, keep, every cut and every torn sector, and counts them', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.write(fd, new Uint8Array(10).fill(1), 0);
    await fs.write(fd, new Uint8Array(10).fill(2), 10);
    const plans: CrashPlan[] = [...fs.crashPlans()];
    expect(plans.length).toBe(fs.countCrashPlans());
    const kinds = plans.map((p) => [...(p.files?.values() ?? [])][0]?.kind);
    // drop, keep, 19 cuts, a torn sector at length 20 and at the write end 10.
    expect(kinds.filter((k) => k === 'cut').length).toBe(19);
    expect(plans.length).toBe(2 + 19 + 2);
    expect(fs.countCrashPlans({ cuts: 'write-ends' })).toBe(2 + 3 + 2);
    const lengths = new Set(plans.map((p) => fs.crash(p).readFile('/d/a').length));
    expect(lengths.size).toBe(21);
    expect(fs.describeCrashPlan(plans[2] as CrashPlan)).toMatch(
      /\/d\/a \(synced 0 of 20\): cut at 1/,
    );
  });

  test('a crash never leaves a file shorter than it was durably: over durable bytes, a lost write shows the old ones', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.write(fd, new Uint8Array(8), 0); // zeros, as a writer preallocates them
    await fs.fdatasync(fd);
    await fs.fsyncDir('/d');
    await fs.write(fd, bytes(1, 2, 3, 4), 2);
    const images = new Set<string>();
    for (const plan of fs.crashPlans()) images.add(fs.crash(plan).readFile('/d/a').join());
    // Each write kept up to some byte, the zeros after it; or a sector torn.
    expect(images).toEqual(
      new Set([
        '0,0,0,0,0,0,0,0',
        '0,0,1,0,0,0,0,0',
        '0,0,1,2,0,0,0,0',
        '0,0,1,2,3,0,0,0',
        '0,0,1,2,3,4,0,0',
      ]),
    );
    // A truncate since the last sync may be lost with the writes after it.
    await fs.fdatasync(fd);
    await fs.ftruncate(fd, 4);
    await fs.write(fd, bytes(9), 4);
    const cut = [...fs.crashPlans()].map((p) => fs.crash(p).readFile('/d/a').join());
    expect(cut).toContain('0,0,1,2,3,4,0,0'); // the truncate and the write lost
    expect(cut).toContain('0,0,1,2,9'); // both kept
    expect(cut.every((c) => c.startsWith('0,0,1,2'))).toBe(true);
  });

  test('inFlightSyncs: an fdatasync covers what was written when it was called, once it completes', async () => {
    const fs = await withDir({ inFlightSyncs: true });
    const fd = await fs.open('/d/a', 'wx+');
    await fs.fsyncDir('/d');
    await fs.write(fd, bytes(1, 2), 0);
    const events: string[] = [];
    fs.onOperation = (event) => events.push(event.op);
    const sync = fs.fdatasync(fd);
    // In flight: a write of the next group lands meanwhile, and a crash now
    // may lose both: nothing of the sync is durable yet.
    await fs.write(fd, bytes(3, 4), 2);
    expect(events).toEqual(['write']);
    expect(fs.crash().readFile('/d/a')).toEqual(new Uint8Array(0));
    const during = new Set([...fs.crashPlans()].map((p) => fs.crash(p).readFile('/d/a').join()));
    expect(during).toContain('1');
    expect(during).toContain('1,2,3,4');
    await sync;
    expect(events).toEqual(['write', 'fdatasync']);
    // Done: the bytes written before the call are durable; the later write is not.
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(1, 2));
    const after = new Set([...fs.crashPlans()].map((p) => fs.crash(p).readFile('/d/a').join()));
    expect(after).toEqual(new Set(['1,2', '1,2,3', '1,2,3,4', '1,2,0,0']));
    await fs.fdatasync(fd);
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(1, 2, 3, 4));
    await fs.close(fd);
  });

  test('after a failed fdatasync, a later successful one does not make the lost bytes durable', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    await fs.fsyncDir('/d');
    await fs.write(fd, bytes(1, 2, 3), 0);
    fs.inject({ ops: ['fdatasync'] });
    expect(await codeOf(() => fs.fdatasync(fd))).toBe('EIO');
    await fs.fdatasync(fd);
    expect(fs.readFile('/d/a')).toEqual(bytes(1, 2, 3));
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(0, 0, 0));
    // Written again, the pages are dirty again: the next fdatasync writes them.
    await fs.write(fd, bytes(1, 2, 3), 0);
    await fs.fdatasync(fd);
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(1, 2, 3));
    await fs.close(fd);
  });
});

describe('fault injection', () => {
  test('a transient fault fails the nth call once; a persistent one keeps failing', async () => {
    const fs = await withDir();
    const transient = fs.inject({ nth: 2, code: 'EACCES' });
    expect(await codeOf(() => fs.stat('/d'))).toBe('no error');
    expect(await codeOf(() => fs.stat('/d'))).toBe('EACCES');
    expect(await codeOf(() => fs.stat('/d'))).toBe('no error');
    expect(transient.fired.map((f) => f.op)).toEqual(['stat']);
    fs.inject({ ops: ['write'], persistent: true, code: 'ENOSPC' });
    const fd = await fs.open('/d/a', 'wx+');
    for (let i = 0; i < 3; i++)
      expect(await codeOf(() => fs.write(fd, bytes(1), 0))).toBe('ENOSPC');
    expect(fs.readFile('/d/a').length).toBe(0);
    fs.clearFaults();
    expect(await fs.write(fd, bytes(1), 0)).toBe(1);
    await fs.close(fd);
  });

  test('a failing close still releases the handle, as on Linux', async () => {
    const fs = await withDir();
    const fd = await fs.open('/d/a', 'wx+');
    fs.inject({ ops: ['close'] });
    expect(await codeOf(() => fs.close(fd))).toBe('EIO');
    expect(fs.openHandles).toBe(0);
  });

  test('short writes write at least one byte and report how many', async () => {
    const fs = await withDir({ shortWrites: seededRandom(1) });
    const fd = await fs.open('/d/a', 'wx+');
    const n = await fs.write(fd, new Uint8Array(100).fill(3), 0);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(100);
    expect(fs.readFile('/d/a').length).toBe(n);
    await fs.close(fd);
  });
});

test('a Wal runs on SimFs, and what it synced survives the worst crash', async () => {
  const fs = await withDir();
  const wal = await Wal.open({ dir: '/d', fs });
  await wal.put('k', 'v');
  await wal.batch([
    { type: 'put', key: 'a', value: '' },
    { type: 'delete', key: 'k' },
  ]);
  const after = fs.crash();
  await wal.close();
  expect(fs.openHandles).toBe(0);
  const reopened = await Wal.open({ dir: '/d', fs: after });
  expect(reopened.nextSequence).toBe(3);
  await reopened.close();
});
