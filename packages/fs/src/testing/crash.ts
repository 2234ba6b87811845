import path from 'node:path';
import type { FileData } from './file-data.js';
import {
  applyDirOp,
  cloneNamespace,
  type DirOp,
  describeDirOp,
  type Namespace,
  pruneUnreachable,
  reachableInodes,
} from './namespace.js';
import { type Random, randomInt } from './random.js';

/** The unit in which a power loss may lose or zero unsynced data. */
export const SECTOR_SIZE = 512;

/** What a crash leaves of one file's unsynced suffix (the bytes after its synced prefix). */
export type FileOutcome =
  | { kind: 'drop' }
  | { kind: 'keep' }
  /**
   * The writes are kept up to `length`, somewhere inside the unsynced suffix,
   * and lost after it: the file ends there, or, where it durably held bytes
   * past it, with those.
   */
  | { kind: 'cut'; length: number }
  /** As `cut` at `length`; the unsynced part of the sector at `sector` reads as zeros. */
  | { kind: 'torn'; length: number; sector: number }
  /**
   * The file as the process saw it just before its last unsynced truncate
   * that cut written bytes: writeback wrote it all, and the truncate and
   * everything after did not reach the disk.
   */
  | { kind: 'before-cut' };

/** One possible post-crash state. Whatever it does not name is lost. */
export interface CrashPlan {
  /** By inode: what happens to each file with unsynced bytes. Unnamed: dropped. */
  files?: ReadonlyMap<number, FileOutcome>;
  /** For each unsynced directory operation, in order: whether it survived. Unnamed: no. */
  dirOps?: readonly boolean[];
}

export interface CrashPlanOptions {
  /**
   * Where a file may be cut: `'every-byte'` (default) of the unsynced suffix,
   * or `'write-ends'`: where each unsynced write ended, and a byte either side.
   */
  cuts?: 'every-byte' | 'write-ends';
}

/** The parts of a simulated file system a crash looks at. */
export interface CrashSource {
  durableNs: Namespace;
  pending: readonly { op: DirOp; durable: boolean }[];
  files: ReadonlyMap<number, FileData>;
  currentNs: Namespace;
  dirOrder: 'any' | 'in-order';
}

// Past this, walking every subset of directory operations is not "small".
const MAX_ENUMERATED_DIR_OPS = 16;

/** The namespace and the bytes of every reachable file after the crash `plan`. */
export function crashImage(
  source: CrashSource,
  plan: CrashPlan,
): { ns: Namespace; files: Map<number, Uint8Array> } {
  const ns = cloneNamespace(source.durableNs);
  let k = 0;
  for (const { op, durable } of source.pending) {
    if (durable || plan.dirOps?.[k] === true) applyDirOp(ns, op);
    if (!durable) k++;
  }
  pruneUnreachable(ns);
  const files = new Map<number, Uint8Array>();
  for (const ino of reachableInodes(ns)) {
    const file = source.files.get(ino) as FileData;
    files.set(ino, fileAfter(file, file.dirty ? plan.files?.get(ino) : undefined));
  }
  return { ns, files };
}

// A crash loses the writes past `length`. Where the file already held
// durable bytes there (written over, or cut off by an unsynced truncate),
// those show through: a crash never leaves a file shorter than it was
// durably, only a truncate that reached the disk does (the 'keep' outcome).
function fileAfter(file: FileData, outcome: FileOutcome | undefined): Uint8Array {
  if (!outcome || outcome.kind === 'drop') return file.durableBytes.slice();
  if (outcome.kind === 'before-cut') return (file.beforeCut ?? file.durableBytes).slice();
  if (outcome.kind === 'keep') return file.current.slice();
  const from = file.syncedPrefix;
  const length = Math.max(from, Math.min(outcome.length, file.size));
  const durable = file.durableBytes;
  const bytes = new Uint8Array(Math.max(length, durable.length));
  bytes.set(file.current.subarray(0, length));
  if (durable.length > length) bytes.set(durable.subarray(length), length);
  if (outcome.kind === 'torn') {
    bytes.fill(0, Math.max(outcome.sector, from), Math.min(outcome.sector + SECTOR_SIZE, length));
  }
  return bytes;
}

/** One post-crash state chosen by `random`: each outcome kind equally likely. */
export function randomCrashPlan(source: CrashSource, random: Random): CrashPlan {
  const files = new Map<number, FileOutcome>();
  for (const ino of dirtyCandidates(source)) {
    const file = source.files.get(ino) as FileData;
    const from = file.syncedPrefix;
    const lastCut = lastCutOf(file);
    const kinds = ['drop', 'keep'];
    if (file.beforeCut) kinds.push('before-cut');
    if (lastCut > from) kinds.push('cut');
    if (file.size > from) kinds.push('torn');
    const kind = kinds[randomInt(random, 0, kinds.length - 1)];
    if (kind === 'drop' || kind === 'keep' || kind === 'before-cut') {
      files.set(ino, { kind });
      continue;
    }
    const ends = file.writeEnds;
    // Half the time at a write boundary: where real crashes cluster.
    const cutAt = (): number =>
      ends.length > 0 && random() < 0.5
        ? (ends[randomInt(random, 0, ends.length - 1)] as number)
        : randomInt(random, from + 1, lastCut);
    if (kind === 'cut') {
      files.set(ino, { kind, length: cutAt() });
      continue;
    }
    const length = lastCut > from && random() < 0.5 ? cutAt() : file.size;
    const sectors = sectorsOverlapping(from, length);
    files.set(ino, {
      kind: 'torn',
      length,
      sector: sectors[randomInt(random, 0, sectors.length - 1)] as number,
    });
  }
  const n = unsyncedDirOps(source);
  const dirOps =
    source.dirOrder === 'in-order'
      ? prefix(n, randomInt(random, 0, n))
      : Array.from({ length: n }, () => random() < 0.5);
  return { files, dirOps };
}

