// Builds v2 logs byte by byte with the codec (independently of the writer),
// and puts entries in a plain form that compares by content.
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_MAX_RECORD_BYTES,
  type DecodedFrame,
  decodeAll,
  decodeSegmentHeader,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  encodeSegmentHeader,
  FRAME_HEADER_SIZE,
  HEADER_SALT_OFFSET,
  isBadSegmentHeader,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  type WalEntry,
  type WalOp,
} from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { segmentFileName } from '@wal/fs/segments';
import { SimFs } from '@wal/fs/testing';
import { type LogScan, type RecoveryMode, type RepairResult, repair } from '@wal/recovery';
import { tempDir as sharedTempDir, utf8 } from '@wal/test-support';
import { expect } from 'vitest';

export const MODES: readonly RecoveryMode[] = [
  'strict',
  'tolerate-tail',
  'point-in-time',
  'skip-corrupted',
];

/** The unit in which a power loss may zero unsynced data (as SimFs models it). */
export const SECTOR_SIZE = 512;

/** The log id of every built log (16 lowercase hex digits). */
export const LOG_ID = 'a1b2c3d4e5f60718';

/** A fixed salt per segment number, so built logs are reproducible. */
export const saltOf = (segment: number): number => (Math.imul(segment + 1, 0x9e3779b1) | 1) >>> 0;

