// Constant memory: logs are scanned in a child process whose memory is
// sampled throughout. Sized to keep this file near 8 s on 2 cores. The
// same child loading the log whole (the naive reader) is the control: it
// shows the measurement does see a reader that holds the log.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_MAX_RECORD_BYTES,
  encodeBatch,
  encodeSealFrame,
  encodeSegmentHeader,
  recordSize,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type WalOp,
} from '@wal/codec';
import { segmentFileName } from '@wal/fs/segments';
import { expect, test } from 'vitest';
import { LOG_ID, saltOf, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const SEGMENT_BYTES = 64 * MiB;

// `valueBytes` values up to `logBytes`, 64 MiB segments (sealed but the
// last), written straight to disk a segment at a time.
function writeBigLog(dir: string, logBytes: number, valueBytes: number): number {
  const value = new Uint8Array(valueBytes).fill(0x61);
  let sequence = 0;
  let total = 0;
  for (let s = 0; total < logBytes; s++) {
    const buf = new Uint8Array(SEGMENT_BYTES);
    const salt = saltOf(s);
    buf.set(
      encodeSegmentHeader({
        segment: s,
        firstSequence: sequence,
        salt,
        maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
        logId: LOG_ID,
      }),
    );
    let p = SEGMENT_HEADER_SIZE;
    let records = 0;
    while (p + 2048 < SEGMENT_BYTES && total + p < logBytes) {
      const ops: WalOp[] = [{ type: 'put', key: Buffer.from(`key-${sequence}`), value }];
      p = encodeBatch(buf, p, { salt, synced: p }, sequence++, ops, recordSize(ops));
      records++;
    }
    if (total + p < logBytes) {
      const seal = { nextSequence: sequence, records, bytes: p + SEAL_FRAME_SIZE };
      buf.set(encodeSealFrame({ salt, synced: p }, seal), p);
      p += SEAL_FRAME_SIZE;
    }
    fs.writeFileSync(path.join(dir, segmentFileName(s)), buf.subarray(0, p));
    total += p;
  }
  return sequence;
}

interface Measured {
  entries: number;
  baselineRss: number;
  peakRss: number;
  peakHeap: number;
  peakBuffers: number;
}

// The young generation is pinned at Node 20's size (semi-spaces of 16 MiB):
// Node 24's grows to twice that, 32 MiB more resident garbage that says
// nothing about what the scan keeps, and the bound must mean the same on
// every Node the suite runs on.
const NODE_FLAGS = ['--max-semi-space-size=16', '--conditions=@wal/source', '--import', 'tsx'];

async function measure(dir: string, how: 'scan' | 'batches' | 'load-all'): Promise<Measured> {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'scan-memory.ts');
  const child = spawn(process.execPath, [...NODE_FLAGS, fixture, dir, how], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code).toBe(0);
  return JSON.parse(out) as Measured;
}

test('scanning a 256 MiB log keeps memory flat; loading it whole does not', async () => {
  const dir = tempDir();
  const entries = writeBigLog(dir, 256 * MiB, 1024);
  const scan = await measure(dir, 'scan');
  expect(scan.entries).toBe(entries);
  // Heap and buffers sampled every 2,000 entries stay far below the log's
  // size, garbage not yet collected included (it varies with GC timing:
  // about 30 MiB)...
  expect(scan.peakHeap + scan.peakBuffers).toBeLessThan(64 * MiB);
  // ...and so does the process's peak resident memory above its start
  // (about 35 MiB): issue 15's bound.
  expect(scan.peakRss - scan.baselineRss).toBeLessThan(64 * MiB);

  const naive = await measure(dir, 'load-all');
  expect(naive.entries).toBe(entries);
  expect(naive.peakRss - naive.baselineRss).toBeGreaterThan(256 * MiB);
}, 60_000);

// Small entries make the most objects per byte read: in batches, what a
// batch holds must die young, or the old generation fills (a 128 MiB log of
// 100 B values once peaked at +110 MiB).
test('scanning a 128 MiB log of 100 B values in batches keeps memory flat', async () => {
  const dir = tempDir();
  const entries = writeBigLog(dir, 128 * MiB, 100);
  const scan = await measure(dir, 'batches');
  expect(scan.entries).toBe(entries);
  expect(scan.peakHeap + scan.peakBuffers).toBeLessThan(64 * MiB);
  expect(scan.peakRss - scan.baselineRss).toBeLessThan(64 * MiB);
}, 60_000);
