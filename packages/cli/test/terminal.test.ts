// Colour only on a TTY and never with NO_COLOR; the progress line only when
// stderr is a TTY. Decided per stream, from the streams `main` is given.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleanLog, flipByte, tempDir, writeBulk } from './support/logs.js';
import { run } from './support/run.js';

const ESC = '\x1b[';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const CLEAR_LINE = '\r\x1b[2K';

async function damagedLog(): Promise<string> {
  const { dir } = await cleanLog();
  flipByte(dir, 1);
  return dir;
}

describe('colour', () => {
  test('on a TTY: statuses and verdicts are coloured', async () => {
    const dir = await damagedLog();
    const verify = await run(['verify', dir], { tty: true });
    expect(verify.stdout).toContain(`${RED}damaged${ESC}39m wal_00000001.log offset 76`);
    const inspect = await run(['inspect', dir], { tty: true });
    expect(inspect.stdout).toContain(`${RED}damaged`);
    expect(inspect.stdout).toContain(`${ESC}32mok`);
  });

  test('not on a pipe or file', async () => {
    const dir = await damagedLog();
    for (const command of ['verify', 'inspect', 'dump']) {
      const r = await run([command, dir]);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
  });

  test('never with NO_COLOR or TERM=dumb, even on a TTY', async () => {
    const dir = await damagedLog();
    for (const env of [{ NO_COLOR: '1' }, { NO_COLOR: 'true' }, { TERM: 'dumb' }]) {
      for (const command of ['verify', 'inspect', 'dump']) {
        const r = await run([command, dir], { tty: true, env });
        expect(r.stdout + r.stderr).not.toContain(ESC);
      }
    }
  });

  test('an empty NO_COLOR does not turn colour off (no-color.org)', async () => {
    const dir = await damagedLog();
    const r = await run(['verify', dir], { tty: true, env: { NO_COLOR: '' } });
    expect(r.stdout).toContain(RED);
  });

  test('each stream by its own TTY: an error is red only when stderr is a terminal', async () => {
    const dir = await damagedLog();
    const errTty = await run(['dump', dir], { tty: { stderr: true } });
    expect(errTty.stderr.startsWith(`wal: ${RED}`)).toBe(true);
    expect(errTty.stderr).toContain('checksum-mismatch');
    expect(errTty.stdout).not.toContain(ESC);

    const outTty = await run(['dump', dir], { tty: { stdout: true } });
    expect(outTty.stderr).toMatch(/^wal: /);
    expect(outTty.stderr).not.toContain(ESC);

    const missing = await run(['verify', path.join(tempDir(), 'x')], { tty: true });
    expect(missing.stderr).toContain(RED);
  });
});

describe('progress', () => {
  // About 1 MiB of dump output: progress is shown after each 64 KiB written.
  async function bigLog(): Promise<string> {
    const dir = path.join(tempDir(), 'wal');
    await writeBulk(dir, 4000, 200);
    return dir;
  }

  test('dump shows a progress line on a TTY stderr and clears it', async () => {
    const dir = await bigLog();
    const r = await run(['dump', dir], { tty: { stderr: true } });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(4001);
    expect(r.stderr.startsWith(`${CLEAR_LINE}${DIM}dump: `)).toBe(true);
    // Every progress line is cleared before the next output, and at the end.
    const shown = r.stderr.split(CLEAR_LINE).filter(Boolean);
    expect(shown.length).toBeGreaterThan(4);
    expect(r.stderr.endsWith(CLEAR_LINE)).toBe(true);
    expect(r.stderr.split(CLEAR_LINE).length).toBe(shown.length * 2 + 1);
  });

  test('no progress line when stderr is not a TTY, whatever stdout is', async () => {
    const dir = await bigLog();
    for (const tty of [false, { stdout: true }]) {
      for (const command of ['dump', 'verify', 'inspect', 'stats', 'repair']) {
        const r = await run([command, dir], { tty });
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
      }
    }
  });

  test('with NO_COLOR the progress line is shown, unstyled', async () => {
    const dir = await bigLog();
    const r = await run(['dump', dir, '--format', 'json'], {
      tty: { stderr: true },
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr.startsWith(`${CLEAR_LINE}dump: `)).toBe(true);
    expect(r.stderr.replaceAll(CLEAR_LINE, '')).not.toContain(ESC);
  });
});
