import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type CaseResult, keyFor, randomBytes, summarize } from '../harness.js';
import { watchLoop } from '../loop-delay.js';
import { openWal, segmentPaths } from '../wal-api.js';

const CHILD = fileURLToPath(new URL('../read-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** How much log to write: about `mib` MiB, or `segments` segments of `segmentBytes`, all full. */
export type LogSize = { mib: number } | { segments: number; segmentBytes: number };

const BATCH = 256;

/**
 * Writes a log of 16-byte keys and `valueBytes` values; returns the entries.
 * In segment mode the last segment is full too (within two batches), so
 * `Wal.open` has a whole segment of tail to read, the most it reads.
 */
export async function writeLog(dir: string, valueBytes: number, size: LogSize): Promise<number> {
  const bySegments = 'segments' in size;
  const wal = await openWal(dir, {
    sync: 'none',
    maxSegmentBytes: bySegments ? size.segmentBytes : undefined,
  });
  const value = randomBytes(valueBytes, 9);
  const done = bySegments
    ? segmentsFull(dir, size.segments, size.segmentBytes - 2 * BATCH * (valueBytes + 64))
    : entriesWritten(Math.ceil((size.mib * 1024 * 1024) / (valueBytes + 16 + 30)));
  let entries = 0;
  while (!(await done(entries))) {
    await Promise.all(Array.from({ length: BATCH }, (_, k) => wal.put(keyFor(entries + k), value)));
    entries += BATCH;
  }
  await wal.close();
  return entries;
}

function entriesWritten(target: number) {
  return async (entries: number) => entries >= target;
}

function segmentsFull(dir: string, segments: number, fullBytes: number) {
  return async () => {
    const files = await segmentPaths(dir);
    const last = files.at(-1);
    return files.length >= segments && last !== undefined && fs.statSync(last).size >= fullBytes;
  };
}

/** A reader run in its own process (see read-child.ts). */
export type Reader = 'scan' | 'scan-entries' | 'naive' | 'replay' | 'copy-floor' | 'baseline';

interface ChildResult {
  entries: number;
  bytes: number;
  seconds: number;
  maxRssMiB: number;
}

/** Runs one reader in a fresh process, so its peak RSS is its own. */
function inChild(reader: Reader, dir: string): ChildResult {
  const out = execFileSync(
    process.execPath,
    ['--conditions=@wal/source', '--import', TSX, CHILD, reader, dir],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out) as ChildResult;
}

/** Row names of the readers, for a log described by `label`. */
export function readerName(reader: Reader, label: string): string {
  const names: Record<Reader, string> = {
    scan: 'recovery: scanLog, batches()',
    'scan-entries': 'recovery: scanLog, one await per entry',
    naive: 'naive reader: whole files into an array',
    replay: 'replay into a Memtable',
    'copy-floor': "replay's floor: scan + keys and values copied into arenas, no index",
    baseline: 'node + modules, no reading',
  };
  return `${names[reader]} (${label})`;
}

/**
 * The recovery scan, and optionally the naive reader (whole files into
 * memory, every entry into an array) and replay into a Memtable, each in a
 * child: MB/s, entries/s and peak RSS, beside a child that only loads the
 * modules (the baseline of peak RSS).
 */
export function readPath(
  dir: string,
  label: string,
  rounds: number,
  readers: Exclude<Reader, 'baseline'>[],
): CaseResult[] {
  const samples = new Map<string, { name: string; unit: string; values: number[] }>();
  const add = (reader: Reader, unit: string, value: number) => {
    const key = `${reader}|${unit}`;
    const entry = samples.get(key) ?? { name: readerName(reader, label), unit, values: [] };
    entry.values.push(value);
    samples.set(key, entry);
  };
  for (let r = 0; r < rounds; r++) {
    for (const reader of readers) {
      const res = inChild(reader, dir);
      add(reader, 'MB/s', res.bytes / 1e6 / res.seconds);
      add(reader, 'entries/s', res.entries / res.seconds);
      add(reader, 'peak RSS MiB', res.maxRssMiB);
    }
    add('baseline', 'peak RSS MiB', inChild('baseline', dir).maxRssMiB);
  }
  return [...samples.values()].map((s) => summarize(s.name, s.unit, s.values));
}

/**
 * `Wal.open` then close on an existing log, in this process: the open's
 * time, and the longest the event loop waited during it.
 */
export async function openTime(dir: string, label: string, rounds: number): Promise<CaseResult[]> {
  const ms: number[] = [];
  const blocked: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const stopWatch = await watchLoop();
    const start = performance.now();
    const wal = await openWal(dir, { sync: 'always' });
    ms.push(performance.now() - start);
    blocked.push((await stopWatch()).max);
    await wal.close();
  }
  const name = `@wal: Wal.open (${label})`;
  return [summarize(name, 'ms', ms), summarize(name, 'longest event-loop delay ms', blocked)];
}
