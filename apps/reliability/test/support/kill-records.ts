import type { BatchOp } from '@wal/fs';

/**
 * What the SIGKILL loop's writer appends, as a function of the sequence
 * alone, so the parent can check every recovered entry without being told
 * what was written: the record starting at `first` and its ops.
 */
export function recordAt(first: number): BatchOp[] {
  return Array.from({ length: recordLength(first) }, (_, i) => opAt(first + i));
}

/** How many ops the record starting at `first` holds. */
export function recordLength(first: number): number {
  return first % 5 === 3 ? 2 + (first % 3) : 1;
}

function opAt(sequence: number): BatchOp {
  const key = `k${sequence % 13}`;
  if (sequence % 7 === 4) return { type: 'delete', key };
  const value = new Uint8Array((sequence * 37) % 300);
  for (let i = 0; i < value.length; i++) value[i] = (sequence + i * 31) & 0xff;
  return { type: 'put', key, value };
}

/** The first sequence of the record holding `sequence` (records start at 0 and follow each other). */
export function recordStart(sequence: number): number {
  let first = 0;
  while (first + recordLength(first) <= sequence) first += recordLength(first);
  return first;
}
