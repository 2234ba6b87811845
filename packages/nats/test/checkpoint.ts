// A Memtable checkpoint for the follower tests: its entries (tombstones
// included) and lastSequence, as JSON. What a real follower would flush to
// a sorted file; the follower resumes after its lastSequence either way.
import type { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Memtable } from '@wal/memtable';

interface Checkpoint {
  lastSequence: number | null;
  entries: [string, string | null][];
}

export function saveCheckpoint(
  write: typeof writeFileSync,
  rename: typeof renameSync,
  file: string,
  table: Memtable,
): void {
  const checkpoint: Checkpoint = {
    lastSequence: table.lastSequence,
    entries: [...table.entries()].map(([k, v]) => [
      Buffer.from(k).toString('base64'),
      v === undefined ? null : Buffer.from(v).toString('base64'),
    ]),
  };
  write(`${file}.tmp`, JSON.stringify(checkpoint));
  rename(`${file}.tmp`, file);
}

export function loadCheckpoint(read: typeof readFileSync, file: string): Memtable | undefined {
  let text: string;
  try {
    text = read(file, 'utf8');
  } catch {
    return undefined;
  }
  const checkpoint = JSON.parse(text) as Checkpoint;
  const table = new Memtable({ lastSequence: checkpoint.lastSequence });
  for (const [k, v] of checkpoint.entries) {
    if (v === null) table.delete(Buffer.from(k, 'base64'));
    else table.put(Buffer.from(k, 'base64'), Buffer.from(v, 'base64'));
  }
  return table;
}
