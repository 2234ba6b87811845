// The calling contract: help, version, and usage errors (exit 2, one line on
// stderr, nothing on stdout, never a stack).
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { cleanLog, tempDir } from './support/logs.js';
import { lines, run } from './support/run.js';

const COMMANDS = ['inspect', 'dump', 'verify', 'repair', 'stats'];
/** Commands that read one segment file as well as a log directory. */
const READS_FILES = ['dump', 'verify', 'stats'];

/** Asserts a usage error: exit 2, one line naming `expected`, no stack. */
async function expectUsage(argv: string[], expected: RegExp): Promise<string> {
  const r = await run(argv);
  expect(r.code).toBe(Exit.USAGE);
  expect(r.stdout).toBe('');
  expect(lines(r.stderr)).toHaveLength(1);
  expect(r.stderr).toMatch(/^wal: /);
  expect(r.stderr).toMatch(expected);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr;
}

describe('help and version', () => {
  test('wal --help lists every command and the exit codes', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: wal <command> <dir\|file> \[options\]/);
      for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
      expect(r.stdout).toMatch(/^ {2}0 {2}ok$/m);
      expect(r.stdout).toMatch(/^ {2}1 {2}damage found/m);
      expect(r.stdout).toMatch(/^ {2}2 {2}usage error/m);
      expect(r.stdout).toMatch(
        /^ {2}3 {2}failure: no log at the path, permission denied, an I\/O/m,
      );
      expect(r.stdout).toMatch(/^ {2}--json +on every command/m);
    }
  });

  test('the exit codes in the help are the ones exported', () => {
    expect(Exit).toEqual({ OK: 0, DAMAGED: 1, USAGE: 2, FAILED: 3 });
  });

  test.each(COMMANDS)(
    'wal %s --help, -h and wal help <command> print its usage and exit 0',
    async (c) => {
      const outputs = new Set<string>();
      for (const argv of [
        [c, '--help'],
        [c, '-h'],
        ['help', c],
        [c, '/no/such/dir', '--help'],
      ]) {
        const r = await run(argv);
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
        const usage = READS_FILES.includes(c) ? '<dir|file>' : '<dir>';
        expect(r.stdout).toMatch(new RegExp(`^Usage: wal ${c} ${usage.replace('|', '\\|')}`));
        expect(r.stdout).toMatch(/-h, --help +this help/);
        expect(r.stdout).toMatch(/\n\nExit status: 0 [\s\S]*?\b2 usage error,\s+3 failure\s\(/);
        outputs.add(r.stdout);
      }
      expect(outputs.size).toBe(1);
    },
  );

  test('every help text fits 80 columns', async () => {
    for (const argv of [['--help'], ...COMMANDS.map((c) => [c, '--help'])]) {
      const { stdout } = await run(argv);
      for (const line of lines(stdout)) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });

  test('wal --help <command> is wal help <command>', async () => {
    for (const c of COMMANDS) {
      const [help, flag, short] = await Promise.all([
        run(['help', c]),
        run(['--help', c]),
        run(['-h', c]),
      ]);
      expect(flag).toEqual(help);
      expect(short).toEqual(help);
    }
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.join(import.meta.dirname, '../package.json'), 'utf8'),
    );
    for (const flag of ['--version', '-v']) {
      const r = await run([flag]);
      expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });
});

