// Shared fixtures for the @wal/fs tests: temporary directories, a Wal that is
// closed when the test ends, a reader that decodes segment files with the
// codec alone (not @wal/recovery, not the writer's own segment layer), so
// the tests check what is on disk, and a builder for crafted segments.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_MAX_RECORD_BYTES,
  type DecodedRecord,
  type DecodeResult,
  decodeSegmentHeader,
  encodeBatchFrame,
  encodeMarkFrame,
  encodeSealFrame,
  encodeSegmentHeader,
  FrameDecoder,
  isBadSegmentHeader,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  type WalOp,
} from '@wal/codec';
import { Wal, type WalOptions } from '@wal/fs';
import { parseSegmentFileName, segmentFileName } from '@wal/fs/segments';
import { SimFs } from '@wal/fs/testing';
import { tempDir as sharedTempDir, text, utf8 } from '@wal/test-support';
import { expect, onTestFinished } from 'vitest';

export { text, utf8 };

/**
 * The parts joined into a new Uint8Array (not a Buffer: `SimFs.writeFile`
 * must be given bytes that nothing else shares, see sim-fs-scene.test.ts).
 */
export const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** A fresh directory, removed when the test ends. */
export const tempDir = (): string => sharedTempDir('wal-fs-test-');

/** Opens a Wal and closes it when the test ends (closing twice is a no-op). */
export async function openWal(options: string | WalOptions): Promise<Wal> {
  const wal = await Wal.open(options);
  onTestFinished(() => wal.close().catch(() => undefined));
  return wal;
}

/** Where segment files are read from: the real disk, or a SimFs as its process sees it. */
export interface Disk {
  names(dir: string): string[];
  read(file: string): Uint8Array;
}

export const realDisk: Disk = {
  names: (dir) => fs.readdirSync(dir),
  read: (file) => new Uint8Array(fs.readFileSync(file)),
};

export function simDisk(sim: SimFs): Disk {
  return {
    names: (dir) =>
      [...sim.snapshot().keys()]
        .filter((p) => path.posix.dirname(p) === dir)
        .map((p) => path.posix.basename(p)),
    read: (file) => sim.readFile(file),
  };
}

/** An entry as read back from disk, with key and value as strings. */
export interface Entry {
  sequence: number;
  type: 'put' | 'delete';
  key: string;
  value?: string;
}

/** One segment file decoded: its header and every frame or damage in it. */
export interface DecodedSegment {
  name: string;
  file: string;
  segment: number;
  size: number;
  /** Where its frames end: `size`, or less when free space follows them. */
  dataEnd: number;
  header: SegmentHeader;
  results: DecodeResult[];
}

