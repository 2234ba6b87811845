import type { BatchOp } from '@wal/fs';
import { seededRandom } from '@wal/fs/testing';

/** One entry as the writer issues it; a batch issues several with consecutive sequences. */
export interface IssuedOp {
  type: 'put' | 'delete';
  key: string;
  /** Absent for deletes; may be '' (an empty value is a value, not a delete). */
  value?: string;
}

/** One call the writer makes: a put, a delete, or an atomic batch. */
export type Call = { kind: 'put' | 'delete' | 'batch'; ops: IssuedOp[] };

const KEYS = 64;

/**
 * The calls round `round` makes, in order. Deterministic in (seed, round),
 * so the parent can regenerate exactly what a killed writer issued: the
 * writer takes calls in this order, and sequences are assigned in call order.
 */
export function* calls(seed: number, round: number): Generator<Call> {
  const random = seededRandom((seed * 1_000_003 + round) >>> 0);
  const key = () => `k${String(Math.floor(random() * KEYS)).padStart(3, '0')}`;
  const value = () => {
    if (random() < 0.1) return '';
    const length = 1 + Math.floor(random() * 120);
    return `r${round}-${Math.floor(random() * 1e9).toString(36)}-`.padEnd(length, '.');
  };
  const op = (): IssuedOp =>
    random() < 0.75 ? { type: 'put', key: key(), value: value() } : { type: 'delete', key: key() };
  for (;;) {
    const r = random();
    if (r < 0.55) yield { kind: 'put', ops: [{ type: 'put', key: key(), value: value() }] };
    else if (r < 0.75) yield { kind: 'delete', ops: [{ type: 'delete', key: key() }] };
    else yield { kind: 'batch', ops: Array.from({ length: 2 + Math.floor(random() * 7) }, op) };
  }
}

/** The ops a call puts in the log, in the writer's batch shape. */
export function toBatch(call: Call): BatchOp[] {
  return call.ops.map((o) =>
    o.type === 'put'
      ? { type: 'put', key: o.key, value: o.value ?? '' }
      : { type: 'delete', key: o.key },
  );
}