describe('usage errors exit 2 with one line', () => {
  test('no command, an unknown command', async () => {
    await expectUsage([], /expected a command, found none \(see 'wal --help'\)$/m);
    await expectUsage(['bogus'], /found 'bogus' \(see 'wal --help'\)$/m);
    await expectUsage(['--json'], /found '--json'/);
  });

  test('wal help with an unknown command, or two', async () => {
    // Regression: it printed the general help and exited 0.
    await expectUsage(
      ['help', 'bogus'],
      /^wal: help: expected a command \(inspect, dump, verify, repair, stats\), found 'bogus' \(see 'wal --help'\)$/m,
    );
    await expectUsage(['help', 'dump', 'verify'], /help: expected one command, found 2/);
    // Regression: these printed the general help, ignoring what followed.
    await expectUsage(['--help', 'bogus'], /help: expected a command .*, found 'bogus'/);
    await expectUsage(['-h', 'dump', 'verify'], /help: expected one command, found 2/);
  });

  test('wal --version with anything after it', async () => {
    // Regression: it printed the version, ignoring what followed.
    await expectUsage(
      ['--version', 'extra'],
      /^wal: --version: expected no arguments, found 1 \(extra\) \(see 'wal --help'\)$/m,
    );
    await expectUsage(['-v', 'dump', 'x'], /^wal: -v: expected no arguments, found 2 \(dump x\)/);
    expect((await run(['--version', '--debug'])).code).toBe(0);
  });

  test('a single-valued option given twice', async () => {
    // Regression: the last one silently won.
    const { dir } = await cleanLog(2);
    await expectUsage(
      ['dump', dir, '--limit', '2', '--limit', '3'],
      /^wal: dump: expected --limit once, found '2' and '3' \(see 'wal dump --help'\)$/m,
    );
    await expectUsage(
      ['dump', dir, '--key=a', '--prefix', 'b', '--key', 'a'],
      /dump: expected --key once, found 'a' and 'a'/,
    );
    await expectUsage(
      ['verify', dir, '--mode', 'strict', '--mode=tolerate-tail'],
      /verify: expected --mode once, found 'strict' and 'tolerate-tail'/,
    );
    // A flag said twice still means the same.
    expect((await run(['verify', dir, '--json', '--json'])).code).toBe(0);
  });

  test.each(COMMANDS)('%s: no path, two paths, an unknown flag', async (c) => {
    const what = READS_FILES.includes(c) ? 'a log directory or a segment file' : 'a log directory';
    await expectUsage(
      [c],
      new RegExp(`${c}: expected ${what}, found none \\(see 'wal ${c} --help'\\)`),
    );
    await expectUsage([c, 'a', 'b'], /expected one path, found 2 arguments \(a b\)/);
    await expectUsage([c, 'dir', '--bogus'], new RegExp(`${c}: unknown option '--bogus'`));
    await expectUsage([c, 'dir', '-x'], /unknown option '-x'/);
  });

  test('bad option values name the option and the value', async () => {
    const { dir } = await cleanLog(2);
    await expectUsage(
      ['dump', dir, '--limit', '-1'],
      /--limit: expected a non-negative integer, found '-1'/,
    );
    await expectUsage(['dump', dir, '--limit=1.5'], /--limit: .* found '1.5'/);
    await expectUsage(['dump', dir, '--from', 'abc'], /--from: .* found 'abc'/);
    await expectUsage(['dump', dir, '--to', 'x'], /--to: .* found 'x'/);
    await expectUsage(['dump', dir, '--from', '99999999999999999999'], /--from: /);
    await expectUsage(
      ['dump', dir, '--from', '10', '--to', '5'],
      /--to: expected a sequence at or above --from \(10\), found 5/,
    );
    await expectUsage(
      ['dump', dir, '--values', 'latin1'],
      /--values: expected one of utf8, hex, base64, found 'latin1'/,
    );
    await expectUsage(
      ['dump', dir, '--mode', 'lenient'],
      /--mode: expected one of strict, tolerate-tail/,
    );
    await expectUsage(
      ['verify', dir, '--mode', 'skip-corrupted'],
      /--mode: expected one of strict, tolerate-tail, found/,
    );
    await expectUsage(['stats', dir, '--mode', 'x'], /--mode: /);
    await expectUsage(['dump', dir, '--from'], /dump: --from needs a value/);
    await expectUsage(
      ['inspect', dir, '--json=yes'],
      /inspect: --json takes no value, found 'yes'/,
    );
    await expectUsage(['repair', dir, '--dry-run=1'], /--dry-run takes no value/);
  });

  test('key filters: one of --key and --prefix, in a valid encoding', async () => {
    const { dir } = await cleanLog(2);
    await expectUsage(
      ['dump', dir, '--key', 'a', '--prefix', 'b'],
      /--key and --prefix: expected one of them, found both/,
    );
    await expectUsage(
      ['dump', dir, '--key', 'zz', '--key-encoding', 'hex'],
      /--key: expected hex, found 'zz'/,
    );
    await expectUsage(
      ['dump', dir, '--prefix', 'abc', '--key-encoding', 'hex'],
      /--prefix: expected hex, found 'abc'/,
    );
    await expectUsage(
      ['dump', dir, '--key', 'a!', '--key-encoding', 'base64'],
      /--key: expected base64, found 'a!'/,
    );
    await expectUsage(
      ['dump', dir, '--key-encoding', 'hex'],
      /--key-encoding: expected --key or --prefix with it, found neither/,
    );
    await expectUsage(
      ['dump', dir, '--key', 'a', '--key-encoding', 'latin1'],
      /--key-encoding: expected one of utf8, hex, base64/,
    );
  });

  test('one --json everywhere: JSON on stdout from every command (JSON Lines from dump)', async () => {
    const { dir } = await cleanLog(2);
    for (const c of COMMANDS) {
      const r = await run([c, dir, '--json']);
      expect(r.code, c).toBe(0);
      const parsed =
        c === 'dump' ? lines(r.stdout).map((l) => JSON.parse(l)) : [JSON.parse(r.stdout)];
      expect(parsed.length, c).toBeGreaterThan(0);
      for (const p of parsed) expect(typeof p, c).toBe('object');
    }
  });

  test('dump has no --format any more', async () => {
    const { dir } = await cleanLog(2);
    await expectUsage(['dump', dir, '--format', 'json'], /dump: unknown option '--format'/);
    await expectUsage(
      ['dump', dir, '--frames', '--mode', 'strict'],
      /--mode: --frames reads past all damage, so it takes no --mode/,
    );
  });

  test('a usage error is checked before the log is touched', async () => {
    // The directory does not exist: the bad flag is reported, not the path.
    await expectUsage(['dump', '/no/such/dir', '--limit', 'x'], /--limit/);
  });

  test('--debug adds no stack to a usage error', async () => {
    await expectUsage(['dump', 'dir', '--bogus', '--debug'], /unknown option '--bogus'/);
  });
});