/** Paths of the segment files in `dir`, by number. */
export function segmentFiles(dir: string, disk: Disk = realDisk): string[] {
  return disk
    .names(dir)
    .map((name) => ({ name, n: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; n: number } => s.n !== undefined)
    .sort((a, b) => a.n - b.n)
    .map((s) => path.join(dir, s.name));
}

/** Names of the segment files in `dir`, by number. */
export function segmentNames(dir: string, disk: Disk = realDisk): string[] {
  return segmentFiles(dir, disk).map((f) => path.basename(f));
}

/** Path of segment `n` in `dir`. */
export const segmentFile = (dir: string, n: number): string => path.join(dir, segmentFileName(n));

/**
 * Decodes every segment file in `dir` with the codec's FrameDecoder, each
 * with its own header's salt, first sequence and record limit. In the last
 * segment, zeros from the end of the last frame to the end of the file are
 * free space (the writer preallocates): they are left out of `results`, and
 * `dataEnd` says where the frames end.
 */
export function readSegments(dir: string, disk: Disk = realDisk): DecodedSegment[] {
  const files = segmentFiles(dir, disk);
  return files.map((file, i) => {
    const name = path.basename(file);
    const bytes = disk.read(file);
    const header = decodeSegmentHeader(bytes);
    if (isBadSegmentHeader(header)) throw new Error(`${name}: ${header.detail}`);
    const decoder = new FrameDecoder({
      salt: header.salt,
      firstSequence: header.firstSequence,
      maxRecordBytes: header.maxRecordBytes,
    });
    decoder.push(bytes.subarray(SEGMENT_HEADER_SIZE));
    decoder.end();
    const results = [...decoder];
    const last = results.at(-1);
    const frameEnd = (r: DecodeResult | undefined) =>
      r?.kind === 'frame' ? r.offset + r.size : SEGMENT_HEADER_SIZE;
    let dataEnd = bytes.length;
    if (i === files.length - 1 && last?.kind === 'damage') {
      const from = frameEnd(results.at(-2));
      if (last.offset === from && bytes.subarray(from).every((b) => b === 0)) {
        results.pop();
        dataEnd = from;
      }
    }
    const segment = parseSegmentFileName(name) as number;
    return { name, file, segment, size: bytes.length, dataEnd, header, results };
  });
}

/** The accepted frames of a decoded segment (fails the test on damage). */
export function framesOf(
  segment: DecodedSegment | undefined,
): (DecodedRecord & { offset: number; end: number })[] {
  if (!segment) throw new Error('expected a segment, found none');
  return segment.results.map((r) => {
    if (r.kind === 'damage') {
      throw new Error(`${segment.name} at ${r.offset}: ${r.reason} ${r.detail}`);
    }
    return { ...r.record, offset: r.offset, end: r.offset + r.size };
  });
}

/**
 * Every entry of every segment, in file order. Fails the test on any damage
 * and on any break in the chain: numbers contiguous, one log id, every
 * segment but the last ends with a seal that gives its size, and each
 * segment starts where the one before ends.
 */
export function readEntries(dir: string, disk: Disk = realDisk): Entry[] {
  const entries: Entry[] = [];
  const segments = readSegments(dir, disk);
  segments.forEach((segment, i) => {
    const where = `${segment.name} of ${segments.map((s) => s.name).join(', ')}`;
    expect(segment.header.segment, where).toBe(segment.segment);
    const previous = segments[i - 1];
    if (previous) {
      expect(segment.segment, where).toBe(previous.segment + 1);
      expect(segment.header.logId, where).toBe(previous.header.logId);
    }
    const frames = framesOf(segment);
    const last = frames.at(-1);
    if (i < segments.length - 1) {
      expect(last?.type, `${where}: sealed`).toBe('seal');
      if (last?.type === 'seal') {
        expect(last.bytes, where).toBe(segment.size);
        expect(segments[i + 1]?.header.firstSequence, where).toBe(last.nextSequence);
      }
    }
    for (const frame of frames) {
      if (frame.type !== 'batch') continue;
      for (const e of frame.entries) {
        entries.push(
          e.type === 'put'
            ? { sequence: e.sequence, type: 'put', key: text(e.key), value: text(e.value) }
            : { sequence: e.sequence, type: 'delete', key: text(e.key) },
        );
      }
    }
  });
  return entries;
}

/** The batch records of every segment: segment name, first sequence and op count. */
export function readRecords(
  dir: string,
  disk: Disk = realDisk,
): { segment: string; first: number; count: number }[] {
  return readSegments(dir, disk).flatMap((s) =>
    framesOf(s).flatMap((f) =>
      f.type === 'batch'
        ? [{ segment: s.name, first: f.firstSequence, count: f.entries.length }]
        : [],
    ),
  );
}

/** Offsets of the batch frames in a decoded segment. */
export function batchOffsets(segment: DecodedSegment | undefined): number[] {
  return segment ? framesOf(segment).flatMap((f) => (f.type === 'batch' ? [f.offset] : [])) : [];
}

/** Name -> SHA-256 of every file in `dir` (recursively), to prove nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isFile()) {
      out[name] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
  }
  return out;
}

/** Inverts the bits of `mask` in the byte at `offset` of `file`. */
export function flipByte(file: string, offset: number, mask = 0x04): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = (bytes[offset] as number) ^ mask;
  fs.writeFileSync(file, bytes);
}

/** `count` puts `k<i>` = `v<i>` starting at index `from`, as entries. */
export function puts(count: number, from = 0): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    sequence: from + i,
    type: 'put' as const,
    key: `k${from + i}`,
    value: `v${from + i}`,
  }));
}

/** Appends `entries` one put at a time (concurrently) and checks their sequences. */
export async function append(wal: Wal, entries: readonly Entry[]): Promise<void> {
  const sequences = await Promise.all(
    entries.map((e) => (e.type === 'put' ? wal.put(e.key, e.value ?? '') : wal.delete(e.key))),
  );
  expect(sequences).toEqual(entries.map((e) => e.sequence));
}

/** Asserts `promise` rejects with a WalError of `code`, and returns the error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string; cause?: unknown }> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}, found a resolution`);
    },
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code });
  return error as Error & { code: string; cause?: unknown };
}

/** The errno code at the bottom of an error's cause chain. */
export function rootCode(error: unknown): unknown {
  let e = error as { cause?: unknown; code?: unknown };
  while (e.cause && !(e.cause instanceof AggregateError)) e = e.cause as typeof e;
  return e.code;
}

/**
 * Lets queued jobs and file-system callbacks run until `done()` holds, for
 * at most 10 s. Polls with setImmediate, so it works under fake timers.
 */
