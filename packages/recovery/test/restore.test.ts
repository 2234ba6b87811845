// restoreLog: a log directory rebuilt from an archive, byte for byte, up to
// a sequence; every checksum and the continuity of sequences checked; a gap
// or bad bytes refused; the directory appears only once complete.
import fs from 'node:fs';
import path from 'node:path';
import { nodeFs, Wal, type WalFs } from '@wal/fs';
import {
  type ArchiveTarget,
  archiveLog,
  directoryTarget,
  recover,
  restoreLog,
} from '@wal/recovery';
import { describe, expect, test } from 'vitest';
import { tempDir } from './helpers.js';

const segmentName = (n: number) => `wal_${String(n).padStart(8, '0')}.log`;

// A log of five sealed segments (batches of 1 to 3 ops) and an active one,
// archived to `<root>/archive`.
async function archivedLog(root: string): Promise<{ source: string; archive: string }> {
  const source = path.join(root, 'source');
  const archive = path.join(root, 'archive');
  const wal = await Wal.open(source);
  const archiver = archiveLog({ wal, target: directoryTarget(archive) });
  for (let s = 0; s < 5; s++) {
    for (let b = 0; b < 4; b++) {
      const n = (b % 3) + 1;
      await wal.batch(
        Array.from({ length: n }, (_, i) => ({
          type: 'put' as const,
          key: `k${s}-${b}-${i}`,
          value: 'v'.repeat(10 * i),
        })),
      );
    }
    await wal.rotate();
  }
  await wal.put('active', 'not archived');
  await archiver.idle();
  await wal.close();
  await archiver.done;
  return { source, archive };
}

const read = (file: string) => fs.readFileSync(file);

