import { encodeBatchFrame } from '@wal/codec';
import { Wal } from '@wal/fs';
import { listSegmentFiles } from '@wal/fs/segments';
import { SimFs } from '@wal/fs/testing';
import { freshFs, LOG_DIR, walOptions } from './check.js';
import { framesOf, headerOf } from './segment-bytes.js';

/** A clean, durable, closed log: `count` puts, two per segment. */
export async function writtenLog(count = 8): Promise<SimFs> {
  const fs = await freshFs(new SimFs());
  const wal = await Wal.open(walOptions(fs));
  for (let i = 0; i < count; i++) {
    await wal.put(`key${i}`, new Uint8Array(60 + 10 * i).fill(i));
    if (i % 2 === 1) await wal.rotate();
  }
  await wal.close();
  fs.syncAll();
  return fs;
}

/** The segment files of the log, oldest first. */
export async function segmentPaths(fs: SimFs): Promise<string[]> {
  return (await listSegmentFiles(fs, LOG_DIR)).map((s) => s.file);
}

/**
 * Appends the first half of a frame that continues the last segment (its
 * salt, its next sequence): what a crash mid-append leaves.
 */
export async function tearTail(fs: SimFs): Promise<void> {
  const last = (await segmentPaths(fs)).at(-1) as string;
  const bytes = fs.readFile(last);
  const header = headerOf(bytes);
  if (!header) throw new Error(`expected a valid header in ${last}`);
  const records = framesOf(bytes).map((f) => f.record);
  const next = records.reduce(
    (n, r) => (r.type === 'batch' ? r.firstSequence + r.entries.length : n),
    header.firstSequence,
  );
  const frame = encodeBatchFrame({ salt: header.salt, synced: bytes.length }, next, [
    { type: 'put', key: Buffer.from('torn'), value: new Uint8Array(50) },
  ]);
  fs.writeFile(last, Buffer.concat([bytes, frame.subarray(0, frame.length >> 1)]));
}

// Header 48, frame header 8, batch prefix 17, op header 5: the first key byte.
const FIRST_KEY_BYTE = 78;

/** Flips the first key byte of the first record of segment `index`: bit rot in synced data. */
export async function rot(fs: SimFs, index: number): Promise<void> {
  const file = (await segmentPaths(fs))[index] as string;
  const bytes = fs.readFile(file);
  bytes[FIRST_KEY_BYTE] = (bytes[FIRST_KEY_BYTE] as number) ^ 0x01;
  fs.writeFile(file, bytes);
}

/**
 * Every entry of every valid frame in every file under the log directory
 * (segments, `.broken` copies, `quarantine/`), each file read by its own
 * header, in words: open and repair may move and rewrite records (repair
 * re-encodes them under a new salt), but must never lose one.
 */
export function allEntries(fs: SimFs): Set<string> {
  const found = new Set<string>();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const [file, bytes] of fs.snapshot()) {
    if (!bytes || !file.startsWith(`${LOG_DIR}/`)) continue;
    for (const { record } of framesOf(bytes)) {
      if (record.type !== 'batch') continue;
      for (const e of record.entries) {
        const value = e.type === 'put' ? hex(e.value) : '-';
        found.add(`${e.sequence} ${e.type} ${hex(e.key)} ${value}`);
      }
    }
  }
  return found;
}
