import fs from 'node:fs';
import path from 'node:path';
import { encodeRecord, SEGMENT_HEADER_SIZE, WalError } from '@wal/codec';
import { listSegments, nodeFs } from '@wal/fs';
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
export function appendTornFrame(wal: string, nextSequence: number): TornFrame | undefined {
  const last = listSegments(nodeFs, wal).at(-1);
  if (!last) return undefined;
  const frame = encodeRecord(nextSequence, [
    { type: 'put', key: Buffer.from('torn'), value: Buffer.alloc(64, 0x2a) },
  ]);
  const bytes = frame.subarray(0, frame.length >> 1);
  fs.appendFileSync(last.path, bytes);
  return { file: last.path, bytes };
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
    const kept = fs.readFileSync(a.keptIn);
    const same = Buffer.compare(kept, torn.bytes) === 0 ? 'byte for byte' : 'DIFFERENT BYTES';
    lines.push(
      `  repair: cut ${a.bytes} bytes at ${a.offset}, kept in ${path.basename(a.keptIn)} (${same})`,
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
  const segments = listSegments(nodeFs, copy);
  const target = segments.length > 1 ? segments[segments.length >> 1] : segments[0];
  if (!target) return ['no segment to damage'];
  const size = fs.statSync(target.path).size;
  if (size <= SEGMENT_HEADER_SIZE + 16) return [`${target.name} holds too little to damage`];
  const offset = SEGMENT_HEADER_SIZE + Math.floor((size - SEGMENT_HEADER_SIZE) / 2);
  const fd = fs.openSync(target.path, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, offset);
  byte[0] = (byte[0] as number) ^ 0x10;
  fs.writeSync(fd, byte, 0, 1, offset);
  fs.closeSync(fd);

  const lines = [`flipped one bit at ${target.name}:${offset} in a copy of the log`];
  lines.push(`  strict: ${await outcome(() => recover(copy, { mode: 'strict' }))}`);
  lines.push(`  tolerate-tail: ${await outcome(() => recover(copy, { mode: 'tolerate-tail' }))}`);
  const pit = await recover(copy, { mode: 'point-in-time' });
  lines.push(
    `  point-in-time: ${pit.entries.length} entries, the consistent prefix up to ${pit.lastSequence}; stopped at ${path.basename(pit.stats.stoppedAt?.file ?? '')}:${pit.stats.stoppedAt?.offset}`,
  );
  const skip = await recover(copy, { mode: 'skip-corrupted' });
  const c = skip.stats.corruptions[0];
  lines.push(
    `  skip-corrupted: ${skip.entries.length} entries; skipped ${skip.stats.corruptions.length} region(s)${c ? `, ${c.bytes} bytes at ${path.basename(c.file)}:${c.offset} (${c.reason})` : ''}`,
  );
  const plan = await repair(copy, { dryRun: true });
  for (const a of plan.actions) {
    lines.push(
      `  repair would ${a.action} ${path.basename(a.file)}${a.action === 'cut' ? ` at ${a.offset}` : ''}, keeping the bytes in ${path.relative(copy, a.keptIn)}`,
    );
  }
  return lines;
}

async function outcome(run: () => Promise<{ entries: unknown[] }>): Promise<string> {
  try {
    return `${(await run()).entries.length} entries`;
  } catch (error) {
    if (!WalError.isInstance(error)) throw error;
    const e = error as WalError & { file?: string; offset?: number; reason?: string };
    return `refused with ${e.code} at ${path.basename(e.file ?? '')}:${e.offset} (${e.reason})`;
  }
}
