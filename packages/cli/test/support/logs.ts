// Fixture logs, written by the real writer, and the damage an operator meets:
// a torn tail, a flipped byte mid-log, a lost segment.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type DecodedRecord, sequencesOf } from '@wal/codec';
import { type BatchOp, nodeFs, type SyncMode, type TailCut, Wal } from '@wal/fs';
import { readFrames, readSegmentInfo, segmentFileName } from '@wal/fs/segments';
import { tempDir as sharedTempDir } from '@wal/test-support';

/** An entry as written: key and value bytes exact (no `value` for a delete). */
export interface Written {
  sequence: number;
  type: 'put' | 'delete';
  key: Uint8Array;
  value?: Uint8Array;
}

/** A temporary directory, removed when the test ends. */
export const tempDir = (): string => sharedTempDir('wal-cli-');

/** The path of segment `n` in `dir`. */
export const segment = (dir: string, n: number): string => path.join(dir, segmentFileName(n));

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

/**
 * A clean log of `count` puts (`key-i` = `value-i`), then a delete, a batch
 * whose put holds every byte value, and a put with an empty key and value.
 * 512-byte segments hold eight puts each, so `count` 40 makes six segments.
 *
 * `sync` 'none' (default) needs no fsync, but then every frame but the close
 * mark says only the header was durable when it was written: in the segment
 * read last, damage the mark does not follow is a torn write by the tail
 * rule. Under 'always' each frame says its predecessors were durable, so
 * damage anywhere but in a segment's last frame is bit rot.
 *
 * The writer preallocates nothing here, so every file ends at its last
 * frame and the helpers below cut or add bytes right after it
 * (free-space.test.ts reads a log with the zeros a writer leaves by default).
 */
export async function writeLog(
  dir: string,
  count = 40,
  sync: SyncMode = 'none',
): Promise<Written[]> {
  const written: Written[] = [];
  const wal = await Wal.open({ dir, maxSegmentBytes: 512, sync, preallocateBytes: 0 });
  const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const [key, value] = [bytes(`key-${i}`), bytes(`value-${i}`)];
    written.push({ sequence: await wal.put(key, value), type: 'put', key, value });
  }
  const gone = bytes('key-3');
  written.push({ sequence: await wal.delete(gone), type: 'delete', key: gone });
  const ops: BatchOp[] = [
    { type: 'put', key: bytes('bin\n"\u00e9'), value: binary },
    { type: 'delete', key: bytes('key-4') },
  ];
  const first = await wal.batch(ops);
  ops.forEach((op, i) => {
    written.push({ sequence: first + i, ...op } as Written);
  });
  const empty = new Uint8Array(0);
  written.push({ sequence: await wal.put(empty, empty), type: 'put', key: empty, value: empty });
  await wal.close();
  return written;
}

/** A fresh directory with a clean log (see {@link writeLog}); returns both. */
export async function cleanLog(
  count?: number,
  sync?: SyncMode,
): Promise<{ dir: string; written: Written[] }> {
  const dir = path.join(tempDir(), 'wal');
  return { dir, written: await writeLog(dir, count, sync) };
}

/** A frame of a fixture segment: where it lies and the sequences it holds. */
export interface FrameAt {
  file: string;
  segment: number;
  offset: number;
  size: number;
  /** `offset + size`. */
  end: number;
  type: DecodedRecord['type'];
  synced: number;
  /** Its first sequence (a seal's or a mark's: its next sequence). */
  first: number;
  /** The sequence after its entries. */
  next: number;
}

/**
 * The frames of segment `n` in `dir`, in file order, as the segment layer
 * reads them: where a test finds offsets, sizes and sequences instead of
 * hard-coding them. The segment must be intact.
 */
export async function framesOf(dir: string, n: number): Promise<FrameAt[]> {
  const file = segment(dir, n);
  const info = await readSegmentInfo(nodeFs, file, n);
  const out: FrameAt[] = [];
  const last = n === segmentNumbers(dir).at(-1);
  for await (const event of readFrames(nodeFs, info, { last })) {
    if (event.kind === 'damage') {
      const { reason, offset } = event.damage;
      throw new Error(`expected ${file} intact, found ${reason} at offset ${offset}`);
    }
    if (event.kind !== 'frames') continue;
    for (const { offset, size, record } of event.frames) {
      const { first, next } = sequencesOf(record);
      const { type, synced } = record;
      out.push({ file, segment: n, offset, size, end: offset + size, type, synced, first, next });
    }
  }
  return out;
}

/** The batch frame of the log in `dir` that holds `sequence`. */
export async function frameOf(dir: string, sequence: number): Promise<FrameAt> {
  for (const n of segmentNumbers(dir)) {
    const found = (await framesOf(dir, n)).find(
      (f) => f.type === 'batch' && f.first <= sequence && sequence < f.next,
    );
    if (found) return found;
  }
  throw new Error(`expected a batch holding sequence ${sequence} in ${dir}`);
}

