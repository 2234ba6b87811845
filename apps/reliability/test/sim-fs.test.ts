import { Wal } from '@wal/fs';
import { type CrashPlan, SimFs, seededRandom } from '@wal/fs/testing';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** A durable directory /d, as an existing log directory would be. */
function withDir(options?: ConstructorParameters<typeof SimFs>[0]): SimFs {
  const fs = new SimFs(options);
  fs.mkdirp('/d');
  fs.fsyncDir('/');
  return fs;
}

function codeOf(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return 'no error';
}

describe('SimFs behaves like a POSIX file system', () => {
  test('errors carry Node-style codes', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    expect(codeOf(() => fs.open('/d/a', 'wx'))).toBe('EEXIST');
    expect(codeOf(() => fs.open('/d/missing', 'r'))).toBe('ENOENT');
    expect(codeOf(() => fs.open('/nope/a', 'wx'))).toBe('ENOENT');
    expect(codeOf(() => fs.open('/d', 'r'))).toBe('EISDIR');
    expect(codeOf(() => fs.readdir('/d/a'))).toBe('ENOTDIR');
    expect(codeOf(() => fs.stat('/d/a/b'))).toBe('ENOTDIR');
    expect(codeOf(() => fs.unlink('/d'))).toBe('EISDIR');
    expect(codeOf(() => fs.mkdirp('/d/a'))).toBe('EEXIST');
    expect(codeOf(() => fs.read(fd, new Uint8Array(1), 0, 1, 0))).toBe('EBADF');
    fs.close(fd);
    expect(codeOf(() => fs.write(fd, bytes(1), 0))).toBe('EBADF');
    expect(codeOf(() => fs.close(fd))).toBe('EBADF');
    const ro = fs.open('/d/a', 'r');
    expect(codeOf(() => fs.write(ro, bytes(1), 0))).toBe('EBADF');
    expect(codeOf(() => fs.ftruncate(ro, 0))).toBe('EINVAL');
    fs.close(ro);
    expect(fs.openHandles).toBe(0);
  });

  test('reads see writes at any position; a gap reads as zeros', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.write(fd, bytes(1, 2), 0);
    fs.writev(fd, [bytes(3), bytes(4)], 4);
    fs.close(fd);
    expect(fs.readFile('/d/a')).toEqual(bytes(1, 2, 0, 0, 3, 4));
    expect(fs.stat('/d/a')).toEqual({ size: 6, isFile: true, isDirectory: false });
    fs.rename('/d/a', '/d/b');
    expect(fs.readdir('/d')).toEqual(['b']);
  });

  test('the lock is exclusive, released by its function, and by a crash', () => {
    const fs = withDir();
    const release = fs.lock('/d');
    expect(codeOf(() => fs.lock('/d'))).toBe('ELOCKED');
    release();
    fs.lock('/d');
    expect(fs.crash().locks).toBe(0);
    expect(() => fs.crash().lock('/d')).not.toThrow();
  });
});