describe('restoreLog', () => {
  test('the whole archive: every segment byte for byte; Wal.open continues the log', async () => {
    const root = tempDir();
    const { source, archive } = await archivedLog(root);
    const dir = path.join(root, 'restored');
    const result = await restoreLog({ target: directoryTarget(archive), dir });
    expect(result.segments.map((s) => s.segment)).toEqual([0, 1, 2, 3, 4]);
    expect(result.cut).toBeNull();
    expect(fs.readdirSync(dir).sort()).toEqual([0, 1, 2, 3, 4].map(segmentName));
    for (let s = 0; s < 5; s++) {
      expect(
        read(path.join(dir, segmentName(s))).equals(read(path.join(source, segmentName(s)))),
      ).toBe(true);
    }
    const { entries } = await recover(source);
    const last = result.lastSequence as number;
    expect(result).toMatchObject({ firstSequence: 0, nextSequence: last + 1 });
    expect((await recover(dir)).entries).toEqual(entries.filter((e) => e.sequence <= last));
    const wal = await Wal.open(dir);
    expect(wal.nextSequence).toBe(result.nextSequence);
    await wal.put('after', 'restore');
    await wal.close();
    expect(fs.existsSync(`${dir}.restoring`)).toBe(false);
  });

  test('to a sequence: whole segments before it, the one holding it up to its batch, never a split batch', async () => {
    const root = tempDir();
    const { source, archive } = await archivedLog(root);
    const { entries } = await recover(source);
    // Every sequence the archive holds (segments 0 to 4), as the point in time.
    const archived = (await directoryTarget(archive).list()).at(-1)?.lastSequence as number;
    for (let to = 0; to <= archived; to += 3) {
      const dir = path.join(root, `at-${to}`);
      const result = await restoreLog({ target: directoryTarget(archive), dir, toSequence: to });
      const restored = (await recover(dir)).entries;
      const end = result.nextSequence;
      expect(end).toBeGreaterThan(to);
      expect(end - to).toBeLessThanOrEqual(3); // at most the rest of its batch
      expect(restored).toEqual(entries.filter((e) => e.sequence < end));
      const segments = result.segments.map((s) => s.segment);
      for (const s of segments) {
        const mine = read(path.join(dir, segmentName(s)));
        const theirs = read(path.join(source, segmentName(s)));
        if (result.cut?.segment === s) {
          expect(mine.length).toBe(result.cut.offset);
          expect(mine.equals(theirs.subarray(0, mine.length))).toBe(true);
        } else expect(mine.equals(theirs)).toBe(true);
      }
      const wal = await Wal.open(dir);
      expect(wal.nextSequence).toBe(end);
      await wal.close();
    }
  });

  test('a missing archived segment is WAL_ARCHIVE_GAP, and nothing is created', async () => {
    const root = tempDir();
    const { archive } = await archivedLog(root);
    fs.rmSync(path.join(archive, segmentName(2)));
    fs.rmSync(path.join(archive, `${segmentName(2)}.json`));
    const dir = path.join(root, 'restored');
    await expect(restoreLog({ target: directoryTarget(archive), dir })).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_GAP',
      message: expect.stringMatching(/expected archived segment 2 after 1, found 3/),
    });
    expect(fs.existsSync(dir)).toBe(false);
    // A target that lists a segment but has no bytes for it: a gap too.
    const inner = directoryTarget(path.join(root, 'archive'));
    const forgetful: ArchiveTarget = {
      ...inner,
      list: async () => (await inner.list()).slice(0, 2),
      get: async (n) => (n === 1 ? undefined : inner.get(n)),
    };
    await expect(restoreLog({ target: forgetful, dir })).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_GAP',
      message: expect.stringMatching(/archived segment 1, found none/),
    });
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('bytes that do not match the archive are WAL_ARCHIVE_CORRUPT', async () => {
    const root = tempDir();
    const { archive } = await archivedLog(root);
    const file = path.join(archive, segmentName(3));
    const bytes = read(file);
    bytes[100] = (bytes[100] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    const dir = path.join(root, 'restored');
    await expect(restoreLog({ target: directoryTarget(archive), dir })).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_CORRUPT',
      message: expect.stringMatching(/archived segment 3: expected checksum/),
    });
    expect(fs.existsSync(dir)).toBe(false);
    // Consistent bytes and checksum that are not the segment listed: caught by the header and seal.
    const inner = directoryTarget(archive);
    const swapped: ArchiveTarget = { ...inner, get: (n) => inner.get(n === 1 ? 0 : n) };
    const meta = async () => {
      const listed = await inner.list();
      const zero = listed[0];
      return listed.map((s) =>
        s.segment === 1 && zero ? { ...s, bytes: zero.bytes, checksum: zero.checksum } : s,
      );
    };
    await expect(
      restoreLog({ target: { ...swapped, list: meta }, dir, toSequence: 8 }),
    ).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_CORRUPT',
      message: expect.stringMatching(/segment 1: expected segment number 1 in the header, found 0/),
    });
  });

  test('a sequence outside the archive is WAL_ARCHIVE_GAP; an existing dir WAL_INVALID_ARGUMENT; bad options WAL_INVALID_OPTIONS', async () => {
    const root = tempDir();
    const { source, archive } = await archivedLog(root);
    const target = directoryTarget(archive);
    const dir = path.join(root, 'restored');
    await expect(restoreLog({ target, dir, toSequence: 10_000 })).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_GAP',
      message: expect.stringMatching(/expected the archive to hold sequence 10000/),
    });
    await expect(restoreLog({ target, dir: source })).rejects.toMatchObject({
      code: 'WAL_INVALID_ARGUMENT',
    });
    await expect(
      restoreLog({ target: directoryTarget(path.join(root, 'empty')), dir }),
    ).rejects.toMatchObject({
      code: 'WAL_ARCHIVE_GAP',
    });
    for (const bad of [
      { dir },
      { target, dir: '' },
      { target, dir: `${dir}\0x` },
      { target, dir, toSequence: -1 },
      { target, dir, x: 1 },
    ]) {
      await expect(restoreLog(bad as never)).rejects.toMatchObject({ code: 'WAL_INVALID_OPTIONS' });
    }
  });

  test('a failure at any file-system call leaves no directory, or a complete one', async () => {
    const root = tempDir();
    const { archive } = await archivedLog(root);
    const dir = path.join(root, 'restored');
    let calls = 0;
    let failAt = 0;
    const faulty: WalFs = Object.fromEntries(
      Object.entries(nodeFs).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          if (++calls === failAt) {
            return Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' }));
          }
          return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        },
      ]),
    ) as unknown as WalFs;
    const expected = await restoreLog({ target: directoryTarget(archive), dir, fs: faulty });
    const total = calls;
    const files = () => fs.readdirSync(dir).sort();
    const whole = files();
    const bytes = whole.map((name) => read(path.join(dir, name)));
    let failures = 0;
    for (failAt = 1; failAt <= total; failAt++) {
      fs.rmSync(dir, { recursive: true, force: true });
      calls = 0;
      const result = await restoreLog({ target: directoryTarget(archive), dir, fs: faulty }).catch(
        (e: unknown) => e,
      );
      if (result instanceof Error) {
        failures++;
        expect(result).toMatchObject({ code: 'WAL_IO_ERROR' });
      } else expect(result).toEqual(expected);
      if (fs.existsSync(dir)) {
        expect(files()).toEqual(whole);
        whole.forEach((name, i) => {
          expect(read(path.join(dir, name)).equals(bytes[i] as Buffer)).toBe(true);
        });
      }
    }
    // Most calls matter (closing a file does not).
    expect(failures).toBeGreaterThan(total / 2);
  });

  // A new directory's entry is durable only once its parent is fsynced: the
  // restored log must not vanish with a parent restore created.
  test('into new parent directories: each one made is fsynced into its parent', async () => {
    const root = tempDir();
    const { archive } = await archivedLog(root);
    const dir = path.join(root, 'new', 'deeper', 'restored');
    const calls: string[] = [];
    const spying: WalFs = Object.fromEntries(
      Object.entries(nodeFs).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          if (name === 'mkdirp' || name === 'fsyncDir' || name === 'rename') {
            calls.push(`${name} ${path.relative(root, String(args[0])) || '.'}`);
          }
          return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        },
      ]),
    ) as unknown as WalFs;
    await restoreLog({ target: directoryTarget(archive), dir, fs: spying });
    expectParentsSynced(calls);
    // The same when an earlier restore, killed after its mkdirp, left the
    // staging directory and the parents it made, none of them fsynced.
    fs.rmSync(path.join(root, 'new'), { recursive: true });
    fs.mkdirSync(`${dir}.restoring`, { recursive: true });
    fs.writeFileSync(path.join(`${dir}.restoring`, 'wal_00000000.log'), 'partial');
    calls.length = 0;
    await restoreLog({ target: directoryTarget(archive), dir, fs: spying });
    expect(calls).not.toContain('mkdirp new/deeper/restored.restoring');
    calls.unshift('mkdirp new/deeper/restored.restoring');
    expectParentsSynced(calls);
  });
});

// In `calls` (mkdirp, fsyncDir and rename, relative to the test root): each
// directory above the staging one is fsynced after it is made, and the
// log's parent after the rename.
function expectParentsSynced(calls: readonly string[]): void {
  const made = calls.indexOf('mkdirp new/deeper/restored.restoring');
  const renamed = calls.indexOf('rename new/deeper/restored.restoring');
  expect(made).toBeGreaterThanOrEqual(0);
  // new/ and new/deeper/ were created with the staging directory: their
  // parents are fsynced after that, and the log's own after the rename.
  for (const parent of ['.', 'new', 'new/deeper']) {
    expect(calls.indexOf(`fsyncDir ${parent}`, made)).toBeGreaterThan(made);
  }
  expect(calls.indexOf('fsyncDir new/deeper', renamed)).toBeGreaterThan(renamed);
}
