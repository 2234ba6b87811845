// Builds logs byte by byte with the codec (independently of the writer), and
// puts entries in a plain form that compares by content.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  encodeRecord,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
  type WalEntry,
  type WalOp,
} from '@wal/codec';
import { segmentFileName, type WalFs } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import type { LogScan, RecoveryMode } from '@wal/recovery';
import { onTestFinished } from 'vitest';

export const MODES: readonly RecoveryMode[] = [
  'strict',
  'tolerate-tail',
  'point-in-time',
  'skip-corrupted',
];

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const put = (key: string, value: string): WalOp => ({
  type: 'put',
  key: utf8(key),
  value: utf8(value),
});
export const del = (key: string): WalOp => ({ type: 'delete', key: utf8(key) });

/** An entry by content: key and value as hex; no `value` key for a delete. */
export interface Plain {
  sequence: number;
  type: 'put' | 'delete';
  key: string;
  value?: string;
}

export function plain(e: WalEntry): Plain {
  return e.type === 'put'
    ? { sequence: e.sequence, type: 'put', key: hex(e.key), value: hex(e.value) }
    : { sequence: e.sequence, type: 'delete', key: hex(e.key) };
}

/** One segment to build: batches of ops; number and first sequence default to contiguous. */
export interface SegmentSpec {
  batches: WalOp[][];
  segmentNumber?: number;
  firstSequence?: number;
}

export interface BuiltFrame {
  offset: number;
  size: number;
  entries: Plain[];
}

export interface BuiltSegment {
  segmentNumber: number;
  file: string;
  firstSequence: number;
  bytes: Uint8Array;
  frames: BuiltFrame[];
}

export interface BuiltLog {
  dir: string;
  segments: BuiltSegment[];
  /** Every entry, in order. */
  entries: Plain[];
}

/** Encodes a log as the writer would lay it out: contiguous numbers and sequences. */
export function buildLog(
  dir: string,
  specs: (WalOp[][] | SegmentSpec)[],
  start = { segmentNumber: 0, sequence: 0 },
): BuiltLog {
  let segmentNumber = start.segmentNumber;
  let sequence = start.sequence;
  const segments = specs.map((s): BuiltSegment => {
    const spec = Array.isArray(s) ? { batches: s } : s;
    segmentNumber = spec.segmentNumber ?? segmentNumber;
    sequence = spec.firstSequence ?? sequence;
    const header = encodeSegmentHeader({ segmentNumber, firstSequence: sequence });
    const parts: Uint8Array[] = [header];
    const frames: BuiltFrame[] = [];
    let offset = SEGMENT_HEADER_SIZE;
    const firstSequence = sequence;
    for (const ops of spec.batches) {
      const frame = encodeRecord(sequence, ops);
      const entries = ops.map((op, i) =>
        plain(
          op.type === 'put'
            ? { sequence: sequence + i, type: 'put', key: op.key, value: op.value }
            : { sequence: sequence + i, type: 'delete', key: op.key },
        ),
      );
      frames.push({ offset, size: frame.length, entries });
      parts.push(frame);
      offset += frame.length;
      sequence += ops.length;
    }
    const file = path.join(dir, segmentFileName(segmentNumber));
    segmentNumber++;
    return { segmentNumber: segmentNumber - 1, file, firstSequence, bytes: concat(parts), frames };
  });
  return { dir, segments, entries: segments.flatMap((s) => s.frames.flatMap((f) => f.entries)) };
}

/** Writes a built log's segments (to disk by default, or into a SimFs). */
export function writeLog(log: BuiltLog, sim?: SimFs): void {
  if (sim) {
    sim.mkdirp(log.dir);
    for (const s of log.segments) sim.writeFile(s.file, s.bytes);
    sim.syncAll();
  } else {
    fs.mkdirSync(log.dir, { recursive: true });
    for (const s of log.segments) fs.writeFileSync(s.file, s.bytes);
  }
}

/** A log in a fresh SimFs under /wal. */
export function simLog(specs: (WalOp[][] | SegmentSpec)[]): { sim: SimFs; log: BuiltLog } {
  const sim = new SimFs();
  const log = buildLog('/wal', specs);
  writeLog(log, sim);
  return { sim, log };
}

/** `count` batches of one put each, value `size` bytes. */
export function puts(count: number, size = 8, prefix = 'k'): WalOp[][] {
  return Array.from({ length: count }, (_, i) => [
    put(`${prefix}${i}`, `v${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26)))),
  ]);
}

/** Iterates a scan to its end, keeping the entries and the error it threw, if any. */
export async function collect(scan: LogScan): Promise<{ entries: Plain[]; error: unknown }> {
  const entries: Plain[] = [];
  try {
    for await (const e of scan) entries.push(plain(e));
  } catch (error) {
    return { entries, error };
  }
  return { entries, error: undefined };
}

/** Entries of the frames before `(segment, frame)`, in log order. */
export function entriesBefore(log: BuiltLog, segment: number, frame: number): Plain[] {
  return log.segments.flatMap((s, i) =>
    i < segment
      ? s.frames.flatMap((f) => f.entries)
      : i === segment
        ? s.frames.slice(0, frame).flatMap((f) => f.entries)
        : [],
  );
}

/** A temporary directory, removed when the test ends. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-recovery-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of `bytes` with `fn` applied. */
export function edit(bytes: Uint8Array, fn: (b: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  fn(copy);
  return copy;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A WalFs that passes through to `inner` and lets a test hook calls. */
export function hookedFs(inner: WalFs, before: (op: keyof WalFs, args: unknown[]) => void): WalFs {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        before(prop as keyof WalFs, args);
        return value.apply(target, args);
      };
    },
  });
}

export { FRAME_HEADER_SIZE, SEGMENT_HEADER_SIZE };
