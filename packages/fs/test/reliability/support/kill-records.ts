import type { BatchOp } from '@wal/fs';

/**
 * What the SIGKILL loop's writer appends, as a function of the sequence
 * alone, so the parent can check every recovered entry without being told
 * what was written: the record starting at `first` and its ops.
 */
export function recordAt(first: number): BatchOp[] {
  const count = first % 5 === 3 ? 2 + (first % 3) : 1;
  return Array.from({ length: count }, (_, i) => opAt(first + i));
}

function opAt(sequence: number): BatchOp {
  const key = `k${sequence % 13}`;
  if (sequence % 7 === 4) return { type: 'delete', key };
  const value = new Uint8Array((sequence * 37) % 300);
  for (let i = 0; i < value.length; i++) value[i] = (sequence + i * 31) & 0xff;
  return { type: 'put', key, value };
}

/** Sequences where records start, from 0 up to `end`; true when `end` is one. */
export function isRecordBoundary(end: number): boolean {
  let first = 0;
  while (first < end) first += recordAt(first).length;
  return first === end;
}
