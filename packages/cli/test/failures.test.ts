// Exit 3: the command could not do its job, whatever the log holds. Each
// failure is one line naming the path and the cause. The file system fails
// on purpose here (EACCES, EIO), so this holds for whoever runs the test.
import path from 'node:path';
import { Exit } from '@wal/cli';
import { describe, expect, test } from 'vitest';
import { failingFs } from './support/faulty-fs.js';
import { cleanLog, hashTree, segment, sequencesIn } from './support/logs.js';
import { lines, run } from './support/run.js';

const COMMANDS = ['inspect', 'dump', 'verify', 'repair', 'stats'];

/** Asserts a failure: exit 3, one line on stderr matching `expected`, nothing on stdout. */
async function expectFailure(r: Awaited<ReturnType<typeof run>>, expected: RegExp | string) {
  expect(r.stdout).toBe('');
  expect(lines(r.stderr)).toHaveLength(1);
  if (typeof expected === 'string') expect(lines(r.stderr)[0]).toBe(expected);
  else expect(r.stderr).toMatch(expected);
  expect(r.code).toBe(Exit.FAILED);
}

describe.each(COMMANDS)('%s', (command) => {
  test('a directory it may not list: permission denied, exit 3', async () => {
    const { dir } = await cleanLog(2);
    const fs = failingFs('readdir', 'EACCES', (p) => p === dir);
    await expectFailure(
      await run([command, dir], { fs }),
      `wal: ${dir}: permission denied (EACCES)`,
    );
  });

  test('a segment it may not open: permission denied, naming the file as a path, exit 3', async () => {
    const { dir } = await cleanLog(2);
    const fs = failingFs('open', 'EACCES', (p) => p === segment(dir, 0));
    await expectFailure(
      await run([command, dir], { fs }),
      `wal: ${segment(dir, 0)}: permission denied (EACCES)`,
    );
    // Named from the path as given: a relative one stays relative.
    const relative = path.relative(process.cwd(), dir);
    await expectFailure(
      await run([command, relative], { fs }),
      `wal: ${path.join(relative, path.basename(segment(dir, 0)))}: permission denied (EACCES)`,
    );
  });

  test('a listed segment that cannot be opened (a dangling link): exit 3, not a shorter log', async () => {
    const { dir } = await cleanLog(2);
    const before = hashTree(dir);
    const fs = failingFs('open', 'ENOENT', (p) => p === segment(dir, 1));
    const argv = command === 'dump' ? [command, dir, '--frames'] : [command, dir];
    for (const args of command === 'dump' ? [[command, dir], argv] : [argv]) {
      await expectFailure(
        await run(args, { fs }),
        new RegExp(
          `^wal: expected to open segment ${segment(dir, 1)}, found ENOENT although the directory still lists it`,
        ),
      );
    }
    expect(hashTree(dir)).toEqual(before);
  });

  test('an I/O error reading a segment: exit 3, never reported as damage', async () => {
    const { dir } = await cleanLog(2);
    const before = hashTree(dir);
    const fs = failingFs('read', 'EIO', (p) => p === segment(dir, 0));
    const r = await run([command, dir], { fs });
    await expectFailure(r, new RegExp(`^wal: expected to read ${segment(dir, 0)}, found EIO: `));
    expect(r.stderr).not.toMatch(/damage|corrupt/i);
    expect(hashTree(dir)).toEqual(before);
  });
});

test('a segment file it may not read alone: exit 3', async () => {
  const { dir } = await cleanLog(2);
  const file = segment(dir, 0);
  const fs = failingFs('open', 'EACCES', (p) => p === file);
  for (const command of ['dump', 'verify', 'stats']) {
    await expectFailure(
      await run([command, file], { fs }),
      `wal: ${file}: permission denied (EACCES)`,
    );
  }
});

test('an errno the CLI has no words for is named as found; --debug adds stack and causes', async () => {
  const { dir } = await cleanLog(2);
  const fs = failingFs('stat', 'EWEIRD', (p) => p === path.resolve(dir));
  const r = await run(['verify', dir], { fs });
  expect(r.code).toBe(Exit.FAILED);
  expect(lines(r.stderr)).toEqual([`wal: ${dir}: expected to read it, found EWEIRD`]);
  const debug = await run(['verify', dir, '--debug'], { fs });
  const out = lines(debug.stderr);
  expect(out[0]).toBe(lines(r.stderr)[0]);
  expect(out[1]).toBe(`CommandError: ${dir}: expected to read it, found EWEIRD`);
  expect(debug.stderr).toMatch(/\n\s+at /);
  // The cause: the file system's own error.
  expect(debug.stderr).toContain('Error: EWEIRD: injected stat failure');
});

test('a segment deleted by retention while it is read: WAL_TRUNCATED, exit 3', async () => {
  const { dir } = await cleanLog();
  const { first } = await sequencesIn(dir, 1);
  // Listed and its header read, then gone when its frames are read.
  let opens = 0;
  const fs = failingFs('open', 'ENOENT', (p) => p === segment(dir, 1) && ++opens === 2);
  const r = await run(['dump', dir], { fs });
  expect(r.code).toBe(Exit.FAILED);
  expect(lines(r.stdout)).toHaveLength(first); // segment 0, printed before
  expect(lines(r.stderr)).toEqual([
    expect.stringMatching(
      new RegExp(
        `^wal: expected wal_00000001\\.log to hold sequence ${first}, found it deleted while reading \\(retention removed it\\)`,
      ),
    ),
  ]);
});
