// A path that is not a log: one line naming the path and the problem, for
// every command, before anything is read or written. No log at the path is
// a failure (exit 3), not an empty log; a file where only a directory will
// do is a usage error (exit 2).
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanLog, hashTree, segment, tempDir } from './support/logs.js';
import { type PortableCli, portableCli } from './support/portable-cli.js';
import { lines, type Result, run, spawnCollect } from './support/run.js';

const COMMANDS = ['inspect', 'dump', 'verify', 'repair', 'stats'];
/** Commands that read one segment file as well as a log directory. */
const READS_FILES = ['dump', 'verify', 'stats'];
const isRoot = process.getuid?.() === 0;

async function expectPathError(argv: string[], message: string, code: number = Exit.FAILED) {
  const r = await run(argv);
  expect(r.stdout).toBe('');
  expect(lines(r.stderr)).toEqual([`wal: ${message}`]);
  expect(r.code).toBe(code);
}

describe.each(COMMANDS)('%s', (command) => {
  test('a missing directory', async () => {
    const dir = path.join(tempDir(), 'nope');
    await expectPathError([command, dir], `${dir}: no such file or directory`);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('an empty directory', async () => {
    const dir = tempDir();
    await expectPathError(
      [command, dir],
      `${dir}: expected a log (wal_NNNNNNNN.log files), found none`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a directory of other files', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    fs.writeFileSync(path.join(dir, 'wal_1.log'), 'too few digits');
    await expectPathError(
      [command, dir],
      `${dir}: expected a log (wal_NNNNNNNN.log files), found none`,
    );
  });

  test('a file instead of a directory', async () => {
    const { dir } = await cleanLog(2);
    const file = segment(dir, 0);
    const before = hashTree(dir);
    if (!READS_FILES.includes(command)) {
      await expectPathError(
        [command, file],
        `${file}: expected a log directory, found a file; for one file use wal verify ${file}`,
        Exit.USAGE,
      );
    }
    await expectPathError([command, `${file}/x`], `${file}/x: a path component is not a directory`);
    expect(hashTree(dir)).toEqual(before);
  });
});

// As root, chmod denies nothing: the command reads the log. So the denial is
// checked as whoever chmod does deny: this process, or as root a child
// running as nobody. Either way, both branches assert what is true. nobody
// may not be able to read the checkout or the node binary, so the child runs
// a bundled copy of the CLI and node from a world-readable temp dir.
let cli: PortableCli | undefined;

async function runUnprivileged(argv: string[]): Promise<Result> {
  if (!cli) return run(argv);
  return spawnCollect(cli.node, [cli.script, ...argv], { uid: 65534, gid: 65534 });
}

describe('without permission', () => {
  beforeAll(async () => {
    if (isRoot) cli = await portableCli();
  }, 60_000);
  afterAll(() => {
    if (cli) fs.rmSync(cli.dir, { recursive: true, force: true });
  });

  test('in this process: root reads through chmod 0, anyone else is denied', async () => {
    const { dir } = await cleanLog(2);
    fs.chmodSync(dir, 0);
    try {
      const r = await run(['verify', dir]);
      if (isRoot) {
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^ok: /);
      } else {
        expect(r.code).toBe(Exit.FAILED);
        expect(lines(r.stderr)).toEqual([`wal: ${dir}: permission denied (EACCES)`]);
      }
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });

  async function logWithin(): Promise<string> {
    const { dir } = await cleanLog(2);
    // The log's parent (a private temp dir) must let nobody reach it.
    fs.chmodSync(path.dirname(dir), 0o755);
    return dir;
  }

  test('a directory: one line naming it, exit 3', async () => {
    const dir = await logWithin();
    fs.chmodSync(dir, 0);
    const r = await runUnprivileged(['verify', dir]).finally(() => fs.chmodSync(dir, 0o755));
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([`wal: ${dir}: permission denied (EACCES)`]);
    expect(r.code).toBe(Exit.FAILED);
  });

  test('one unreadable segment: one line naming it, exit 3', async () => {
    const dir = await logWithin();
    fs.chmodSync(segment(dir, 0), 0);
    const r = await runUnprivileged(['inspect', dir]);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([`wal: ${segment(dir, 0)}: permission denied (EACCES)`]);
    expect(r.code).toBe(Exit.FAILED);
  });
});
