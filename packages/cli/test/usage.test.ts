// The calling contract: help, version, and usage errors (exit 2, one line on
// stderr, nothing on stdout, never a stack).
import fs from 'node:fs';
import path from 'node:path';
import { Exit } from '@wal/cli';
import { describe, expect, test } from 'vitest';
import { cleanLog } from './support/logs.js';
import { lines, run } from './support/run.js';

const COMMANDS = ['inspect', 'dump', 'verify', 'repair', 'stats'];

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
      expect(r.stdout).toMatch(/^Usage: wal <command> <dir> \[options\]/);
      for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
      expect(r.stdout).toContain('0 ok, 1 damage found or the operation failed, 2 usage error');
    }
  });

  test.each(COMMANDS)('wal %s --help, -h and wal help %s print its usage and exit 0', async (c) => {
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
      expect(r.stdout).toMatch(new RegExp(`^Usage: wal ${c} <dir>`));
      expect(r.stdout).toMatch(/-h, --help +this help/);
      outputs.add(r.stdout);
    }
    expect(outputs.size).toBe(1);
  });

  test('every help text fits 80 columns', async () => {
    for (const argv of [['--help'], ...COMMANDS.map((c) => [c, '--help'])]) {
      const { stdout } = await run(argv);
      for (const line of lines(stdout)) expect(line.length, line).toBeLessThanOrEqual(80);
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

  test.each(COMMANDS)('%s: no directory, two directories, an unknown flag', async (c) => {
    await expectUsage(
      [c],
      new RegExp(`${c}: expected a log directory, found none \\(see 'wal ${c} --help'\\)`),
    );
    await expectUsage([c, 'a', 'b'], /expected one log directory, found 2 arguments \(a b\)/);
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
    await expectUsage(['dump', dir, '--from', '99999999999999999999'], /--from: /);
    await expectUsage(
      ['dump', dir, '--format', 'xml'],
      /--format: expected one of text, json, found 'xml'/,
    );
    await expectUsage(
      ['dump', dir, '--values', 'latin1'],
      /--values: expected one of utf8, hex, base64/,
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

  test('a usage error is checked before the log is touched', async () => {
    // The directory does not exist: the bad flag is reported, not the path.
    await expectUsage(['dump', '/no/such/dir', '--limit', 'x'], /--limit/);
  });

  test('--debug adds no stack to a usage error', async () => {
    await expectUsage(['dump', 'dir', '--bogus', '--debug'], /unknown option '--bogus'/);
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
