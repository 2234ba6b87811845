import path from 'node:path';
import { encodeBatchFrame, encodeMarkFrame, encodeSealFrame } from '@wal/codec';
import type { BatchOp, Wal } from '@wal/fs';
import { segmentFileName } from '@wal/fs/segments';
import { type Random, type SimFs, seededRandom } from '@wal/fs/testing';
import type { History } from './history.js';
import { framesOf } from './segment-bytes.js';

/**
 * A value whose bytes hold well-formed frames, made when the op is issued:
 * `own`, frames copied byte for byte from the log's own segment files (the
 * active one and the one before); `foreign`, frames of another log (another
 * salt) whose sequences continue this log. Storing a log in a log is
 * common; neither may ever be taken for a frame of the log.
 */
export interface FrameValue {
  frames: 'own' | 'foreign';
  seed: number;
}

/** An op of a workload; a frame value is made when it is issued. */
export type OpSpec =
  | { type: 'put'; key: string; value: Uint8Array | FrameValue }
  | { type: 'delete'; key: string };

export interface RecordSpec {
  as: 'put' | 'delete' | 'batch';
  ops: OpSpec[];
}

/** One step of a workload: appends issued together (group commit), or a call on the log. */
export type Step =
  | { kind: 'append'; records: RecordSpec[] }
  | { kind: 'rotate' }
  | { kind: 'sync' }
  /** Lets time pass: an `'interval'` writer's timer sync is due. */
  | { kind: 'tick' }
  /** truncateThrough(nextSequence - 1 - back). */
  | { kind: 'truncate'; back: number };

/** Small segments, so appends rotate often and records land on both sides of a rotation. */
export const SMALL_SEGMENTS = 1024;

/**
 * `count` random steps: puts, deletes and batches issued a few at a time,
 * values from empty to ~900 bytes (so frames straddle 512-byte sectors and
 * segment ends), runs of zeros, values holding frames of this log and of
 * others; now and then a rotation, a sync, a tick or a truncateThrough.
 */
export function makeWorkload(random: Random, count: number): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.1) steps.push({ kind: 'rotate' });
    else if (roll < 0.15) steps.push({ kind: 'sync' });
    else if (roll < 0.2) steps.push({ kind: 'truncate', back: Math.floor(random() * 8) });
    else if (roll < 0.25) steps.push({ kind: 'tick' });
    else {
      const records = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        makeRecord(random),
      );
      steps.push({ kind: 'append', records });
    }
  }
  return steps;
}

function makeRecord(random: Random): RecordSpec {
  const roll = random();
  if (roll < 0.5) return { as: 'put', ops: [makeOp(random, 'put')] };
  if (roll < 0.65) return { as: 'delete', ops: [makeOp(random, 'delete')] };
  const n = 2 + Math.floor(random() * 3);
  return {
    as: 'batch',
    ops: Array.from({ length: n }, () => makeOp(random, random() < 0.8 ? 'put' : 'delete')),
  };
}

function makeOp(random: Random, type: 'put' | 'delete'): OpSpec {
  const key = `k${Math.floor(random() * 10)}`;
  if (type === 'delete') return { type, key };
  const roll = random();
  const seed = Math.floor(random() * 2 ** 31);
  if (roll < 0.08) return { type, key, value: { frames: 'own', seed } };
  if (roll < 0.14) return { type, key, value: { frames: 'foreign', seed } };
  if (roll < 0.2) return { type, key, value: zeroRun(seededRandom(seed)) };
  const length =
    roll < 0.28 ? 0 : roll < 0.82 ? Math.floor(random() * 100) : 300 + Math.floor(random() * 600);
  const fill = seededRandom(seed);
  const value = Uint8Array.from({ length }, () => Math.floor(fill() * 256));
  return { type, key, value };
}

// Zeros, a few hundred of them, between a few random bytes: what a
// zero-run heuristic would take for a torn write.
function zeroRun(random: Random): Uint8Array {
  const value = new Uint8Array(Math.floor(random() * 16) + 512 + Math.floor(random() * 200));
  for (let i = 0; i < 8; i++) value[Math.floor(random() * value.length)] = 1 + i;
  return value;
}

