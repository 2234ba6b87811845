// wal dump streams: it waits for a slow reader instead of queueing output,
// and the peak memory of a dump does not grow with the log.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir, writeBulk } from './support/logs.js';
import { BIN, lines, ROOT, run, Sink, SOURCE_FLAGS } from './support/run.js';

const MiB = 1024 * 1024;
// The child's JavaScript heap is capped at half the log: a dump that kept the
// entries or its output cannot finish. The small young generation makes
// garbage collected early, so peak RSS shows what is live.
const HEAP_FLAGS = ['--max-old-space-size=32', '--max-semi-space-size=1'];

describe('wal dump streams', () => {
  test('in-process: output waits for a slow reader (backpressure)', async () => {
    const dir = path.join(tempDir(), 'wal');
    await writeBulk(dir, 16_000, 200);
    const stdout = new Sink({ highWaterMark: 16 * 1024, slow: true });
    const r = await run(['dump', dir], { stdout });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(16_000);
    expect(r.stdout.length).toBeGreaterThan(3 * MiB);
    // One 64 KiB chunk (plus the line that crossed it) at a time, never more.
    expect(stdout.peakQueued).toBeLessThan(80 * 1024);
  });

  interface Child {
    code: number | null;
    stderr: string;
    bytes: number;
    lines: number;
    lastLine: string;
    peakRss: number;
  }

  // Counts stdout as it arrives, keeping only the last line.
  async function dumpInChild(dir: string, argv: string[]): Promise<Child> {
    const rssFile = path.join(tempDir(), 'peak-rss');
    const preload = path.join(import.meta.dirname, 'fixtures', 'peak-rss.ts');
    const child = spawn(
      process.execPath,
      [...HEAP_FLAGS, ...SOURCE_FLAGS, '--import', preload, BIN, 'dump', dir, ...argv],
      {
        cwd: ROOT,
        env: { ...process.env, WAL_PEAK_RSS_FILE: rssFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const result = { bytes: 0, lines: 0, partial: '', lastLine: '', stderr: '' };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      result.bytes += Buffer.byteLength(text);
      const parts = (result.partial + text).split('\n');
      result.partial = parts.pop() as string;
      result.lines += parts.length;
      if (parts.length > 0) result.lastLine = parts.at(-1) as string;
    });
    child.stderr.on('data', (d) => {
      result.stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return {
      code,
      stderr: result.stderr,
      bytes: result.bytes,
      lines: result.lines,
      lastLine: result.lastLine,
      // Absent when the child died (out of memory): NaN fails the comparison.
      peakRss: fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : Number.NaN,
    };
  }

  // Constant memory: the peak must not grow with the log. How far the peak
  // sits above a tiny log's is the garbage collector's headroom for read
  // buffers (external memory), which does not depend on the log's size; a
  // dump that kept entries, output or read chunks grows with it.
  test('dumping a 64 MiB log peaks no higher than dumping a 16 MiB one', async () => {
    const argv = ['--json', '--values', 'base64'];
    const sizes = [4 * 1024, 17 * 1024];
    const peaks: number[] = [];
    for (const entries of sizes) {
      const dir = path.join(tempDir(), `log-${entries}`);
      const logBytes = await writeBulk(dir, entries, 4000);
      expect(logBytes).toBeGreaterThan(entries * 4000);
      const child = await dumpInChild(dir, argv);
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      expect(child.lines).toBe(entries);
      expect(child.bytes).toBeGreaterThan(logBytes);
      expect(JSON.parse(child.lastLine)).toMatchObject({ sequence: entries - 1, type: 'put' });
      peaks.push(child.peakRss);
    }
    const [small, big] = peaks as [number, number];
    // 48 MiB more log. The headroom varies by up to about 12 MiB between
    // runs; a dump that kept half of what it read would exceed this.
    expect(big - small).toBeLessThan(24 * MiB);
  }, 60_000);
});
