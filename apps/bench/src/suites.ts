/**
 * The bench's groups of cases, in run order. Each returns its rows, with the
 * baseline each row is compared against in the same run.
 */

import { codecThroughput } from './cases/codec.js';
import { crcThroughput, frameCheckCost } from './cases/crc.js';
import { classicLevel, sqlite } from './cases/peers-durable.js';
import {
  fdatasyncAfterWrite,
  naiveWal,
  rawFdatasync,
  rawFdatasyncCallbacks,
  sequentialRead,
  writevBandwidth,
} from './cases/physical.js';
import {
  type LogSize,
  openTime,
  type Reader,
  readerName,
  readPath,
  writeLog,
} from './cases/read-path.js';
import { walWrites } from './cases/wal-writes.js';
import { interleave, removeDir, type SliceCase, tempDir } from './harness.js';
import type { Row } from './report.js';
import type { TargetLogs } from './targets.js';
import { segmentPaths } from './wal-api.js';

export interface Settings {
  quick: boolean;
  rounds: number;
  sliceMs: number;
  log: (line: string) => void;
}

/** Sets `baseline` on every row that has a baseline row in its own unit. */
function against(results: Row[], baseline: string): Row[] {
  return results.map((r) =>
    r.name !== baseline && results.some((b) => b.name === baseline && b.unit === r.unit)
      ? { ...r, baseline }
      : r,
  );
}

/** The same case, with its event-loop delay reported. */
const watched = (c: SliceCase): SliceCase => ({ ...c, watchLoop: true });

/** Durable and buffered writes, interleaved in slices, for 100 B and 1 KiB values. */
export async function writeSuite({ rounds, sliceMs, log }: Settings): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of [100, 1024]) {
    const raw = rawFdatasync(size);
    const durable: SliceCase[] = [
      raw,
      watched(rawFdatasyncCallbacks(size)),
      naiveWal(size, true),
      ...[1, 16, 256].map((n) => watched(classicLevel(size, { concurrency: n, sync: true }))),
      classicLevel(size, { concurrency: 1, sync: true, batch: 100 }),
      sqlite(size, { synchronous: 'FULL', transaction: 1 }),
      sqlite(size, { synchronous: 'NORMAL', transaction: 1 }),
      sqlite(size, { synchronous: 'FULL', transaction: 100 }),
      ...[1, 16, 256].map((n) => watched(walWrites(size, { concurrency: n, sync: 'always' }))),
      walWrites(size, { concurrency: 1, sync: 'always', batch: 100 }),
      // The fdatasync limits do not depend on the value size: measured once.
      ...(size === 100 ? [fdatasyncAfterWrite('append'), fdatasyncAfterWrite('overwrite')] : []),
    ];
    log(`durable writes, ${size} B values (${durable.length} cases interleaved)`);
    rows.push(...against(await interleave(durable, rounds, sliceMs, log), raw.name));

    const naive = naiveWal(size, false);
    const buffered: SliceCase[] = [
      naive,
      classicLevel(size, { concurrency: 64, sync: false }),
      walWrites(size, { concurrency: 256, sync: 'interval' }),
      walWrites(size, { concurrency: 256, sync: 'none' }),
    ];
    log(`buffered writes, ${size} B values`);
    rows.push(...against(await interleave(buffered, rounds, sliceMs, log), naive.name));
  }
  return rows;
}

/** Write bandwidth, the codec alone, and the CRC-32 study's table. */
export async function codecSuite({ quick, rounds, log }: Settings): Promise<Row[]> {
  log('bandwidth, codec and CRC-32');
  const rows: Row[] = [await writevBandwidth(rounds, quick ? 64e6 : 256e6)];
  for (const size of [100, 1024])
    rows.push(...(await codecThroughput(size, quick ? 50_000 : 200_000, rounds)));
  rows.push(...crcThroughput(rounds, quick ? 2 << 20 : 8 << 20), ...frameCheckCost(100, rounds));
  return rows;
}

/** The logs the read path writes; their labels name the rows and the targets. */
export function readLogs(quick: boolean) {
  const mib = quick ? 64 : 256;
  // 1 GiB in 64 full segments of 16 MiB, as issue 15 asks; 8 in a quick run.
  const segments = quick ? 8 : 64;
  const segmentBytes = 16 << 20;
  const size = (m: number) => (m >= 1024 ? `${m / 1024} GiB` : `${m} MiB`);
  const labels: TargetLogs = {
    small: `100 B values, ${size(mib)} log`,
    large: `1 KiB values, ${size(mib)} log`,
    big: `100 B values, ${size(segments * 16)} log of ${segments} segments`,
  };
  return { mib, segments, segmentBytes, labels };
}

/**
 * The read path, each reader in a child process: scan, the naive reader and
 * replay on a 100 B and a 1 KiB log, and replay's copy floor on the 100 B
 * one; scan alone and `Wal.open` on the big 64-segment log. Beside each, the
 * sequential read of the same files.
 */
export async function readSuite({ quick, rounds, log }: Settings): Promise<Row[]> {
  const { mib, segments, segmentBytes, labels } = readLogs(quick);
  // Each round re-reads every log in a child per reader: three rounds keep the run short.
  const readRounds = Math.min(rounds, 3);
  const rows: Row[] = [];
  const logs: {
    label: string;
    value: number;
    size: LogSize;
    readers: Exclude<Reader, 'baseline'>[];
  }[] = [
    {
      label: labels.small,
      value: 100,
      size: { mib },
      readers: ['scan', 'scan-entries', 'naive', 'replay', 'copy-floor'],
    },
    {
      label: labels.large,
      value: 1024,
      size: { mib },
      readers: ['scan', 'scan-entries', 'naive', 'replay'],
    },
    { label: labels.big, value: 100, size: { segments, segmentBytes }, readers: ['scan'] },
  ];
  for (const spec of logs) {
    const dir = tempDir('log');
    try {
      log(`read path: writing the ${spec.label}`);
      await writeLog(dir, spec.value, spec.size);
      rows.push(await sequentialRead(rounds, await segmentPaths(dir), spec.label));
      log(`read path: ${spec.readers.join(', ')} (child processes)`);
      const results = readPath(dir, spec.label, readRounds, spec.readers);
      const naive = readerName('naive', spec.label);
      // Readers read against the naive one; the copy floor, a bound on replay, against the scan.
      const floor = readerName('copy-floor', spec.label);
      const scan = readerName('scan', spec.label);
      const baselineOf = (name: string) =>
        name === naive ? undefined : name === floor ? scan : naive;
      rows.push(
        ...results.map((r) => {
          const baseline = r.unit === 'peak RSS MiB' ? undefined : baselineOf(r.name);
          return baseline && results.some((x) => x.name === baseline && x.unit === r.unit)
            ? { ...r, baseline }
            : r;
        }),
      );
      if ('segments' in spec.size) {
        log('read path: Wal.open');
        rows.push(...(await openTime(dir, spec.label, rounds)));
      }
    } finally {
      removeDir(dir);
    }
  }
  return rows;
}