/** Every interesting post-crash state: the product of each file's outcomes and the directory choices. */
export function* enumerateCrashPlans(
  source: CrashSource,
  options: CrashPlanOptions,
): Generator<CrashPlan> {
  const inos = dirtyCandidates(source);
  const choices = inos.map((ino) => outcomesOf(source.files.get(ino) as FileData, options));
  const dirChoices = dirOpChoices(source);
  const digits = [...choices.map((c) => c.length), dirChoices.length];
  const at = digits.map(() => 0);
  for (;;) {
    const files = new Map<number, FileOutcome>();
    inos.forEach((ino, i) => {
      files.set(ino, choices[i]?.[at[i] as number] as FileOutcome);
    });
    yield { files, dirOps: dirChoices[at[inos.length] as number] as boolean[] };
    let d = 0;
    while (d < digits.length && ++(at[d] as number) === digits[d]) at[d++] = 0;
    if (d === digits.length) return;
  }
}

export function countCrashPlans(source: CrashSource, options: CrashPlanOptions): number {
  const n = unsyncedDirOps(source);
  let count = source.dirOrder === 'in-order' ? n + 1 : 2 ** n;
  for (const ino of dirtyCandidates(source)) {
    count *= outcomesOf(source.files.get(ino) as FileData, options).length;
  }
  return count;
}

/** The plan in words: each file's fate, then each unsynced directory operation. */
export function describeCrashPlan(source: CrashSource, plan: CrashPlan): string {
  const parts: string[] = [];
  for (const ino of dirtyCandidates(source)) {
    const file = source.files.get(ino) as FileData;
    const outcome = plan.files?.get(ino) ?? { kind: 'drop' };
    const fate =
      outcome.kind === 'cut'
        ? `cut at ${outcome.length}`
        : outcome.kind === 'torn'
          ? `length ${outcome.length}, sector ${outcome.sector} zeroed`
          : outcome.kind;
    parts.push(`${nameOf(source, ino)} (synced ${file.syncedPrefix} of ${file.size}): ${fate}`);
  }
  let k = 0;
  for (const { op, durable } of source.pending) {
    if (durable) continue;
    parts.push(`${describeDirOp(op)}: ${plan.dirOps?.[k++] ? 'survived' : 'lost'}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'nothing unsynced';
}

function outcomesOf(file: FileData, options: CrashPlanOptions): FileOutcome[] {
  const from = file.syncedPrefix;
  const outcomes: FileOutcome[] = [{ kind: 'drop' }, { kind: 'keep' }];
  if (file.beforeCut) outcomes.push({ kind: 'before-cut' });
  const ends = file.writeEnds;
  const lastCut = lastCutOf(file);
  const cuts =
    options.cuts === 'write-ends'
      ? [...new Set([...ends.flatMap((e) => [e - 1, e, e + 1]), file.size])].filter(
          (c) => c > from && c <= lastCut,
        )
      : Array.from({ length: Math.max(0, lastCut - from) }, (_, i) => from + 1 + i);
  for (const length of cuts) outcomes.push({ kind: 'cut', length });
  for (const length of new Set([file.size, ...ends])) {
    if (length <= from) continue;
    for (const sector of sectorsOverlapping(from, length)) {
      outcomes.push({ kind: 'torn', length, sector });
    }
  }
  return outcomes;
}

// The last byte a cut may keep writes up to. Below the file's size; at its
// size too when a truncate since the last sync left it shorter than it is
// durably: every write kept, the truncate lost (the bytes past it show).
function lastCutOf(file: FileData): number {
  return file.durableBytes.length > file.size ? file.size : file.size - 1;
}

function dirOpChoices(source: CrashSource): boolean[][] {
  const n = unsyncedDirOps(source);
  if (source.dirOrder === 'in-order') return Array.from({ length: n + 1 }, (_, k) => prefix(n, k));
  if (n > MAX_ENUMERATED_DIR_OPS) {
    throw new RangeError(
      `expected at most ${MAX_ENUMERATED_DIR_OPS} unsynced directory operations to enumerate, found ${n}`,
    );
  }
  return Array.from({ length: 2 ** n }, (_, mask) =>
    Array.from({ length: n }, (_, i) => (mask & (1 << i)) !== 0),
  );
}

// Files with unsynced bytes that some crash could leave reachable.
function dirtyCandidates(source: CrashSource): number[] {
  const inos = reachableInodes(source.durableNs);
  for (const { op } of source.pending) {
    if (op.kind === 'link' && op.entry.kind === 'file') inos.add(op.entry.ino);
  }
  return [...inos].filter((ino) => source.files.get(ino)?.dirty).sort((a, b) => a - b);
}

function unsyncedDirOps(source: CrashSource): number {
  return source.pending.filter((p) => !p.durable).length;
}

function sectorsOverlapping(from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = Math.floor(from / SECTOR_SIZE) * SECTOR_SIZE; s < to; s += SECTOR_SIZE) out.push(s);
  return out;
}

function prefix(n: number, k: number): boolean[] {
  return Array.from({ length: n }, (_, i) => i < k);
}

function nameOf(source: CrashSource, ino: number): string {
  for (const ns of [source.currentNs, source.durableNs]) {
    for (const [dir, entries] of ns) {
      for (const [name, entry] of entries) {
        if (entry.kind === 'file' && entry.ino === ino) return path.posix.join(dir, name);
      }
    }
  }
  return `inode ${ino} (unlinked)`;
}