/** The sequences segment `n`'s batches hold: `first` to `last`, `entries` in all. */
export async function sequencesIn(
  dir: string,
  n: number,
): Promise<{ first: number; last: number; next: number; entries: number; records: number }> {
  const batches = (await framesOf(dir, n)).filter((f) => f.type === 'batch');
  const first = batches[0]?.first as number;
  const next = batches.at(-1)?.next as number;
  return { first, last: next - 1, next, entries: next - first, records: batches.length };
}

/**
 * A large log written fast: `entries` puts of `valueBytes` each, in batches
 * of 64, in 16 MiB segments. Returns the bytes on disk.
 */
export async function writeBulk(dir: string, entries: number, valueBytes: number): Promise<number> {
  const wal = await Wal.open({
    dir,
    sync: 'none',
    maxSegmentBytes: 16 * 1024 * 1024,
    preallocateBytes: 0,
  });
  const value = new Uint8Array(valueBytes).fill(0x76);
  for (let i = 0; i < entries; i += 64) {
    const n = Math.min(64, entries - i);
    await wal.batch(
      Array.from({ length: n }, (_, j) => ({ type: 'put' as const, key: `key-${i + j}`, value })),
    );
  }
  await wal.close();
  return fs.readdirSync(dir).reduce((sum, n) => sum + fs.statSync(path.join(dir, n)).size, 0);
}

/** Segment numbers in `dir`, in order. */
export function segmentNumbers(dir: string): number[] {
  return fs
    .readdirSync(dir)
    .map((n) => /^wal_(\d+)\.log$/.exec(n)?.[1])
    .filter((n) => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Cuts `bytes` off the end of the last segment: a crash mid-write. */
export function tearTail(dir: string, bytes = 5): string {
  const file = segment(dir, segmentNumbers(dir).at(-1) as number);
  fs.truncateSync(file, fs.statSync(file).size - bytes);
  return file;
}

/** Appends `bytes` of garbage to the last segment. */
export function appendGarbage(dir: string, bytes = 20): string {
  const file = segment(dir, segmentNumbers(dir).at(-1) as number);
  fs.appendFileSync(file, Buffer.alloc(bytes, 0x5a));
  return file;
}

/**
 * Appends `bytes` of garbage to the last segment and lets `Wal.open` cut
 * it: returns the cut, whose `keptIn` is the `.broken` copy (the header and
 * the cut bytes at their offsets, zeros between).
 */
export async function setAsideTail(dir: string, bytes = 20): Promise<TailCut> {
  appendGarbage(dir, bytes);
  const wal = await Wal.open({ dir, maxSegmentBytes: 512, preallocateBytes: 0 });
  await wal.close();
  const [cut, ...more] = wal.repairs;
  if (!cut || more.length > 0) throw new Error('expected the open to cut one tail');
  return cut;
}

/** Flips the byte at `offset` of segment `n`. */
export function flipByte(dir: string, n: number, offset: number): string {
  const file = segment(dir, n);
  const data = fs.readFileSync(file);
  data[offset] = (data[offset] as number) ^ 0xff;
  fs.writeFileSync(file, data);
  return file;
}

/**
 * Flips a byte of the stored CRC of frame `index` of segment `n` (default:
 * the second record of segment 1): that frame alone fails its checksum, a
 * region of exactly its bytes. Returns the frame as it was.
 */
export async function flipFrame(dir: string, n = 1, index = 1): Promise<FrameAt> {
  return (await flipFrames(dir, n, [index]))[0] as FrameAt;
}

/** {@link flipFrame} for several frames of one segment. */
export async function flipFrames(dir: string, n: number, indexes: number[]): Promise<FrameAt[]> {
  const frames = await framesOf(dir, n);
  return indexes.map((i) => {
    const frame = frames[i];
    if (!frame) throw new Error(`expected a frame ${i} in segment ${n}`);
    // Bytes 4-7 of a frame are its CRC.
    flipByte(dir, n, frame.offset + 6);
    return frame;
  });
}

/**
 * A crash mid-write at the end of the log: cuts the last segment's close
 * mark and the last `cut` bytes of the batch before it. Returns that batch,
 * and the torn region: from the batch to the new end of the file.
 */
export async function tearLastBatch(
  dir: string,
  cut = 9,
): Promise<{ file: string; batch: FrameAt; offset: number; bytes: number }> {
  const frames = await framesOf(dir, segmentNumbers(dir).at(-1) as number);
  const [batch, mark] = frames.slice(-2) as [FrameAt, FrameAt];
  if (mark.type !== 'mark' || batch.type !== 'batch') throw new Error('expected a closed log');
  const file = tearTail(dir, mark.size + cut);
  return { file, batch, offset: batch.offset, bytes: batch.size - cut };
}

/** Deletes segment `n`: a lost file in the middle of the log. */
export function removeSegment(dir: string, n = 2): string {
  const file = segment(dir, n);
  fs.rmSync(file);
  return file;
}

/** SHA-256 of every file under `dir` (quarantine/ included), by relative path. */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const key = path.relative(dir, full);
    out[key] = entry.isFile()
      ? createHash('sha256').update(fs.readFileSync(full)).digest('hex')
      : 'directory';
  }
  return out;
}