/** The op as `wal` gets it: a frame value is made now, from what `fs` holds. */
export function issueOp(op: OpSpec, wal: Wal, fs: SimFs): BatchOp {
  if (op.type === 'delete' || op.value instanceof Uint8Array) return op as BatchOp;
  return { type: 'put', key: op.key, value: frameValue(op.value, wal, fs) };
}

/**
 * Random bytes, one to three well-formed frames, random bytes: the frames
 * start and end anywhere in the value, so a crash can cut the real frame
 * just before or after one.
 */
export function frameValue(spec: FrameValue, wal: Wal, fs: SimFs): Uint8Array {
  const random = seededRandom(spec.seed);
  const pool = spec.frames === 'own' ? ownFrames(wal, fs) : [];
  const frames: Uint8Array[] = [];
  for (let n = 1 + Math.floor(random() * 3), i = 0; i < n; i++) {
    const own = pool.length > 0 ? pool[Math.floor(random() * pool.length)] : undefined;
    frames.push(own ?? foreignFrame(random, wal.nextSequence + i + 1));
  }
  const noise = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
  const parts: Uint8Array[] = [noise(Math.floor(random() * 40))];
  for (const frame of frames) parts.push(frame, noise(Math.floor(random() * 4)));
  return Buffer.concat(parts).subarray(0, 1500);
}

// Every frame in the log's active segment and the one before, as the
// process sees them now (written or not yet synced).
function ownFrames(wal: Wal, fs: SimFs): Uint8Array[] {
  const files = [wal.file, path.join(wal.dir, segmentFileName(wal.segment - 1))];
  const out: Uint8Array[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = fs.readFile(file);
    } catch {
      continue;
    }
    for (const f of framesOf(bytes)) out.push(bytes.slice(f.offset, f.offset + f.size));
  }
  return out.filter((f) => f.length <= 700);
}

// A frame of another log (another salt) at a sequence this log could
// expect next: a batch, a mark or a seal.
function foreignFrame(random: Random, sequence: number): Uint8Array {
  const context = { salt: Math.floor(random() * 2 ** 32), synced: 48 + Math.floor(random() * 900) };
  const roll = random();
  if (roll < 0.2) return encodeMarkFrame(context, sequence);
  if (roll < 0.4) {
    const seal = { nextSequence: sequence, records: 3, bytes: context.synced + 29 };
    return encodeSealFrame(context, seal);
  }
  const value = Uint8Array.from({ length: Math.floor(random() * 60) }, () =>
    Math.floor(random() * 256),
  );
  return encodeBatchFrame(context, sequence, [{ type: 'put', key: Buffer.from('balance'), value }]);
}

/** How runSteps runs: the file system (for frame values) and how time passes. */
export interface StepContext {
  fs: SimFs;
  /** Runs due timers ('interval' mode under fake timers); absent, a tick does nothing. */
  tick?: () => void;
}

/**
 * Runs `steps` on `wal`, recording every append in `history`. Never throws:
 * returns every error a call rejected with, in order.
 */
export async function runSteps(
  wal: Wal,
  history: History,
  steps: readonly Step[],
  context: StepContext,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps) {
    const end = wal.nextSequence;
    let calls: Promise<unknown>[];
    if (step.kind === 'append') {
      calls = step.records.map((r) => {
        const ops = r.ops.map((op) => issueOp(op, wal, context.fs));
        return history.append(wal, ops, r.as);
      });
    } else if (step.kind === 'truncate') {
      const sequence = Math.max(0, end - 1 - step.back);
      // Segments may be gone as soon as the call starts.
      history.truncatedThrough(sequence);
      calls = [wal.truncateThrough(sequence)];
    } else if (step.kind === 'tick') {
      context.tick?.();
      calls = [];
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

/**
 * Closes `wal`; once a close of a healthy writer resolves, everything
 * before it is durable (it syncs and writes a mark). A failed writer's close
 * syncs nothing. Rejects as close does.
 */
export async function closeWal(wal: Wal, history: History): Promise<void> {
  const end = wal.nextSequence;
  const healthy = wal.state === 'open';
  await wal.close();
  if (healthy) history.durableBefore(end);
}
