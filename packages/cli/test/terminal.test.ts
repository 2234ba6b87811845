// Colour only on a TTY and never with NO_COLOR; the progress line only when
// stderr is a TTY, saying how far: bytes read of the log's size, and percent.
// Decided per stream, from the streams `main` is given.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { cleanLog, flipFrame, tempDir, writeBulk } from './support/logs.js';
import { run } from './support/run.js';

const ESC = '\x1b[';
const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const CLEAR_LINE = '\r\x1b[2K';

async function damagedLog(): Promise<{ dir: string; offset: number }> {
  const { dir } = await cleanLog();
  const { offset } = await flipFrame(dir);
  return { dir, offset };
}

describe('colour', () => {
  test('on a TTY: statuses and verdicts are coloured', async () => {
    const { dir, offset } = await damagedLog();
    const verify = await run(['verify', dir], { tty: true });
    expect(verify.stdout).toContain(`${RED}damaged${ESC}39m wal_00000001.log offset ${offset} `);
    const inspect = await run(['inspect', dir], { tty: true });
    expect(inspect.stdout).toContain(`${RED}damaged`);
    expect(inspect.stdout).toContain(`${ESC}32mok`);
  });

  test('not on a pipe or file', async () => {
    const { dir } = await damagedLog();
    for (const command of ['verify', 'inspect', 'dump']) {
      const r = await run([command, dir]);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
  });

  test('never with NO_COLOR or TERM=dumb, even on a TTY', async () => {
    const { dir } = await damagedLog();
    for (const env of [{ NO_COLOR: '1' }, { NO_COLOR: 'true' }, { TERM: 'dumb' }]) {
      for (const command of ['verify', 'inspect', 'dump']) {
        const r = await run([command, dir], { tty: { stdout: true }, env });
        expect(r.stdout + r.stderr).not.toContain(ESC);
      }
    }
  });

  test('an empty NO_COLOR does not turn colour off (no-color.org)', async () => {
    const { dir } = await damagedLog();
    const r = await run(['verify', dir], { tty: true, env: { NO_COLOR: '' } });
    expect(r.stdout).toContain(RED);
  });

  test('each stream by its own TTY: an error is red only when stderr is a terminal', async () => {
    const { dir } = await damagedLog();
    const errTty = await run(['dump', dir], { tty: { stderr: true } });
    expect(errTty.stderr).toContain(`${CLEAR_LINE}wal: ${RED}`);
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
  const LINE =
    /^(\w+): (?:(\d+) entries, )?([\d.]+ (?:B|KiB|MiB)) of ([\d.]+ (?:B|KiB|MiB)) \((\d+)%\)(, [\d.]+ (?:B|KiB|MiB) written)?$/;

  /** The progress lines shown (styles removed), checking each is erased before what follows. */
  function shown(stderr: string): RegExpExecArray[] {
    expect(stderr.startsWith(CLEAR_LINE)).toBe(true);
    // The line is erased at the end, before anything else is printed.
    expect(stderr.endsWith(CLEAR_LINE)).toBe(true);
    const texts = stderr
      .split(CLEAR_LINE)
      .filter(Boolean)
      .map((t) => t.replaceAll(DIM, '').replaceAll(`${ESC}22m`, ''));
    return texts.map((t) => {
      const m = LINE.exec(t);
      expect(m, t).not.toBeNull();
      return m as RegExpExecArray;
    });
  }

  const percents = (lines: RegExpExecArray[]) => lines.map((m) => Number(m[5]));

  // About 4 MiB in one segment: read in many chunks.
  async function bigLog(): Promise<{ dir: string; bytes: number }> {
    const dir = path.join(tempDir(), 'wal');
    const bytes = await writeBulk(dir, 20_000, 200);
    return { dir, bytes };
  }

  test('how far: bytes read of the sum of the segment sizes, percent rising to 100', async () => {
    const { dir } = await cleanLog();
    const total = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(total).toBe(2730);
    for (const command of ['verify', 'inspect', 'stats']) {
      const r = await run([command, dir], { tty: { stderr: true } });
      expect(r.code).toBe(0);
      const lines = shown(r.stderr);
      expect(lines.every((m) => m[1] === command && m[4] === '2.7 KiB')).toBe(true);
      expect(percents(lines)).toEqual([...percents(lines)].sort((a, b) => a - b));
      expect(percents(lines).at(-1)).toBe(100);
      // What stdout gets does not change (but for the speed stats measures).
      const plain = (await run([command, dir])).stdout;
      const unspeed = (text: string) => text.replace(/^scan: .*$/m, 'scan: …');
      expect(unspeed(r.stdout)).toBe(unspeed(plain));
    }
  });

  test('a large log: the percent steps up as each chunk is read', async () => {
    const { dir } = await bigLog();
    const r = await run(['verify', dir], { tty: { stderr: true } });
    expect(r.code).toBe(0);
    const steps = percents(shown(r.stderr));
    expect(new Set(steps).size).toBeGreaterThan(4);
    expect(steps).toEqual([...new Set(steps)]); // redrawn only when the percent moves
    expect(steps.at(-1)).toBe(100);
  });

  test('dump: entries printed so far, and the bytes read', async () => {
    const { dir } = await bigLog();
    const r = await run(['dump', dir], { tty: { stderr: true } });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(20_001);
    const lines = shown(r.stderr);
    const entries = lines.filter((m) => m[2] !== undefined).map((m) => Number(m[2]));
    // Each 64 KiB written: the count rises, never past what was printed.
    expect(entries.length).toBeGreaterThan(30);
    expect(entries).toEqual([...entries].sort((a, b) => a - b));
    expect(entries.at(-1)).toBeLessThanOrEqual(20_000);
  });

  test('repair: what it writes, too', async () => {
    const { dir } = await cleanLog();
    await flipFrame(dir);
    const r = await run(['repair', dir], { tty: { stderr: true } });
    expect(r.code).toBe(0);
    expect(shown(r.stderr).some((m) => m[6] !== undefined)).toBe(true);
  });

  test('no progress line when stderr is not a TTY, whatever stdout is', async () => {
    const { dir } = await bigLog();
    for (const tty of [false, { stdout: true }]) {
      for (const command of ['dump', 'verify', 'inspect', 'stats', 'repair']) {
        const r = await run([command, dir], { tty });
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
      }
    }
  });

  test('with NO_COLOR the progress line is shown, unstyled', async () => {
    const { dir } = await bigLog();
    const r = await run(['dump', dir, '--json'], {
      tty: { stderr: true },
      env: { NO_COLOR: '1' },
    });
    expect(r.stderr.startsWith(`${CLEAR_LINE}dump: `)).toBe(true);
    expect(r.stderr.replaceAll(CLEAR_LINE, '')).not.toContain(ESC);
  });
});
