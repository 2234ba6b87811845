import { decodeAll, encodeRecord } from '@wal/codec';
import { listSegments, Wal } from '@wal/fs';
import { SimFs } from '@wal/fs/testing';
import { freshFs, LOG_DIR, walOptions } from './check.js';

/** A clean, durable log: `count` puts, two per segment. */
export async function writtenLog(count = 8): Promise<SimFs> {
  const fs = freshFs(new SimFs());
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
export function segmentPaths(fs: SimFs): string[] {
  return listSegments(fs, LOG_DIR).map((s) => s.path);
}

/** Appends the first half of a frame to the last segment: what a crash mid-append leaves. */
export function tearTail(fs: SimFs): void {
  const last = segmentPaths(fs).at(-1) as string;
  const frame = encodeRecord(999, [
    { type: 'put', key: Buffer.from('torn'), value: new Uint8Array(50) },
  ]);
  fs.writeFile(last, Buffer.concat([fs.readFile(last), frame.subarray(0, frame.length >> 1)]));
}

/** Flips a byte inside the first record of segment `index`: bit rot in the middle of the log. */
export function rot(fs: SimFs, index: number): void {
  const file = segmentPaths(fs)[index] as string;
  const bytes = fs.readFile(file);
  bytes[40] = (bytes[40] as number) ^ 0xff;
  fs.writeFile(file, bytes);
}

/**
 * Every valid frame in every file under the log directory (segments,
 * `.broken` copies, `quarantine/`), by content: repair and open may move
 * frames, but must never lose one.
 */
export function allFrames(fs: SimFs): Set<string> {
  const found = new Set<string>();
  for (const [file, bytes] of fs.snapshot()) {
    if (!bytes || !file.startsWith(`${LOG_DIR}/`)) continue;
    for (const result of decodeAll(bytes)) {
      if (result.kind === 'record') {
        found.add(
          Buffer.from(bytes.subarray(result.offset, result.offset + result.size)).toString('hex'),
        );
      }
    }
  }
  return found;
}