describe('-h, --help and --debug are options, not words', () => {
  test('as the value of an option they are the value', async () => {
    const dir = path.join(tempDir(), 'wal');
    const wal = await Wal.open(dir);
    for (const key of ['-h', '--help', '--debug']) await wal.put(key, `is ${key}`);
    await wal.close();
    for (const [i, key] of ['-h', '--help', '--debug'].entries()) {
      const line = `${i} put "${key}" "is ${key}"\n`;
      for (const argv of [
        ['dump', dir, '--key', key],
        ['dump', '--key', key, dir],
        ['dump', dir, `--key=${key}`],
      ]) {
        expect(await run(argv), argv.join(' ')).toEqual({ code: 0, stdout: line, stderr: '' });
      }
    }
    const prefix = await run(['dump', dir, '--prefix', '--', '--limit', '1']);
    expect(prefix).toEqual({ code: 0, stdout: '1 put "--help" "is --help"\n', stderr: '' });
  });

  test('after -- they are paths', async () => {
    const parent = tempDir();
    for (const name of ['-h', '--help', '--debug']) {
      const wal = await Wal.open(path.join(parent, name));
      await wal.put('k', name);
      await wal.close();
    }
    const before = process.cwd();
    process.chdir(parent);
    try {
      for (const name of ['-h', '--help', '--debug']) {
        const r = await run(['verify', '--', name]);
        expect(r, name).toEqual({
          code: 0,
          stdout: 'ok: 1 segment, 1 record, 1 entry\n',
          stderr: '',
        });
        const dumped = await run(['dump', '--json', '--', name]);
        expect(dumped.code).toBe(0);
        expect(JSON.parse(dumped.stdout)).toMatchObject({ key: 'k', value: name });
      }
    } finally {
      process.chdir(before);
    }
  });
});

describe('--debug', () => {
  test('is accepted before or after the command', async () => {
    const { dir } = await cleanLog(2);
    for (const argv of [
      ['--debug', 'verify', dir],
      ['verify', '--debug', dir],
      ['verify', dir, '--debug'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ok: /);
    }
  });
});
