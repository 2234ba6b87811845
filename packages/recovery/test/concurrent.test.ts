// A scan started while a writer appends returns a prefix of complete records
// and, in tolerate-tail, never reports the in-flight tail as damage.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import {
  DEFAULT_MAX_RECORD_BYTES,
  encodeBatchFrame,
  encodeSealFrame,
  encodeSegmentHeader,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
} from '@wal/codec';
import { segmentFileName } from '@wal/fs/segments';
import { SimFs } from '@wal/fs/testing';
import { recover, scanLog, verify } from '@wal/recovery';
import { expect, test } from 'vitest';
import { contentOf, keyOf } from './fixtures/content.js';
import {
  collect,
  hex,
  hookedFs,
  LOG_ID,
  type Plain,
  plain,
  put,
  saltOf,
  tempDir,
  utf8,
} from './helpers.js';

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

test('a writer interleaved with every read: each scan sees a prefix, never damage', async () => {
  // The writer's bytes, in pieces that cut frames (and seals) anywhere; a
  // rotation every 7 records: seal, then the next segment created as .tmp
  // with its header and renamed into place.
  const sim = new SimFs();
  await sim.mkdirp('/wal');
  const steps: (() => Promise<void>)[] = [];
  // What the steps change as they run: the active segment's handle and size.
  let fd = -1;
  let size = 0;
  const pieces = (bytes: Uint8Array, seed: number) => {
    for (let p = 0; p < bytes.length; ) {
      const piece = bytes.subarray(p, p + 1 + ((seed * 31 + p) % 97));
      steps.push(async () => {
        size += await sim.write(fd, piece, size);
      });
      p += piece.length;
    }
  };
  const create = (segment: number, firstSequence: number) => {
    steps.push(async () => {
      const file = `/wal/${segmentFileName(segment)}`;
      const tmp = `${file}.tmp`;
      const tmpFd = await sim.open(tmp, 'wx+');
      const header = encodeSegmentHeader({
        segment,
        firstSequence,
        salt: saltOf(segment),
        maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
        logId: LOG_ID,
      });
      await sim.write(tmpFd, header, 0);
      await sim.fdatasync(tmpFd);
      await sim.rename(tmp, file);
      await sim.fsyncDir('/wal');
      if (fd >= 0) await sim.close(fd);
      fd = tmpFd;
      size = SEGMENT_HEADER_SIZE;
    });
  };
  // The layout, as the steps are planned.
  let segment = 0;
  let offset = SEGMENT_HEADER_SIZE;
  let records = 0;
  create(0, 0);
  for (let s = 0; s < 60; s++) {
    if (s > 0 && s % 7 === 0) {
      const seal = encodeSealFrame(
        { salt: saltOf(segment), synced: offset },
        { nextSequence: s, records, bytes: offset + SEAL_FRAME_SIZE },
      );
      pieces(seal, s);
      steps.push(async () => {
        await sim.fdatasync(fd);
      });
      segment++;
      offset = SEGMENT_HEADER_SIZE;
      records = 0;
      create(segment, s);
    }
    const frame = encodeBatchFrame({ salt: saltOf(segment), synced: offset }, s, [
      put(keyOf(s), contentOf(s)),
    ]);
    pieces(frame, s);
    offset += frame.length;
    records++;
  }
  // Before every call the scanner makes, the writer takes a step.
  let next = 0;
  const racing = hookedFs(sim, async () => {
    await steps[next++]?.();
  });
  let scans = 0;
  while (next < steps.length) {
    const scan = scanLog('/wal', { fs: racing });
    const { entries, error } = await collect(scan);
    expect(error).toBeUndefined();
    expect(scan.stats.damage).toEqual([]);
    expectPrefix(entries, written);
    scans++;
  }
  expect(scans).toBeGreaterThan(3);
  const all = await recover('/wal', { fs: sim, mode: 'strict' });
  expect(all.entries.length).toBe(60);
  expect(all.stats.segmentsScanned).toBe(9);
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
      expect(scan.stats.damage).toEqual([]);
      expectPrefix(entries, written);
      expect(entries.length).toBeGreaterThanOrEqual(last);
      last = entries.length;
      if (last < total) racing++;
      // verify runs beside the writer too, and never calls its tail damage.
      expect((await verify(dir)).damage).toEqual([]);
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
