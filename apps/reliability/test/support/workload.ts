import type { BatchOp, Wal } from '@wal/fs';
import { type Random, seededRandom } from '@wal/fs/testing';
import type { History } from './history.js';

/** One step of a workload: appends issued together (group commit), or a rotation. */
export type Step =
  | { kind: 'append'; records: { as: 'put' | 'delete' | 'batch'; ops: BatchOp[] }[] }
  | { kind: 'rotate' }
  | { kind: 'sync' }
  /** truncateBefore(nextSequence - 1 - back). */
  | { kind: 'truncate'; back: number };

/** Small segments, so appends rotate often and records land on both sides of a rotation. */
export const SMALL_SEGMENTS = 1024;

/**
 * `count` random steps: puts, deletes and batches issued a few at a time,
 * values from empty to ~900 bytes (so frames straddle 512-byte sectors and
 * segment ends), and now and then a rotation, a sync or a truncateBefore.
 */
export function makeWorkload(random: Random, count: number): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.1) steps.push({ kind: 'rotate' });
    else if (roll < 0.15) steps.push({ kind: 'sync' });
    else if (roll < 0.2) steps.push({ kind: 'truncate', back: Math.floor(random() * 8) });
    else {
      const records = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        makeRecord(random),
      );
      steps.push({ kind: 'append', records });
    }
  }
  return steps;
}

function makeRecord(random: Random): { as: 'put' | 'delete' | 'batch'; ops: BatchOp[] } {
  const roll = random();
  if (roll < 0.5) return { as: 'put', ops: [makeOp(random, 'put')] };
  if (roll < 0.65) return { as: 'delete', ops: [makeOp(random, 'delete')] };
  const n = 2 + Math.floor(random() * 3);
  return {
    as: 'batch',
    ops: Array.from({ length: n }, () => makeOp(random, random() < 0.8 ? 'put' : 'delete')),
  };
}

function makeOp(random: Random, type: 'put' | 'delete'): BatchOp {
  const key = `k${Math.floor(random() * 10)}`;
  if (type === 'delete') return { type, key };
  const roll = random();
  const length =
    roll < 0.1 ? 0 : roll < 0.8 ? Math.floor(random() * 100) : 300 + Math.floor(random() * 600);
  const fill = seededRandom(Math.floor(random() * 2 ** 31));
  const value = Uint8Array.from({ length }, () => Math.floor(fill() * 256));
  return { type, key, value };
}

/**
 * Runs `steps` on `wal`, recording every append in `history`. Never throws:
 * returns every error a call rejected with, in order.
 */
export async function runSteps(
  wal: Wal,
  history: History,
  steps: readonly Step[],
): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps) {
    const end = wal.nextSequence;
    let calls: Promise<unknown>[];
    if (step.kind === 'append') calls = step.records.map((r) => history.append(wal, r.ops, r.as));
    else if (step.kind === 'truncate') {
      const sequence = Math.max(0, end - 1 - step.back);
      // Segments may be gone as soon as the call starts.
      history.truncatedBefore(sequence);
      calls = [wal.truncateBefore(sequence)];
    } else {
      const call = step.kind === 'rotate' ? wal.rotate() : wal.sync();
      calls = [call.then(() => history.durableBefore(end))];
    }
    for (const result of await Promise.allSettled(calls)) {
      if (result.status === 'rejected') errors.push(result.reason);
    }
  }
  return errors;
}