describe('crash states', () => {
  test('synced bytes always survive; the unsynced suffix is dropped, kept, cut or torn', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ write: fc.uint8Array({ minLength: 1, maxLength: 700 }) }),
            fc.constant({ sync: true }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.integer(),
        (steps, seed) => {
          const fs = withDir();
          const fd = fs.open('/d/a', 'wx');
          fs.fdatasync(fd);
          fs.fsyncDir('/d');
          let size = 0;
          let synced: Uint8Array = new Uint8Array(0);
          for (const step of steps) {
            if ('write' in step) size += fs.write(fd, step.write, size);
            else {
              fs.fdatasync(fd);
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

  test('a kill keeps everything written; only the locks and handles go', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.write(fd, bytes(1, 2), 0);
    fs.lock('/d');
    const after = fs.kill();
    expect(after.readFile('/d/a')).toEqual(bytes(1, 2));
    expect([after.openHandles, after.locks]).toEqual([0, 0]);
    expect(after.crash().readdir('/d')).toEqual(['a']);
  });

  test('unsynced data sometimes survives and sometimes does not', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.fdatasync(fd);
    fs.fsyncDir('/d');
    fs.write(fd, new Uint8Array(1000).fill(7), 0);
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

  test('a torn sector zeroes only unsynced bytes of one aligned 512-byte sector', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.write(fd, new Uint8Array(600).fill(1), 0);
    fs.fdatasync(fd);
    fs.fsyncDir('/d');
    fs.write(fd, new Uint8Array(600).fill(2), 600);
    const ino = [...fs.crashPlans()].flatMap((p) => [
      ...(p.files ?? new Map()).keys(),
    ])[0] as number;
    const first = fs.crash({
      files: new Map([[ino, { kind: 'torn', length: 1200, sector: 512 }]]),
    });
    const a = first.readFile('/d/a');
    expect(a.subarray(0, 600).every((b) => b === 1)).toBe(true);
    expect(a.subarray(600, 1024).every((b) => b === 0)).toBe(true);
    expect(a.subarray(1024).every((b) => b === 2)).toBe(true);
  });

  test('a file made durable by fdatasync vanishes unless its directory was fsynced', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.write(fd, bytes(1, 2, 3), 0);
    fs.fdatasync(fd);
    const outcomes = new Set<string>();
    for (const plan of fs.crashPlans()) outcomes.add(fs.crash(plan).readdir('/d').join());
    expect(outcomes).toEqual(new Set(['', 'a']));
    fs.fsyncDir('/d');
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(1, 2, 3));
  });

  test('a rename without a directory fsync may vanish; after one it survives', () => {
    const fs = withDir();
    const fd = fs.open('/d/a.tmp', 'wx');
    fs.write(fd, bytes(9), 0);
    fs.fdatasync(fd);
    fs.fsyncDir('/d');
    fs.rename('/d/a.tmp', '/d/a');
    const names = new Set([...fs.crashPlans()].map((p) => fs.crash(p).readdir('/d').join()));
    expect(names).toEqual(new Set(['a.tmp', 'a']));
    fs.fsyncDir('/d');
    expect(fs.crash().readdir('/d')).toEqual(['a']);
  });

  test('a rename replayed after a crash moves only the file it renamed', () => {
    const fs = withDir();
    fs.writeFile('/d/t', bytes(1));
    fs.unlink('/d/t');
    const fd = fs.open('/d/t', 'wx');
    fs.write(fd, bytes(2), 0);
    fs.fdatasync(fd);
    fs.close(fd);
    fs.rename('/d/t', '/d/f');
    const seen = new Set<string>();
    for (const plan of fs.crashPlans()) {
      const after = fs.crash(plan);
      const names = after.readdir('/d').sort();
      seen.add(names.join());
      // Had the unlink or the create been lost, the rename has nothing to move.
      if (names.includes('f')) expect(after.readFile('/d/f')).toEqual(bytes(2));
    }
    expect(seen).toEqual(new Set(['', 't', 'f']));
  });

  test('an unlink without a directory fsync may be undone by a crash', () => {
    const fs = withDir();
    fs.writeFile('/d/a', bytes(5));
    fs.unlink('/d/a');
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(5));
    fs.fsyncDir('/d');
    expect(fs.crash().readdir('/d')).toEqual([]);
  });

  test('a new directory needs its parent fsynced to survive', () => {
    const fs = new SimFs();
    fs.mkdirp('/x/y');
    fs.writeFile('/x/y/f', bytes(1));
    fs.fsyncDir('/x/y');
    expect(fs.crash().readdir('/')).toEqual([]);
    fs.fsyncDir('/');
    fs.fsyncDir('/x');
    expect(fs.crash().readFile('/x/y/f')).toEqual(bytes(1));
  });

  test("'in-order' keeps a prefix of directory operations; 'any' keeps any subset", () => {
    const states = (dirOrder: 'any' | 'in-order'): Set<string> => {
      const fs = withDir({ dirOrder });
      for (const name of ['a', 'b']) fs.close(fs.open(`/d/${name}`, 'wx'));
      return new Set([...fs.crashPlans()].map((p) => fs.crash(p).readdir('/d').sort().join()));
    };
    expect(states('in-order')).toEqual(new Set(['', 'a', 'a,b']));
    expect(states('any')).toEqual(new Set(['', 'a', 'b', 'a,b']));
  });

  test('the enumerator walks drop, keep, every cut and every torn sector, and counts them', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.fdatasync(fd);
    fs.fsyncDir('/d');
    fs.write(fd, new Uint8Array(10).fill(1), 0);
    fs.write(fd, new Uint8Array(10).fill(2), 10);
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

  test('after a failed fdatasync, a later successful one does not make the lost bytes durable', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.fsyncDir('/d');
    fs.write(fd, bytes(1, 2, 3), 0);
    fs.inject({ ops: ['fdatasync'] });
    expect(codeOf(() => fs.fdatasync(fd))).toBe('EIO');
    fs.fdatasync(fd);
    expect(fs.readFile('/d/a')).toEqual(bytes(1, 2, 3));
    expect(fs.crash().readFile('/d/a')).toEqual(bytes(0, 0, 0));
  });
});

describe('fault injection', () => {
  test('a transient fault fails the nth call once; a persistent one keeps failing', () => {
    const fs = withDir();
    const transient = fs.inject({ nth: 2, code: 'EACCES' });
    expect(codeOf(() => fs.stat('/d'))).toBe('no error');
    expect(codeOf(() => fs.stat('/d'))).toBe('EACCES');
    expect(codeOf(() => fs.stat('/d'))).toBe('no error');
    expect(transient.fired.map((f) => f.op)).toEqual(['stat']);
    fs.inject({ ops: ['write', 'writev'], persistent: true, code: 'ENOSPC' });
    const fd = fs.open('/d/a', 'wx');
    for (let i = 0; i < 3; i++) expect(codeOf(() => fs.write(fd, bytes(1), 0))).toBe('ENOSPC');
    expect(fs.readFile('/d/a').length).toBe(0);
    fs.clearFaults();
    expect(fs.write(fd, bytes(1), 0)).toBe(1);
    fs.close(fd);
  });

  test('a failing close still releases the handle, as on Linux', () => {
    const fs = withDir();
    const fd = fs.open('/d/a', 'wx');
    fs.inject({ ops: ['close'] });
    expect(codeOf(() => fs.close(fd))).toBe('EIO');
    expect(fs.openHandles).toBe(0);
  });

  test('short writes write at least one byte and report how many', () => {
    const fs = withDir({ shortWrites: seededRandom(1) });
    const fd = fs.open('/d/a', 'wx');
    const n = fs.write(fd, new Uint8Array(100).fill(3), 0);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(100);
    expect(fs.readFile('/d/a').length).toBe(n);
    fs.close(fd);
  });
});

test('a Wal runs on SimFs, and what it synced survives the worst crash', async () => {
  const fs = withDir();
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
