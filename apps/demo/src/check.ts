import type { Memtable } from '@wal/memtable';
import { scanLog } from '@wal/recovery';
import { Store, walDir } from './store.js';
import { type Call, calls, type IssuedOp } from './workload.js';

/** Everything the parent knows: what was issued (regenerated) and the state it implies. */
export class Model {
  readonly #seed: number;
  /** Committed state: key → value, for sequences below `next`. */
  readonly state = new Map<string, string>();
  /** The sequence after the last one recovered so far. */
  next = 0;

  constructor(seed: number) {
    this.#seed = seed;
  }

  /** The ops round `round` issued from sequence `start`, up to `end` (exclusive), with batch boundaries. */
  issued(round: number, start: number, end: number): { ops: IssuedOp[]; boundaries: Set<number> } {
    const ops: IssuedOp[] = [];
    const boundaries = new Set([start]);
    const generator = calls(this.#seed, round);
    let sequence = start;
    while (sequence < end) {
      const call = generator.next().value as Call;
      ops.push(...call.ops);
      sequence += call.ops.length;
      boundaries.add(sequence);
    }
    return { ops, boundaries };
  }
}

/** One round's verdict. */
export interface RoundCheck {
  acknowledged: number;
  recovered: number;
  lost: number;
  phantom: number;
  tornTailBytes: number;
  recoveryMs: number;
  nextSequence: number;
  problems: string[];
}

/**
 * Rebuilds the store's state the way a restart would (snapshot + replay in
 * tolerate-tail) and checks it against the model: every acknowledged
 * sequence present, the log's entries exactly the issued ones, nothing past
 * what was issued, batches whole, and the resulting table equal to the model.
 */
export async function checkRound(
  dir: string,
  model: Model,
  round: number,
  start: number,
  lastAcked: number | null,
  acknowledged: number,
): Promise<RoundCheck> {
  const t0 = performance.now();
  const { table, stats } = await Store.load(dir);
  const recoveryMs = performance.now() - t0;
  const next = stats.nextSequence;
  const { ops, boundaries } = model.issued(round, start, Math.max(next, start));
  const problems = checkEnd(next, start, lastAcked, boundaries);
  const phantom = await countPhantoms(dir, start, ops, problems);
  advance(model, ops, start, next);
  const differing = compareTable(table, model, problems);
  return {
    acknowledged,
    recovered: Math.max(0, next - start),
    lost: lastAcked === null ? 0 : Math.max(0, lastAcked + 1 - next),
    phantom: phantom + differing,
    tornTailBytes: stats.tornTail?.bytes ?? 0,
    recoveryMs,
    nextSequence: next,
    problems,
  };
}

/** Where the log ends: past every acknowledged sequence, not before the round, on a batch boundary. */
function checkEnd(
  next: number,
  start: number,
  lastAcked: number | null,
  boundaries: Set<number>,
): string[] {
  const problems: string[] = [];
  if (lastAcked !== null && next <= lastAcked) {
    problems.push(`acknowledged up to ${lastAcked}, but the log ends at ${next - 1}`);
  }
  if (next < start) problems.push(`the log went backwards: next ${next} < round start ${start}`);
  if (next > start && !boundaries.has(next)) {
    problems.push(`the log ends inside a batch at ${next}`);
  }
  return problems;
}

/** The round's entries in the log that are not the ops issued at their sequences (the first three named). */
async function countPhantoms(
  dir: string,
  start: number,
  ops: IssuedOp[],
  problems: string[],
): Promise<number> {
  let phantom = 0;
  for await (const entry of scanLog(walDir(dir), { mode: 'tolerate-tail', fromSequence: start })) {
    const want = ops[entry.sequence - start];
    const got = {
      type: entry.type,
      key: Buffer.from(entry.key).toString(),
      value: entry.type === 'put' ? Buffer.from(entry.value).toString() : undefined,
    };
    if (
      !want ||
      want.type !== got.type ||
      want.key !== got.key ||
      (want.value ?? undefined) !== got.value
    ) {
      phantom++;
      if (phantom <= 3) {
        problems.push(
          `sequence ${entry.sequence}: found ${JSON.stringify(got)}, issued ${JSON.stringify(want)}`,
        );
      }
    }
  }
  return phantom;
}

/** Applies the recovered part of the round to the model's state. */
function advance(model: Model, ops: IssuedOp[], start: number, next: number): void {
  for (let i = 0; i < next - start; i++) {
    const op = ops[i] as IssuedOp;
    if (op.type === 'put') model.state.set(op.key, op.value ?? '');
    else model.state.delete(op.key);
  }
  model.next = next;
}

/** How many keys the rebuilt table and the model disagree on (the first one named). */
function compareTable(table: Memtable, model: Model, problems: string[]): number {
  const live = new Map<string, string>();
  for (const [key, value] of table.range()) {
    live.set(Buffer.from(key).toString(), Buffer.from(value).toString());
  }
  const diff = [...new Set([...live.keys(), ...model.state.keys()])].filter(
    (k) => live.get(k) !== model.state.get(k),
  );
  if (diff.length > 0) {
    const k = diff[0] as string;
    problems.push(
      `${diff.length} keys differ from the model; ${k}: table ${JSON.stringify(live.get(k))}, model ${JSON.stringify(model.state.get(k))}`,
    );
  }
  return diff.length;
}
