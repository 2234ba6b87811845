import fs from 'node:fs';
import path from 'node:path';
import {
  decodeSegmentHeader,
  encodeBatchFrame,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  WalError,
} from '@wal/codec';
import { nodeFs } from '@wal/fs';
import { listSegmentFiles } from '@wal/fs/segments';
import { recover, repair } from '@wal/recovery';

/** Half of a frame appended to the last segment: what a writer killed mid-write leaves. */
export interface TornFrame {
  file: string;
  bytes: Uint8Array;
}

/**
 * Appends the first half of a frame that was never acknowledged to the last
 * segment. Nothing acknowledged is touched.
 */
export async function appendTornFrame(
  wal: string,
  nextSequence: number,
): Promise<TornFrame | undefined> {
  const last = (await listSegmentFiles(nodeFs, wal)).at(-1);
  if (!last) return undefined;
  const header = decodeSegmentHeader(fs.readFileSync(last.file)) as SegmentHeader;
  const synced = fs.statSync(last.file).size;
  const frame = encodeBatchFrame({ salt: header.salt, synced }, nextSequence, [
    { type: 'put', key: Buffer.from('torn'), value: Buffer.alloc(64, 0x2a) },
  ]);
  const bytes = frame.subarray(0, frame.length >> 1);
  fs.appendFileSync(last.file, bytes);
  return { file: last.file, bytes };
}

/** Shows what each reader does with a torn tail, then repairs it, checking the kept bytes. */
export async function showTornTail(wal: string, torn: TornFrame): Promise<string[]> {
  const name = path.basename(torn.file);
  const lines = [`appended ${torn.bytes.length} bytes of an unacknowledged frame to ${name}`];
  const tolerant = await recover(wal, { mode: 'tolerate-tail' });
  const t = tolerant.stats.tornTail;
  lines.push(
    `  tolerate-tail: ${tolerant.entries.length} entries; torn tail dropped: ${t?.bytes} bytes at ${name}:${t?.offset} (${t?.reason})`,
  );
  lines.push(`  strict: ${await outcome(() => recover(wal, { mode: 'strict' }))}`);
  const repaired = await repair(wal);
  for (const a of repaired.actions) {
    if (!a.keptIn) continue;
    const kept = fs.readFileSync(a.keptIn);
    const tail = kept.subarray(kept.length - torn.bytes.length);
    const same = Buffer.compare(tail, torn.bytes) === 0 ? 'byte for byte' : 'DIFFERENT BYTES';
    lines.push(
      `  repair: ${a.action} ${path.basename(a.file)} without its torn tail; the file as it was is kept in ${path.relative(wal, a.keptIn)} (the torn bytes ${same})`,
    );
  }
  return lines;
}

/**
 * Flips one byte in the middle of a copy of the log, then shows what every
 * mode reports and what repair would keep aside. The real log is untouched.
 */
export async function flipByteInCopy(wal: string, copy: string): Promise<string[]> {
  fs.cpSync(wal, copy, { recursive: true });
  const segments = await listSegmentFiles(nodeFs, copy);
  const target = segments.length > 1 ? segments[segments.length >> 1] : segments[0];
  if (!target) return ['no segment to damage'];
  const name = path.basename(target.file);
  // The middle of the frames, not of the file: the last segment ends in the
  // writer's preallocated zeros, where a flip damages no acknowledged data.
  const bytes = fs.readFileSync(target.file);
  let end = bytes.length;
  while (end > SEGMENT_HEADER_SIZE && bytes[end - 1] === 0) end--;
  if (end <= SEGMENT_HEADER_SIZE + 16) return [`${name} holds too little to damage`];
  const offset = SEGMENT_HEADER_SIZE + Math.floor((end - SEGMENT_HEADER_SIZE) / 2);
  const fd = fs.openSync(target.file, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, offset);
  byte[0] = (byte[0] as number) ^ 0x10;
  fs.writeSync(fd, byte, 0, 1, offset);
  fs.closeSync(fd);

  const lines = [`flipped one bit at ${name}:${offset} in a copy of the log`];
  lines.push(`  strict: ${await outcome(() => recover(copy, { mode: 'strict' }))}`);
  lines.push(`  tolerate-tail: ${await outcome(() => recover(copy, { mode: 'tolerate-tail' }))}`);
  const pit = await recover(copy, { mode: 'point-in-time' });
  lines.push(
    `  point-in-time: ${pit.entries.length} entries, the consistent prefix up to ${pit.lastSequence}; ${pit.stats.stoppedAt ? `stopped at ${path.basename(pit.stats.stoppedAt.file)}:${pit.stats.stoppedAt.offset}` : 'read to the end'}`,
  );
  const skip = await recover(copy, { mode: 'skip-corrupted' });
  const c = skip.stats.damage[0];
  lines.push(
    `  skip-corrupted: ${skip.entries.length} entries; skipped ${skip.stats.damage.length} region(s)${c ? `, ${c.bytes} bytes at ${path.basename(c.file)}:${c.offset} (${c.reason})` : ''}`,
  );
  const plan = await repair(copy, { dryRun: true });
  for (const a of plan.actions) {
    const lost = a.lost.map((r) => `${r.firstSequence}..${r.nextSequence - 1}`).join(', ');
    lines.push(
      `  repair would ${a.action} ${path.basename(a.file)}${lost ? `, recording sequences ${lost} as lost` : ''}${a.keptIn ? `, keeping the file as it was in ${path.relative(copy, a.keptIn)}` : ''}`,
    );
  }
  return lines;
}

async function outcome(run: () => Promise<{ entries: unknown[] }>): Promise<string> {
  try {
    return `${(await run()).entries.length} entries`;
  } catch (error) {
    if (!WalError.isInstance(error)) throw error;
    const d = (error as WalError & { damage?: { file: string; offset: number; reason: string } })
      .damage;
    return `refused with ${error.code} at ${path.basename(d?.file ?? '')}:${d?.offset} (${d?.reason})`;
  }
}
