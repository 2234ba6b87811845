import path from 'node:path';
import { brokenFilePath, type WalFs } from '@wal/fs';
import { io, isDirectory } from './io.js';
import { LogWalker } from './log-walker.js';
import type { SegmentInfo } from './segments.js';

/** Folder beside the segments where repair keeps segments it takes out of the log. */
export const QUARANTINE_DIR = 'quarantine';

/** One step of a repair. Every byte it takes out of the log is kept in `keptIn`. */
export interface RepairAction {
  /**
   * `cut`: the segment is truncated at `offset`. `move`: the whole segment
   * is renamed out of the log (`offset` is 0).
   */
  action: 'cut' | 'move';
  /** The segment file acted on. */
  file: string;
  offset: number;
  /** Bytes taken out of the log. */
  bytes: number;
  /**
   * `torn-tail`: the end of the last segment a crash left unfinished.
   * `damage`: damage elsewhere. `gap`: a missing, swapped, foreign or
   * out-of-sequence segment. `after-damage`: a later segment, intact but
   * beyond the valid prefix.
   */
  cause: 'torn-tail' | 'damage' | 'gap' | 'after-damage';
  /** The damage reason or gap kind that caused it. */
  reason: string;
  detail: string;
  /**
   * Where the bytes are kept: a `.broken` file beside the segment for a torn
   * tail (the cut bytes only); for anything else a file in `quarantine/`
   * holding the whole original segment, so the cut bytes keep their offsets
   * and `quarantine/` can itself be read with `scanLog(..., { mode: 'skip-corrupted' })`.
   */
  keptIn: string;
}

export interface RepairPlan {
  actions: RepairAction[];
  /** Sizes of the files acted on, when the plan was made (a cut copies `[0, size)` or `[offset, size)`). */
  sizes: Map<string, number>;
  nextSequence: number;
  lastSequence: number | null;
}

/**
 * Works out what repair does, without changing anything. The valid prefix
 * ends at the first damage that is not a torn tail, or at the first gap:
 * that segment is cut there (or moved, for a gap) and every later segment is
 * moved to `quarantine/`. A torn tail before that point is cut to a `.broken`
 * file, as the writer's open does.
 */
export async function planRepair(
  fs: WalFs,
  dir: string,
  maxRecordBytes: number,
): Promise<RepairPlan> {
  const walker = new LogWalker(fs, { dir }, maxRecordBytes);
  const actions: RepairAction[] = [];
  const sizes = new Map<string, number>();
  const names = new FreeNames(fs, path.join(dir, QUARANTINE_DIR));
  let stop: { index: number; action: RepairAction } | undefined;
  for (const event of walker.walk()) {
    // Between chunks, let timers and I/O run.
    if (event.kind === 'read') await new Promise(setImmediate);
    else if (event.kind === 'damage' && event.torn) {
      const { segment, offset, bytes, reason, detail } = event;
      sizes.set(segment.file, segment.size);
      // A file too short for a header is renamed whole, as the writer does.
      const action = offset === 0 ? 'move' : 'cut';
      const keptIn = io('list', dir, () => brokenFilePath(fs, segment.file));
      actions.push({
        action,
        file: segment.file,
        offset,
        bytes,
        cause: 'torn-tail',
        reason,
        detail,
        keptIn,
      });
    } else if (event.kind === 'damage') {
      const { segment, offset, reason, detail } = event;
      sizes.set(segment.file, segment.size);
      const keptIn = names.take(segment.file);
      const bytes = segment.size - offset;
      const action: RepairAction = {
        action: 'cut',
        file: segment.file,
        offset,
        bytes,
        cause: 'damage',
        reason,
        detail,
        keptIn,
      };
      stop = { index: walker.index + 1, action };
      break;
    } else if (event.kind === 'gap') {
      const { file, kind, detail } = event.gap;
      const { size } = event.segment;
      const action: RepairAction = {
        action: 'move',
        file,
        offset: 0,
        bytes: size,
        cause: 'gap',
        reason: kind,
        detail,
        keptIn: names.take(file),
      };
      stop = { index: walker.index + 1, action };
      break;
    }
  }
  if (stop) {
    actions.push(stop.action);
    for (const segment of walker.segments.slice(stop.index) as SegmentInfo[]) {
      actions.push({
        action: 'move',
        file: segment.file,
        offset: 0,
        bytes: segment.size,
        cause: 'after-damage',
        reason: stop.action.reason,
        detail: `after the ${stop.action.cause} in ${path.basename(stop.action.file)}`,
        keptIn: names.take(segment.file),
      });
    }
  }
  return { actions, sizes, nextSequence: walker.nextSequence, lastSequence: walker.lastSequence };
}

// Names in quarantine/: `wal_N.log`, then `wal_N.log.1`, `.2`... so an earlier
// repair's copies are never overwritten.
class FreeNames {
  readonly #dir: string;
  readonly #taken: Set<string>;

  constructor(fs: WalFs, dir: string) {
    this.#dir = dir;
    this.#taken = new Set(isDirectory(fs, dir) ? io('list', dir, () => fs.readdir(dir)) : []);
  }

  take(file: string): string {
    const base = path.basename(file);
    let name = base;
    for (let i = 1; this.#taken.has(name); i++) name = `${base}.${i}`;
    this.#taken.add(name);
    return path.join(this.#dir, name);
  }
}
