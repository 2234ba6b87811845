/**
 * Every call the bench makes into @wal's packages, in one file. Their API is
 * being reworked (format v2, an async WalFs, a batched scan); when it changes,
 * this file follows and the cases do not. Functions are async wherever the
 * call under them may become async.
 */

import fs from 'node:fs';
import {
  crc32,
  crc32Small,
  crc32Zlib,
  decodeFrameAt,
  decodeSegmentHeader,
  encodeBatch,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  frameChecksum,
  isBadSegmentHeader,
  recordSize,
  SEGMENT_HEADER_SIZE,
  saltSeed,
  type WalOp,
} from '@wal/codec';
import { nodeFs, type SyncMode, Wal, type WalFs } from '@wal/fs';
import { listSegmentFiles } from '@wal/fs/segments';
import { Memtable, replay } from '@wal/memtable';
import { Arena } from '@wal/memtable/internal';
import { scanLog } from '@wal/recovery';

export type { SyncMode };

/** The writer as the cases drive it. */
export interface WalWriter {
  put(key: Uint8Array, value: Uint8Array): Promise<unknown>;
  batch(ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[]): Promise<unknown>;
  close(): Promise<void>;
}

/** What a case may set besides the directory (the write study varies the last two). */
export interface WalWriterOptions {
  sync: SyncMode;
  maxSegmentBytes?: number | undefined;
  preallocateBytes?: number | undefined;
  fs?: WalFs | undefined;
}

export function openWal(dir: string, options: WalWriterOptions): Promise<WalWriter> {
  return Wal.open({ dir, ...options });
}

/** The log's segment files, oldest first. */
export async function segmentPaths(dir: string): Promise<string[]> {
  return (await listSegmentFiles(nodeFs, dir)).map((s) => s.file);
}

/** Reads the whole log with the recovery scan, a batch per await; returns the entries seen. */
export async function scanEntries(dir: string): Promise<number> {
  let entries = 0;
  for await (const batch of scanLog(dir).batches()) entries += batch.length;
  return entries;
}

/** The same, with one await per entry (`for await (const entry of scanLog(dir))`). */
export async function scanEntryByEntry(dir: string): Promise<number> {
  let entries = 0;
  for await (const _ of scanLog(dir)) entries++;
  return entries;
}

/** Replays the whole log into a fresh Memtable; returns the entries applied. */
export async function replayEntries(dir: string): Promise<number> {
  return (await replay(dir, new Memtable())).applied;
}

/**
 * The floor of replay into any table that copies what it keeps: the scan,
 * with each key and value copied into an arena (the Memtable's own) and
 * their locations kept, but no index and no key strings. A sorted table does
 * all of this and more, so replay cannot beat this reader. Returns the
 * entries copied.
 */
export async function copyFloor(dir: string): Promise<number> {
  const keys = new Arena();
  const values = new Arena();
  const locations: number[] = [];
  let entries = 0;
  for await (const batch of scanLog(dir).batches()) {
    for (const entry of batch) {
      locations.push(keys.append(entry.key));
      locations.push(entry.type === 'put' ? values.append(entry.value) : -1);
    }
    entries += batch.length;
  }
  return entries;
}

/**
 * What the Rust WAL @wal replaces (seed/wal.rs) did: every file read whole,
 * every entry into one array. Keys and values stay views of the file's
 * bytes: the codec's views were Buffers here once, whose `slice()` does not
 * copy, so this is what this reader has always measured. Returns the
 * entries held.
 */
export async function naiveLoadAll(dir: string): Promise<number> {
  const all: { sequence: number; key: Uint8Array; value?: Uint8Array | undefined }[] = [];
  for (const file of await segmentPaths(dir)) {
    const bytes = fs.readFileSync(file);
    const header = decodeSegmentHeader(bytes);
    if (isBadSegmentHeader(header)) break;
    const context = {
      maxRecordBytes: header.maxRecordBytes,
      seed: saltSeed(header.salt),
      frameOffset: 0,
    };
    for (let p = SEGMENT_HEADER_SIZE; p < bytes.length; ) {
      context.frameOffset = p;
      const r = decodeFrameAt(bytes, p, bytes.length, context);
      if (r.kind !== 'frame') break;
      if (r.record.type === 'batch') {
        for (const e of r.record.entries) {
          all.push({ sequence: e.sequence, key: e.key, value: e.value });
        }
      }
      p += r.size;
    }
  }
  return all.length;
}

// The salt of the frames the codec cases encode and decode, as a segment header would give.
const SALT = 0x5eed_5a17;
const SEGMENT = { salt: SALT, firstSequence: 0 };

/**
 * `records` one-put frames of `key(i)` and `value`, back to back in `bytes`
 * (each `frameBytes` long); `encode()` encodes them all again (the timed part).
 */
export function encodedFrames(
  records: number,
  key: (i: number) => Uint8Array,
  value: Uint8Array,
): { bytes: Uint8Array; frameBytes: number; encode(): void } {
  const ops: WalOp[][] = Array.from({ length: records }, (_, i) => [
    { type: 'put', key: key(i), value },
  ]);
  const frameBytes = FRAME_HEADER_SIZE + recordSize(ops[0] as WalOp[]);
  const bytes = new Uint8Array(frameBytes * records);
  const encode = () => {
    let p = 0;
    const context = { salt: SALT, synced: SEGMENT_HEADER_SIZE };
    for (let i = 0; i < records; i++) p = encodeBatch(bytes, p, context, i, ops[i] as WalOp[]);
  };
  encode();
  return { bytes, frameBytes, encode };
}

/** Decodes `bytes` fed in 1 MiB chunks, as the scan reads them; returns the records decoded. */
export function decodeChunked(bytes: Uint8Array): number {
  const decoder = new FrameDecoder(SEGMENT);
  let n = 0;
  for (let p = 0; p < bytes.length; p += 1 << 20) {
    decoder.push(bytes.subarray(p, Math.min(bytes.length, p + (1 << 20))));
    for (const r of decoder) n += r.kind === 'frame' ? 1 : 0;
  }
  return n;
}

/** The decoder's checksum of every frame, alone; returns how many matched the stored CRC. */
export function checkFrameCrcs(bytes: Uint8Array, frameBytes: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seed = saltSeed(SALT);
  let good = 0;
  for (let p = 0; p < bytes.length; p += frameBytes) {
    if (frameChecksum(bytes, p, p + frameBytes, seed) === view.getUint32(p + 4, true)) good++;
  }
  return good;
}

/** The codec's CRC-32 (its JS slicing-by-16 below 384 B, zlib above) and its two paths. */
export const codecCrc = { split: crc32, small: crc32Small, zlib: crc32Zlib };

/** A Memtable, for the full-API put comparison. */
export function newMemtable(): { put(key: Uint8Array, value: Uint8Array): void; size: number } {
  return new Memtable();
}
