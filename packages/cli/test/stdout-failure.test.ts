// Stdout that fails: a full disk is a failure (exit 3, one line), never
// damage; a reader that goes away (EPIPE: `wal verify | head -1`) ends the
// command early with its own verdict so far. The writes fail on purpose
// here, so the stream's order of events is the one a real stdout has.
import path from 'node:path';
import { Exit } from '@wal/cli';
import { describe, expect, test } from 'vitest';
import { cleanLog, flipByte, flipFrame, framesOf, tempDir, writeBulk } from './support/logs.js';
import { lines, run, Sink } from './support/run.js';

const COMMANDS = ['inspect', 'dump', 'verify', 'repair', 'stats'];

const full = (after = 0) => new Sink({ fail: { code: 'ENOSPC', after } });
const closed = (after = 0) => new Sink({ fail: { code: 'EPIPE', after } });

/** A log of about 4.5 MB in one segment, with one damaged batch near its end. */
async function damagedNearEnd(): Promise<string> {
  const dir = path.join(tempDir(), 'wal');
  await writeBulk(dir, 20_000, 200);
  const frames = await framesOf(dir, 0);
  // The close mark follows it, so the damage is bit rot, not a torn tail.
  await flipFrame(dir, 0, frames.length - 3);
  return dir;
}

describe('stdout that cannot be written (a full disk)', () => {
  test.each([...COMMANDS, '--json'])(
    '%s: exit 3 and one line naming the write error, not damage',
    async (c) => {
      const { dir } = await cleanLog(2);
      const argv = c === '--json' ? ['verify', dir, c] : [c, dir];
      const r = await run(argv, { stdout: full() });
      expect(r.stdout).toBe('');
      expect(lines(r.stderr)).toEqual([
        'wal: expected to write the output, found ENOSPC: injected write failure, write',
      ]);
      expect(r.code).toBe(Exit.FAILED);
    },
  );

  test('help and version too', async () => {
    for (const argv of [['--help'], ['dump', '--help'], ['--version']]) {
      const r = await run(argv, { stdout: full() });
      expect(lines(r.stderr), argv.join(' ')).toEqual([
        expect.stringMatching(/^wal: expected to write the output, found ENOSPC: /),
      ]);
      expect(r.code).toBe(Exit.FAILED);
    }
  });

  test('a dump that fills the disk midway is exit 3, and stops writing', async () => {
    const dir = path.join(tempDir(), 'wal');
    await writeBulk(dir, 2000, 200);
    const stdout = full(1000);
    const r = await run(['dump', dir], { stdout });
    expect(r.code).toBe(Exit.FAILED);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^wal: expected to write the output, found ENOSPC: /),
    ]);
    expect(stdout.text.length).toBeGreaterThan(0);
    expect(stdout.text.length).toBeLessThan(2000 * 200);
  });

  test('--debug adds the stack of the write error', async () => {
    const { dir } = await cleanLog(2);
    const [plain, debug] = await Promise.all([
      run(['verify', dir], { stdout: full() }),
      run(['verify', dir, '--debug'], { stdout: full() }),
    ]);
    const out = lines(debug.stderr);
    expect(out[0]).toBe(lines(plain.stderr)[0]);
    expect(debug.stderr).toMatch(/\n\s+at /);
    expect(debug.stderr).toContain('Error: ENOSPC: injected write failure');
    expect(debug.code).toBe(Exit.FAILED);
  });

  test('a write error while the command fails for another reason: both said, exit 3', async () => {
    const { dir } = await cleanLog(40);
    flipByte(dir, 0, 60);
    const r = await run(['dump', dir], { stdout: full() });
    const out = lines(r.stderr);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^wal: .*checksum-mismatch/);
    expect(out[1]).toMatch(/^wal: expected to write the output, found ENOSPC: /);
    expect(r.code).toBe(Exit.FAILED);
  });
});

describe('stdout closed by its reader (EPIPE)', () => {
  test('verify keeps its verdict: 1 for a damaged log, 0 for a clean one, nothing on stderr', async () => {
    const { dir } = await cleanLog(40);
    expect((await run(['verify', dir], { stdout: closed() })).code).toBe(Exit.OK);
    flipByte(dir, 0, 60);
    for (const argv of [
      ['verify', dir],
      ['verify', dir, '--json'],
    ]) {
      const r = await run(argv, { stdout: closed() });
      expect(r).toMatchObject({ code: Exit.DAMAGED, stdout: '', stderr: '' });
    }
  });

  test('dump --frames exits 1 when it had shown damage before the reader left', async () => {
    const { dir } = await cleanLog(40);
    flipByte(dir, 0, 60);
    const r = await run(['dump', dir, '--frames'], { stdout: closed() });
    expect(r).toMatchObject({ code: Exit.DAMAGED, stdout: '', stderr: '' });
  });

  test('dump ends early: damage it never reached is not reported', async () => {
    const dir = await damagedNearEnd();
    const whole = await run(['dump', dir]);
    expect(whole.code).toBe(Exit.DAMAGED);
    expect(whole.stderr).toMatch(/^wal: .*checksum-mismatch/);
    for (const argv of [
      ['dump', dir],
      ['dump', dir, '--frames'],
      ['dump', dir, '--mode', 'skip-corrupted'],
    ]) {
      const stdout = closed(100_000);
      const r = await run(argv, { stdout });
      expect(r, argv.join(' ')).toMatchObject({ code: Exit.OK, stderr: '' });
      expect(stdout.text.length).toBeLessThan(whole.stdout.length / 2);
    }
  });

  test('stats and inspect: the exit code of what they found', async () => {
    const { dir } = await cleanLog(40);
    flipByte(dir, 0, 60);
    const stats = await run(['stats', dir], { stdout: closed() });
    expect(stats.code).toBe(Exit.DAMAGED);
    expect(lines(stats.stderr)).toEqual([expect.stringMatching(/^wal: .*checksum-mismatch/)]);
    for (const argv of [
      ['stats', dir, '--mode', 'skip-corrupted'],
      ['inspect', dir],
    ]) {
      const r = await run(argv, { stdout: closed() });
      expect(r, argv.join(' ')).toMatchObject({ code: Exit.OK, stdout: '', stderr: '' });
    }
  });
});