export { utf8 };
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const put = (key: string, value: string | Uint8Array): WalOp => ({
  type: 'put',
  key: utf8(key),
  value: typeof value === 'string' ? utf8(value) : value,
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

/**
 * Each frame's `synced` watermark: `'each'` (default) as a writer with
 * `sync: 'always'` leaves it (every frame written once all before it were
 * durable: its own offset), `'none'` as one that never synced (the header
 * only), or `{ groups }`: the frames went out in write groups of these
 * sizes, each synced before the next was written (every frame of a group
 * carries the group's start).
 */
export type SyncedSpec = 'each' | 'none' | { groups: readonly number[] };

/** A hole record, as repair writes one: `count` sequences lost, kept in incident `incident`. */
export interface HoleSpec {
  hole: number;
  incident?: number;
}

/** One segment to build: batches of ops; number and first sequence default to contiguous. */
export interface SegmentSpec {
  batches: (WalOp[] | HoleSpec)[];
  segment?: number;
  firstSequence?: number;
  salt?: number;
  logId?: string;
  maxRecordBytes?: number;
  synced?: SyncedSpec;
  /** Ends with a seal. Default: every segment but the last (as the writer rotates). */
  sealed?: boolean;
  /** Ends with a mark, as a clean close leaves the last segment. Default false. */
  mark?: boolean;
}

export interface BuiltFrame {
  offset: number;
  size: number;
  /** The `synced` watermark it was written with. */
  synced: number;
  entries: Plain[];
}

export interface BuiltSegment {
  segment: number;
  file: string;
  header: SegmentHeader;
  firstSequence: number;
  /** The sequence after its last entry. */
  nextSequence: number;
  bytes: Uint8Array;
  /** Its batch frames, in order. */
  frames: BuiltFrame[];
  /** Offset of its seal frame, or null. */
  sealAt: number | null;
  /** Offset of its trailing mark frame, or null. */
  markAt: number | null;
  /** Its hole frames, in order. */
  holes: { offset: number; size: number; firstSequence: number; nextSequence: number }[];
}

export interface BuiltLog {
  dir: string;
  segments: BuiltSegment[];
  /** Every entry, in order. */
  entries: Plain[];
}

function entriesOf(sequence: number, ops: readonly WalOp[]): Plain[] {
  return ops.map((op, i) =>
    plain(
      op.type === 'put'
        ? { sequence: sequence + i, type: 'put', key: op.key, value: op.value }
        : { sequence: sequence + i, type: 'delete', key: op.key },
    ),
  );
}

/** Encodes a log as the writer lays it out: contiguous numbers and sequences, sealed rotations. */
export function buildLog(
  dir: string,
  specs: ((WalOp[] | HoleSpec)[] | SegmentSpec)[],
  start = { segment: 0, sequence: 0 },
): BuiltLog {
  let segment = start.segment;
  let sequence = start.sequence;
  const segments = specs.map((s, index): BuiltSegment => {
    const spec: SegmentSpec = Array.isArray(s) ? { batches: s } : s;
    segment = spec.segment ?? segment;
    sequence = spec.firstSequence ?? sequence;
    const header: SegmentHeader = {
      segment,
      firstSequence: sequence,
      salt: spec.salt ?? saltOf(segment),
      maxRecordBytes: spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      logId: spec.logId ?? LOG_ID,
    };
    const parts: Uint8Array[] = [encodeSegmentHeader(header)];
    const frames: BuiltFrame[] = [];
    const holes: BuiltSegment['holes'] = [];
    let offset = SEGMENT_HEADER_SIZE;
    const syncedSpec = spec.synced ?? 'each';
    const groupStarts = new Set<number>();
    if (typeof syncedSpec === 'object') {
      let at = 0;
      for (const n of syncedSpec.groups) {
        groupStarts.add(at);
        at += n;
      }
    }
    let groupStart = SEGMENT_HEADER_SIZE;
    spec.batches.forEach((ops, i) => {
      if (groupStarts.has(i)) groupStart = offset;
      const synced =
        syncedSpec === 'each' ? offset : syncedSpec === 'none' ? SEGMENT_HEADER_SIZE : groupStart;
      if (!Array.isArray(ops)) {
        const hole = {
          firstSequence: sequence,
          nextSequence: sequence + ops.hole,
          incident: ops.incident ?? 1,
        };
        const frame = encodeHoleFrame({ salt: header.salt, synced }, hole);
        holes.push({ offset, size: frame.length, ...hole });
        parts.push(frame);
        offset += frame.length;
        sequence += ops.hole;
        return;
      }
      const frame = encodeBatchFrame(
        { salt: header.salt, synced },
        sequence,
        ops,
        header.maxRecordBytes,
      );
      frames.push({ offset, size: frame.length, synced, entries: entriesOf(sequence, ops) });
      parts.push(frame);
      offset += frame.length;
      sequence += ops.length;
    });
    let markAt: number | null = null;
    if (spec.mark) {
      const mark = encodeMarkFrame({ salt: header.salt, synced: offset }, sequence);
      markAt = offset;
      parts.push(mark);
      offset += mark.length;
    }
    let sealAt: number | null = null;
    if (spec.sealed ?? index < specs.length - 1) {
      sealAt = offset;
      const seal = encodeSealFrame(
        { salt: header.salt, synced: offset },
        {
          nextSequence: sequence,
          records: frames.length + holes.length,
          bytes: offset + SEAL_FRAME_SIZE,
        },
      );
      parts.push(seal);
    }
    const file = path.join(dir, segmentFileName(segment));
    segment++;
    return {
      segment: segment - 1,
      file,
      header,
      firstSequence: header.firstSequence,
      nextSequence: sequence,
      bytes: concat(parts),
      frames,
      sealAt,
      markAt,
      holes,
    };
  });
  return { dir, segments, entries: segments.flatMap((s) => s.frames.flatMap((f) => f.entries)) };
}

/** Writes a built log's segments durably (to disk by default, or into a SimFs). */
export async function writeLog(log: BuiltLog, sim?: SimFs): Promise<void> {
  if (sim) {
    await sim.mkdirp(log.dir);
    for (const s of log.segments) sim.writeFile(s.file, s.bytes);
    sim.syncAll();
  } else {
    fs.mkdirSync(log.dir, { recursive: true });
    for (const s of log.segments) fs.writeFileSync(s.file, s.bytes);
  }
}

/** A log in a fresh SimFs under /wal. */
export async function simLog(
  specs: ((WalOp[] | HoleSpec)[] | SegmentSpec)[],
): Promise<{ sim: SimFs; log: BuiltLog }> {
  const sim = new SimFs();
  const log = buildLog('/wal', specs);
  await writeLog(log, sim);
  return { sim, log };
}

/**
 * Segments of 2, 3 and 4 puts in /wal, the last one's magic, salt and first
 * frame's length rotted: no frame of it reads under any salt, so repair
 * needs a floor to go on.
 */
export async function simLogUnreadableLast(): Promise<{
  sim: SimFs;
  log: BuiltLog;
  last: BuiltSegment;
}> {
  const { sim, log } = await simLog([puts(2), puts(3), puts(4)]);
  const last = log.segments.at(-1);
  if (!last) throw new Error('fixture');
  let bytes = flip(last.bytes, 0);
  bytes = flip(bytes, HEADER_SALT_OFFSET);
  bytes = flip(bytes, SEGMENT_HEADER_SIZE, 0x40);
  sim.writeFile(last.file, bytes);
  return { sim, log, last };
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
export const tempDir = (): string => sharedTempDir('wal-recovery-');

/** A copy of `bytes` with `fn` applied. */
export function edit(bytes: Uint8Array, fn: (b: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  fn(copy);
  return copy;
}

/** A copy of `bytes` with the bits of `mask` flipped at `at`. */
export function flip(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  return edit(bytes, (b) => {
    b[at] = (b[at] as number) ^ mask;
  });
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * The header and every frame of a whole segment file (as the writer wrote
 * it, say). Zeros after the last frame to the end of the file are the
 * writer's preallocated free space, not damage.
 */
export function framesOf(bytes: Uint8Array): { header: SegmentHeader; frames: DecodedFrame[] } {
  const header = decodeSegmentHeader(bytes);
  if (isBadSegmentHeader(header)) throw new Error(`fixture: ${header.detail}`);
  const results = decodeAll(bytes.subarray(SEGMENT_HEADER_SIZE), {
    salt: header.salt,
    firstSequence: header.firstSequence,
    maxRecordBytes: header.maxRecordBytes,
  });
  const frames = results.filter((r): r is DecodedFrame => r.kind === 'frame');
  const last = frames.at(-1);
  const dataEnd = last ? last.offset + last.size : SEGMENT_HEADER_SIZE;
  if (results.at(-1)?.kind === 'damage' && bytes.subarray(dataEnd).every((b) => b === 0)) {
    results.pop();
  }
  if (frames.length !== results.length) throw new Error('fixture: the segment is damaged');
  return { header, frames };
}

/** The batch frames of a segment file, as {@link framesOf} decodes them. */
export function batchFramesOf(bytes: Uint8Array): DecodedFrame[] {
  return framesOf(bytes).frames.filter((f) => f.record.type === 'batch');
}

/**
 * A WalFs that passes through to `inner` and lets a test act before each
 * call (awaited: a racing writer takes its step there).
 */
export function hookedFs(
  inner: WalFs,
  before: (op: keyof WalFs, args: unknown[]) => void | Promise<void>,
): WalFs {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await before(prop as keyof WalFs, args);
        return value.apply(target, args);
      };
    },
  });
}

export { FRAME_HEADER_SIZE, SEAL_FRAME_SIZE, SEGMENT_HEADER_SIZE };

// A repair, or its refusal when nothing reads in the last segment (no safe
// next sequence without a floor): then it names that segment, the highest
// numbered file, and every file is as it was.
export async function repairOrRefused(sim: SimFs): Promise<RepairResult | null> {
  const names = (await sim.readdir('/wal')).sort();
  const before = names.map((n) => Buffer.from(sim.readFile(`/wal/${n}`)).toString('hex'));
  try {
    return await repair('/wal', { fs: sim });
  } catch (error) {
    const e = error as { code?: string; file?: string; message: string };
    if (e.code !== 'WAL_CORRUPTION' || !/found no readable frame under any salt/.test(e.message))
      throw error;
    const segments = names.filter((n) => /^wal_\d+\.log$/.test(n));
    expect((e.file ?? '').split('/').at(-1)).toBe(segments.at(-1));
    expect((await sim.readdir('/wal')).sort()).toEqual(names);
    const after = names.map((n) => Buffer.from(sim.readFile(`/wal/${n}`)).toString('hex'));
    expect(after).toEqual(before);
    return null;
  }
}
