// Fixture logs, written by the real writer, and the damage an operator meets:
// a torn tail, a flipped byte mid-log, a lost segment.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BatchOp, Wal } from '@wal/fs';
import { segmentFileName } from '@wal/fs/segments';
import { onTestFinished } from 'vitest';

/** An entry as written: key and value bytes exact (no `value` for a delete). */
export interface Written {
  sequence: number;
  type: 'put' | 'delete';
  key: Uint8Array;
  value?: Uint8Array;
}

/** A temporary directory, removed when the test ends. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-cli-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The path of segment `n` in `dir`. */
export const segment = (dir: string, n: number): string => path.join(dir, segmentFileName(n));

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

/**
 * A clean log of `count` puts (`key-i` = `value-i`), then a delete, a batch
 * whose put holds every byte value, and a put with an empty key and value.
 * 512-byte segments give about four records each, so `count` 40 makes ~11.
 */
export async function writeLog(dir: string, count = 40): Promise<Written[]> {
  const written: Written[] = [];
  // sync 'none': a fixture needs no fsync (close still syncs).
  const wal = await Wal.open({ dir, maxSegmentBytes: 512, sync: 'none' });
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

/** A fresh directory with a clean log; returns both. */
export async function cleanLog(count?: number): Promise<{ dir: string; written: Written[] }> {
  const dir = path.join(tempDir(), 'wal');
  return { dir, written: await writeLog(dir, count) };
}

/**
 * A large log written fast: `entries` puts of `valueBytes` each, in batches
 * of 64, in 16 MiB segments. Returns the bytes on disk.
 */
export async function writeBulk(dir: string, entries: number, valueBytes: number): Promise<number> {
  const wal = await Wal.open({ dir, sync: 'none', maxSegmentBytes: 16 * 1024 * 1024 });
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
 * Flips one byte inside the second record of segment 1 (past the 48-byte
 * segment header and a first record of 46 bytes, so in the record at
 * offset 94, sequence 10), so later segments are intact and beyond the damage.
 */
export function flipByte(dir: string, n = 1, offset = 100): string {
  const file = segment(dir, n);
  const data = fs.readFileSync(file);
  data[offset] = (data[offset] as number) ^ 0xff;
  fs.writeFileSync(file, data);
  return file;
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