export async function until(done: () => boolean, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within 10 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A random log id, as the writer makes them. */
export const newLogId = (): string => randomBytes(8).toString('hex');

/** A segment header with defaults for what a test does not care about. */
export function headerOf(fields: Partial<SegmentHeader> = {}): SegmentHeader {
  return {
    segment: 0,
    firstSequence: 0,
    salt: randomBytes(4).readUInt32LE(0),
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    logId: newLogId(),
    ...fields,
  };
}

/** A frame laid out by {@link SegmentBuilder}. */
export interface BuiltFrame {
  type: 'batch' | 'mark' | 'seal';
  offset: number;
  end: number;
  synced: number;
  /** Sequences it covers: [first, next). */
  first: number;
  next: number;
}

/**
 * Lays out a segment frame by frame, as a writer would, with the `synced`
 * watermark of each frame chosen by the test: by default the frame's own
 * offset (everything before it durable, as `sync: 'always'` writes), or
 * `'header'` (nothing synced since the segment was created), or a number.
 */
export class SegmentBuilder {
  readonly header: SegmentHeader;
  readonly frames: BuiltFrame[] = [];
  #parts: Uint8Array[];
  #size = SEGMENT_HEADER_SIZE;
  #next: number;
  #records = 0;

  constructor(header: SegmentHeader) {
    this.header = header;
    this.#parts = [encodeSegmentHeader(header)];
    this.#next = header.firstSequence;
  }

  get size(): number {
    return this.#size;
  }

  get nextSequence(): number {
    return this.#next;
  }

  batch(ops: WalOp[], synced: number | 'header' | 'here' = 'here'): this {
    const context = this.#context(synced);
    const frame = encodeBatchFrame(context, this.#next, ops, this.header.maxRecordBytes);
    this.#records++;
    return this.#add('batch', frame, context.synced, this.#next + ops.length);
  }

  put(key: string, value: string | Uint8Array, synced?: number | 'header' | 'here'): this {
    const v = typeof value === 'string' ? utf8(value) : value;
    return this.batch([{ type: 'put', key: utf8(key), value: v }], synced);
  }

  mark(synced: number | 'header' | 'here' = 'here'): this {
    const context = this.#context(synced);
    return this.#add('mark', encodeMarkFrame(context, this.#next), context.synced, this.#next);
  }

  seal(synced: number | 'header' | 'here' = 'here'): this {
    const context = this.#context(synced);
    const seal = {
      nextSequence: this.#next,
      records: this.#records,
      bytes: this.#size + SEAL_FRAME_SIZE,
    };
    return this.#add('seal', encodeSealFrame(context, seal), context.synced, this.#next);
  }

  /** The segment's bytes. */
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.#parts));
  }

  #context(synced: number | 'header' | 'here') {
    const value =
      synced === 'here' ? this.#size : synced === 'header' ? SEGMENT_HEADER_SIZE : synced;
    return { salt: this.header.salt, synced: value };
  }

  #add(type: BuiltFrame['type'], frame: Uint8Array, synced: number, next: number): this {
    const offset = this.#size;
    this.frames.push({ type, offset, end: offset + frame.length, synced, first: this.#next, next });
    this.#parts.push(frame);
    this.#size += frame.length;
    this.#next = next;
    return this;
  }
}

/** True for a write of zeros only: the writer preallocating, not frames. */
export const isZeros = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);

/**
 * A SimFs whose fdatasyncs wait, while `hold` is set, until the test
 * releases them one by one. It records every write of frames (not the
 * zeros the writer preallocates) and, per file, where the frames written
 * before a completed fdatasync was called end: what it made durable.
 */
export class GatedFs extends SimFs {
  hold = false;
  readonly waiting: (() => void)[] = [];
  readonly durable = new Map<number, number>();
  readonly writes: { fd: number; position: number; length: number }[] = [];
  readonly #written = new Map<number, number>();

  override async fdatasync(fd: number): Promise<void> {
    const written = this.#written.get(fd) ?? 0;
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    await super.fdatasync(fd);
    this.durable.set(fd, Math.max(this.durable.get(fd) ?? 0, written));
  }

  // The sync of a write on a durable handle ('r+dsync') is held the same way.
  protected override async syncWritten(
    fd: number,
    position: number,
    bytes: Uint8Array,
  ): Promise<void> {
    const written = this.#written.get(fd) ?? 0;
    if (this.hold && !isZeros(bytes)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    await super.syncWritten(fd, position, bytes);
    this.durable.set(fd, Math.max(this.durable.get(fd) ?? 0, written));
  }

  override write(fd: number, buffer: Uint8Array, position: number): Promise<number> {
    if (!isZeros(buffer)) {
      this.writes.push({ fd, position, length: buffer.length });
      const end = position + buffer.length;
      this.#written.set(fd, Math.max(this.#written.get(fd) ?? 0, end));
    }
    return super.write(fd, buffer, position);
  }

  release(): void {
    (this.waiting.shift() as () => void)();
  }
}

/**
 * What open keeps in `.broken` when it cuts `segment` at `cutAt`: the header
 * and the cut bytes at their own offsets, zeros between.
 */
export function brokenCopy(segment: Uint8Array, cutAt: number): Buffer {
  const copy = Buffer.from(segment);
  copy.fill(0, SEGMENT_HEADER_SIZE, cutAt);
  return copy;
}
