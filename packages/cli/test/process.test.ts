// The real command in a child process: exit codes, the bin entry and its
// shebang, stack traces only with --debug, `wal dump | head`, and a stdout
// that cannot be written.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Wal } from '@wal/fs';
import { describe, expect, test } from 'vitest';
import { cleanLog, flipByte, segment, tempDir, writeBulk } from './support/logs.js';
import { BIN, lines, ROOT, run, runBin, SOURCE_FLAGS, spawnCollect } from './support/run.js';

const PACKAGE = path.join(ROOT, 'packages/cli');

/**
 * Runs `wal` with stdout going to `stdout`: a file descriptor, or 'close'
 * for a pipe whose reader goes away after the first chunk (`| head -1`).
 */
function runBinInto(
  stdout: number | 'close',
  argv: string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [...SOURCE_FLAGS, BIN, ...argv], {
    cwd: ROOT,
    stdio: ['ignore', stdout === 'close' ? 'pipe' : stdout, 'pipe'],
  });
  child.stdout?.once('data', () => child.stdout?.destroy());
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Output far larger than a pipe holds: the writer is still writing when the reader leaves. */
const PAST_THE_PIPE = 256 * 1024;

describe('the wal process', () => {
  test('exit codes 0, 1, 2 and 3', async () => {
    const { dir } = await cleanLog(2);
    const missing = path.join(tempDir(), 'nope');
    const [ok, usage, failed] = await Promise.all([
      runBin(['verify', dir]),
      runBin(['dump', dir, '--bogus']),
      runBin(['verify', missing]),
    ]);
    expect(ok).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(ok.stdout).toBe('ok: 2 segments, 5 records, 6 entries\n');
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(lines(usage.stderr)).toEqual([
      `wal: dump: unknown option '--bogus' (see 'wal dump --help')`,
    ]);
    expect(failed).toMatchObject({ code: 3, stdout: '' });
    expect(lines(failed.stderr)).toEqual([`wal: ${missing}: no such file or directory`]);

    flipByte(dir, 0, 60);
    const damaged = await runBin(['verify', dir]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/^damaged wal_00000000\.log offset 48 /);
  });

  test('a failure is one line; --debug adds the stack and its causes', async () => {
    const { dir } = await cleanLog(2);
    flipByte(dir, 0, 60);
    const [plain, debug] = await Promise.all([
      runBin(['dump', dir]),
      runBin(['dump', dir, '--debug']),
    ]);
    expect(plain.code).toBe(1);
    expect(lines(plain.stderr)).toEqual([expect.stringMatching(/^wal: .*checksum-mismatch/)]);
    expect(debug.code).toBe(1);
    const out = lines(debug.stderr);
    expect(out[0]).toBe(lines(plain.stderr)[0]);
    expect(out[1]).toMatch(/^\w+Error: /);
    expect(out.filter((l) => /^\s+at /.test(l)).length).toBeGreaterThan(0);
  });

  test('the bin entry: dist/bin.js built from src/bin.ts, run by its shebang', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
    const build = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'tsconfig.build.json'), 'utf8'));
    expect(pkg.bin).toEqual({ wal: './dist/bin.js' });
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(root.scripts.wal).toBe(`node ${SOURCE_FLAGS.join(' ')} packages/cli/src/bin.ts`);

    const shebang = fs.readFileSync(BIN, 'utf8').split('\n')[0] as string;
    expect(shebang).toBe('#!/usr/bin/env node');
    // Run it as the kernel would: the interpreter the shebang names, then the file.
    const [interpreter, ...args] = shebang.slice(2).split(' ') as [string, ...string[]];
    const r = await spawnCollect(interpreter, [...args, ...SOURCE_FLAGS, BIN, '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  test('wal dump | head: the closed pipe is success, with nothing on stderr', async () => {
    const dir = path.join(tempDir(), 'wal');
    // Far more than a pipe holds, so dump is still writing when head exits.
    await writeBulk(dir, 20_000, 200);
    const command = `node ${SOURCE_FLAGS.join(' ')} "$1" dump "$2" | head -n 3; exit "\${PIPESTATUS[0]}"`;
    const r = await spawnCollect('bash', ['-c', command, 'bash', BIN, dir]);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^0 put "key-0" "v{200}"$/),
      expect.stringMatching(/^1 put "key-1" /),
      expect.stringMatching(/^2 put "key-2" /),
    ]);
    expect(r.code).toBe(0);
  });

  test('wal verify | head -1 keeps the verdict: exit 1 for a damaged log', async () => {
    const dir = tempDir();
    const wal = await Wal.open({ dir, preallocateBytes: 0 });
    for (let i = 0; i < 4000; i++) await wal.put(`k${i}`, `v${i}`);
    await wal.close();
    // Rot every 97 bytes: a damaged region, and a line, every few frames.
    const file = segment(dir, 0);
    const bytes = fs.readFileSync(file);
    for (let at = 200; at < bytes.length - 200; at += 97) bytes[at] = (bytes[at] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    const whole = await run(['verify', dir]);
    expect(whole.code).toBe(1);
    expect(whole.stdout.length).toBeGreaterThan(PAST_THE_PIPE);
    expect(await runBinInto('close', ['verify', dir])).toEqual({ code: 1, stderr: '' });
  });

  test('a stderr whose reader went away keeps the exit code: 3 for a missing log, not 1', async () => {
    const missing = path.join(tempDir(), 'nope');
    const child = spawn(process.execPath, [...SOURCE_FLAGS, BIN, 'verify', missing], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Closed before the child writes its one line of error: that write gets EPIPE.
    child.stderr.destroy();
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(code).toBe(3);
  });

  test('wal dump --frames | head -1 exits 1 when it had shown damage', async () => {
    const dir = path.join(tempDir(), 'wal');
    await writeBulk(dir, 20_000, 200);
    flipByte(dir, 0, 60);
    const whole = await run(['dump', dir, '--frames']);
    expect(whole.code).toBe(1);
    expect(whole.stdout.length).toBeGreaterThan(PAST_THE_PIPE);
    expect(await runBinInto('close', ['dump', dir, '--frames'])).toEqual({ code: 1, stderr: '' });
  });

  test('stdout on a full disk (/dev/full): exit 3 and one line, never damage or a stack', async () => {
    const { dir } = await cleanLog(2);
    const full = fs.openSync('/dev/full', 'w');
    try {
      for (const command of ['verify', 'dump']) {
        const r = await runBinInto(full, [command, dir]);
        expect(lines(r.stderr), command).toEqual([
          'wal: expected to write the output, found ENOSPC: no space left on device, write',
        ]);
        expect(r.code, command).toBe(3);
      }
    } finally {
      fs.closeSync(full);
    }
  });
});
