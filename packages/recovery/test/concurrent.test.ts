// A scan started while a writer appends returns a prefix of complete records
// and, in tolerate-tail, never reports the in-flight tail as corruption.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { encodeRecord, encodeSegmentHeader, type WalOp } from '@wal/codec';
import { segmentFileName } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { recover, scanLog, verify } from '@wal/recovery';
import { expect, test } from 'vitest';
import { contentOf, keyOf } from './fixtures/content.js';
import { collect, hex, hookedFs, type Plain, plain, put, tempDir, utf8 } from './helpers.js';

// Entries must be sequences 0..n-1, each with the content written for it.
function expectPrefix(entries: readonly Plain[], content: (s: number) => Plain) {
  entries.forEach((e, i) => {
    expect(e.sequence).toBe(i);
    expect(e).toEqual(content(i));
  });
}

const written = (s: number): Plain => ({
  sequence: s,
  type: 'put',
  key: hex(utf8(keyOf(s))),
  value: hex(utf8(contentOf(s))),
});

test('a writer interleaved with every read: each scan sees a prefix, never corruption', async () => {
  // The writer's bytes, in pieces that cut frames anywhere; a rotation every 7 records.
  const sim = new SimFs();
  sim.mkdirp('/wal');
  const steps: (() => void)[] = [];
  let fd = -1;
  let size = 0;
  let segment = -1;
  const rotate = (firstSequence: number) => {
    steps.push(() => {
      segment++;
      const file = `/wal/${segmentFileName(segment)}`;
      const tmp = `${file}.tmp`;
      const tmpFd = sim.open(tmp, 'wx');
      sim.write(tmpFd, encodeSegmentHeader({ segmentNumber: segment, firstSequence }), 0);
      sim.rename(tmp, file);
      if (fd >= 0) sim.close(fd);
      fd = tmpFd;
      size = 32;
    });
  };
  for (let s = 0; s < 60; s++) {
    if (s % 7 === 0) rotate(s);
    const ops: WalOp[] = [put(keyOf(s), contentOf(s))];
    const frame = encodeRecord(s, ops);
    for (let p = 0; p < frame.length; ) {
      const piece = frame.subarray(p, p + 1 + ((s * 31 + p) % 97));
      steps.push(() => {
        size += sim.write(fd, piece, size);
      });
      p += piece.length;
    }
  }
  // Before every call the scanner makes, the writer takes a step.
  let next = 0;
  const racing = hookedFs(sim, () => steps[next++]?.());
  let scans = 0;
  while (next < steps.length) {
    const scan = scanLog('/wal', { fs: racing });
    const { entries, error } = await collect(scan);
    expect(error).toBeUndefined();
    expect(scan.stats.corruptions).toEqual([]);
    expect(scan.stats.gaps).toEqual([]);
    expectPrefix(entries, written);
    scans++;
  }
  expect(scans).toBeGreaterThan(3);
  const all = await recover('/wal', { fs: sim, mode: 'strict' });
  expect(all.entries.length).toBe(60);
});

test('a real writer in another process, rotating: every scan is a clean prefix', async () => {
  const dir = tempDir();
  const fixture = path.join(import.meta.dirname, 'fixtures', 'racing-writer.ts');
  const total = 12_000;
  const child = spawn(
    process.execPath,
    ['--conditions=@wal/source', '--import', 'tsx', fixture, dir, String(total)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  let running = true;
  void exited.then(() => {
    running = false;
  });
  try {
    await once(child.stdout, 'data');
    let last = 0;
    let racing = 0;
    while (running) {
      const scan = scanLog(dir);
      const { entries, error } = await collect(scan);
      expect(error).toBeUndefined();
      expect(scan.stats.corruptions).toEqual([]);
      expect(scan.stats.gaps).toEqual([]);
      expectPrefix(entries, written);
      expect(entries.length).toBeGreaterThanOrEqual(last);
      last = entries.length;
      if (last < total) racing++;
      // verify runs beside the writer too, and never calls its tail damage.
      expect((await verify(dir)).corruptions).toEqual([]);
    }
    expect(racing).toBeGreaterThan(2);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  expect(child.exitCode).toBe(0);
  const final = await recover(dir, { mode: 'strict' });
  expect(final.entries.length).toBeGreaterThanOrEqual(total);
  expectPrefix(final.entries.map(plain), written);
});
