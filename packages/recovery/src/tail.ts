import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import {
  CorruptionError,
  type DamageReason,
  ErrorCode,
  MAX_SEQUENCE,
  type WalEntry,
  WalError,
} from '@wal/codec';
import {
  boolean,
  checkPath,
  either,
  instanceOf,
  integer,
  object,
  oneOf,
  option,
  parseOptions,
  type ResolvedOptions,
  required,
} from '@wal/codec/internal';
import { isWalFs, nodeFs, type SegmentHold, Wal, type WalFs } from '@wal/fs';
import { errnoOf } from '@wal/fs/internal';
import {
  listSegmentFiles,
  readListedInfo,
  readListedInfos,
  readSegmentInfo,
  type SegmentInfo,
  segmentFileName,
} from '@wal/fs/segments';
import { TruncatedError } from './errors.js';
import { type CursorFrame, type CursorRead, type ReadStop, SegmentCursor } from './tail-cursor.js';
import type { HoleFound } from './types.js';

/** Options of {@link tailLog}. */
export interface TailOptions {
  /**
   * Where to start: a sequence (entries at or after it), `'earliest'`
   * (default: the oldest entry the log still holds) or `'latest'` (only
   * entries that become durable after iteration starts; on a log with no
   * segment yet, sequence 0 on). A sequence retention already deleted is
   * `WAL_TRUNCATED`, never a later start; one past the end is waited for.
   */
  from?: number | 'earliest' | 'latest';
  /**
   * The writer, when it runs in this process: the tail then wakes on its
   * commits (no polling) and yields exactly the entries below
   * `wal.durableSequence`. Its `dir` must be this one.
   */
  wal?: Wal;
  /** Aborts the tail: iteration rejects with the signal's reason. */
  signal?: AbortSignal;
  /** File-system implementation. Default: the writer's, else `nodeFs`. */
  fs?: WalFs;
  /**
   * Without `wal`: how often to look at the files when no change event came,
   * in ms (1 to 3,600,000). Default 250.
   */
  pollIntervalMs?: number;
  /** Without `wal`: wake on `fs.watch` change events too (with `nodeFs` only). Default true. */
  watch?: boolean;
  /**
   * With `wal`: hold the segments the tail has not read yet from retention
   * (`wal.holdSegments`, moved on as it reads), so that retention never
   * overtakes it. `true`, or a bound on the bytes of sealed segments it may
   * keep: past it, `'block'` (default) makes the writer's rotation wait for
   * the tail, `'error'` drops the hold and the tail rejects with
   * `WAL_HOLD_EXCEEDED`, so a dead reader cannot fill the disk. Released
   * when the tail ends. Default false.
   */
  retain?: boolean | { maxBytes: number; onExceeded?: 'block' | 'error' };
}

const retainTable = {
  maxBytes: required(integer(1)),
  onExceeded: option(oneOf(['block', 'error']), 'block'),
};
const tailTable = {
  from: option(either(integer(0, MAX_SEQUENCE), oneOf(['earliest', 'latest'])), 'earliest'),
  wal: option(instanceOf(Wal, 'a Wal from @wal/fs')),
  signal: option(instanceOf(AbortSignal, 'an AbortSignal')),
  fs: option({ expected: 'a WalFs with every method', test: isWalFs }),
  pollIntervalMs: option(integer(1, 3_600_000), 250),
  watch: option(boolean, true),
  retain: option(either(boolean, object(retainTable)), false),
};
type ResolvedTailOptions = Omit<ResolvedOptions<typeof tailTable>, 'fs'> & { fs: WalFs };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

interface Step {
  entries: WalEntry[];
  /** Something moved: look again before sleeping. */
  progress: boolean;
  /** With a writer: the durable watermark the step read under. */
  limit: number;
}

/**
 * A live reader of a log: an async iterable of entries (the shape
 * `scanLog` yields) that follows the log as records become durable, across
 * rotations, until closed or aborted. Iterate it once, entry by entry or
 * with {@link LogTail.batches}. `await using tail = tailLog(...)` closes it.
 *
 * What it yields is durable, never something a crash could take back:
 * - **with `wal`** (the writer in this process): exactly the entries below
 *   `wal.durableSequence`, woken by the writer right after each sync. When
 *   the writer closes, it yields what is left and ends; when the writer
 *   fails, it yields what was durable and throws `WAL_FAILED`.
 * - **without** (another process writes): it cannot see fdatasync. It yields
 *   a frame only once the files prove it durable: a later frame of the same
 *   segment carries a `synced` watermark at or past the frame's end (the
 *   writer wrote it after syncing those bytes, the close mark included), or
 *   the next segment exists (a segment is sealed and synced before the next
 *   one is created). So the last group the writer synced stays unconfirmed
 *   until it writes again, rotates or closes: across processes a tail lags
 *   by one group. Frames whose bytes are still landing are waited for,
 *   never reported as damage. It wakes on `fs.watch` events, and polls every
 *   `pollIntervalMs` in case an event is missed (or watching is not
 *   possible). It never ends by itself: a writer may always reopen.
 *
 * Holes that `repair` wrote are read past and listed in {@link LogTail.holes}.
 * Rejects with `WAL_TRUNCATED` ({@link TruncatedError}: the requested and
 * the earliest sequence) when the entries it needs were deleted by
 * retention, `WAL_CORRUPTION` at damage in durable bytes, `WAL_NOT_FOUND`
 * when the directory does not exist.
 */
export class LogTail implements AsyncIterable<WalEntry>, AsyncDisposable {
  /** Holes (sequences repair recorded as lost) passed so far. */
  readonly holes: HoleFound[] = [];
  readonly #dir: string;
  readonly #options: ResolvedTailOptions;
  readonly #stop = new AbortController();
  // Aborted when the hold is dropped: wakes a sleeping tail to report it.
  readonly #interrupt = new AbortController();
  readonly #signal: AbortSignal;
  readonly #hold: SegmentHold | undefined;
  #dropped: WalError | undefined;
  #cursor: SegmentCursor | undefined;
  #from = 0;
  // 'latest' without a writer: the first pass takes, and drops, what is confirmed already.
  #latest = false;
  // The log was listed once: 'latest' is resolved against the first listing.
  #looked = false;
  #started = false;
  #closed = false;
  // With a writer: undefined while it runs; null once it closed; else why it failed.
  #walEnd: WalError | null | undefined;
  #watcher: FSWatcher | undefined;
  // A change event came since the tail last began to read.
  #changed = false;
  #wake: (() => void) | undefined;
  // A step is reading: its file is closed when it ends, not under it.
  #busy = false;

  /** @internal Use {@link tailLog}. */
  constructor(dir: string, options: ResolvedTailOptions) {
    this.#dir = dir;
    this.#options = options;
    const signals = [this.#stop.signal, this.#interrupt.signal];
    this.#signal = AbortSignal.any(options.signal ? [options.signal, ...signals] : signals);
    const { wal, retain } = options;
    if (wal && retain) {
      // Everything, until the tail knows where it starts.
      this.#hold = wal.holdSegments(0, {
        ...(retain === true ? {} : retain),
        onDropped: (error) => {
          this.#dropped = error;
          this.#interrupt.abort(error);
        },
      });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<WalEntry> {
    this.#start();
    let batch: WalEntry[] = [];
    let i = 0;
    return {
      next: async () => {
        while (i >= batch.length) {
          const more = await this.#nextBatch();
          if (more === null) return DONE;
          batch = more;
          i = 0;
        }
        return { done: false, value: batch[i++] as WalEntry };
      },
      return: async () => {
        await this.close();
        return DONE;
      },
    };
  }

  /** The entries as they come, several per await when several are ready. Never an empty array. */
  batches(): AsyncIterable<WalEntry[]> {
    this.#start();
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const batch = await this.#nextBatch();
          return batch === null ? DONE : { done: false, value: batch };
        },
        return: async () => {
          await this.close();
          return DONE;
        },
      }),
    };
  }

  /** Stops the tail: a pending `next()` resolves done; the open file and the watcher are released. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stop.abort();
      this.#wake?.();
      this.#watcher?.close();
      this.#watcher = undefined;
    }
    if (!this.#busy) await this.#release();
  }

  async #release(): Promise<void> {
    this.#hold?.release();
    const cursor = this.#cursor;
    this.#cursor = undefined;
    await cursor?.close();
  }

  /** {@link LogTail.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(): void {
    if (this.#started) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        'expected a tail to be iterated once, found a second iteration; call tailLog again',
      );
    }
    this.#started = true;
  }

  async #nextBatch(): Promise<WalEntry[] | null> {
    this.#busy = true;
    try {
      for (;;) {
        if (this.#closed) return null;
        this.#options.signal?.throwIfAborted();
        if (this.#dropped) throw this.#dropped;
        const step = await this.#step();
        if (this.#closed) return null;
        if (step.entries.length > 0) return step.entries;
        if (step.progress) continue;
        if (this.#latest && this.#cursor) {
          this.#from = this.#cursor.nextSequence;
          this.#latest = false;
        }
        if (this.#walEnd === null) {
          await this.close();
          return null;
        }
        if (this.#walEnd) throw this.#walEnd;
        await this.#sleep(step.limit);
      }
    } catch (error) {
      // Closed meanwhile: whatever failed under it does not matter.
      const closed = this.#closed && !this.#options.signal?.aborted;
      await this.close();
      if (closed) return null;
      throw error;
    } finally {
      this.#busy = false;
      if (this.#closed) await this.#release();
    }
  }

  // One look at the log: takes what is durable past the cursor.
  async #step(): Promise<Step> {
    const wal = this.#options.wal;
    // Read before the files: what was durable then is complete in them.
    const limit = wal ? wal.durableSequence : 0;
    const idle: Step = { entries: [], progress: false, limit };
    if (!this.#cursor && !(await this.#locate(limit))) return idle;
    const cursor = this.#cursor as SegmentCursor;
    if (cursor.sealedAt !== null) return { ...idle, progress: await this.#moveOn(cursor) };
    // Without a writer: a next segment proves this one sealed and synced.
    const sealedForSure = !wal && (await this.#exists(cursor.segment + 1));
    const read = await cursor.read();
    let taken = 0;
    for (const f of read.frames) {
      const durable = wal
        ? frameNext(f) <= limit
        : sealedForSure || f.offset + f.size <= cursor.synced;
      if (!durable) break;
      taken++;
    }
    if (!wal && taken === 0 && (await this.#vouchedPastDamage(cursor, read))) {
      // Their bytes are durable now, but what was read before the proof may
      // have been cut and written again since: a read after it takes them.
      const last = read.frames.at(-1) as CursorFrame;
      cursor.synced = Math.max(cursor.synced, last.offset + last.size);
      return { ...idle, progress: true };
    }
    const entries = this.#take(cursor, read.frames.slice(0, taken));
    if (taken > 0) return { entries, progress: true, limit };
    if (taken === read.frames.length) {
      const stop = read.stop;
      // Without the writer the files decide. Zeros to the end of the file
      // end the segment's data, as readFrames reads them: free space in the
      // last segment, a missing seal (below) in one with a next segment.
      const zeros = !wal && stop.kind === 'damage' && (await cursor.zerosToEnd(stop));
      if (stop.kind === 'damage' && !zeros) {
        const real = wal
          ? limit > cursor.nextSequence
          : sealedForSure || (await cursor.writtenAfter(stop.offset));
        if (real) {
          // The writer may have written over what was read (zeros, say)
          // before the check looked further: damage is only what a read made
          // after the check still finds.
          if (!wal && (await this.#readChanged(cursor, stop))) return { ...idle, progress: true };
          throw this.#corruption(cursor, stop.offset, stop.reason, stop.detail);
        }
      } else if ((read.reachedEnd || zeros) && stop.kind !== 'sealed') {
        if (wal && limit > cursor.nextSequence) {
          const detail = `expected the durable sequence ${cursor.nextSequence} at offset ${cursor.offset}, found the file ending there`;
          throw this.#corruption(cursor, cursor.offset, 'truncated', detail);
        }
        if (sealedForSure) {
          const detail = `expected ${path.basename(cursor.file)} to end with a seal (${segmentFileName(cursor.segment + 1)} exists), found none after offset ${cursor.offset}`;
          throw this.#corruption(cursor, cursor.offset, 'bad-seal', detail);
        }
        // A frame running past the end is a write landing, unless a frame
        // after its start was written once its bytes were durable: a rotted length.
        if (!wal && stop.kind === 'incomplete' && (await cursor.writtenAfter(cursor.offset))) {
          if (await this.#readChanged(cursor, stop)) return { ...idle, progress: true };
          const detail = `expected a complete frame at offset ${cursor.offset}, found one running past the end of the file, with a frame after its start written once it was durable`;
          throw this.#corruption(cursor, cursor.offset, 'bad-length', detail);
        }
      }
    }
    if (!read.reachedEnd && read.stop.kind !== 'damage') {
      cursor.widen();
      return { ...idle, progress: true };
    }
    return idle;
  }

  // Moves the cursor past `frames` and returns their entries the tail asks for.
  #take(cursor: SegmentCursor, frames: CursorFrame[]): WalEntry[] {
    const out: WalEntry[] = [];
    for (const { offset, record } of frames) {
      if (record.type === 'batch') {
        if (this.#latest) continue;
        for (const entry of record.entries) if (entry.sequence >= this.#from) out.push(entry);
      } else if (record.type === 'hole') {
        const { firstSequence, nextSequence, incident } = record;
        const { file, segment } = cursor;
        this.holes.push({ file, segment, offset, firstSequence, nextSequence, incident });
      }
    }
    const last = frames.at(-1);
    if (last) cursor.take(last);
    return out;
  }

  // Finds the segment to start in. False when the log has no segment yet.
  async #locate(limit: number): Promise<boolean> {
    const infos = await readListedInfos(this.#options.fs, this.#dir);
    const first = infos[0];
    const firstLook = !this.#looked;
    this.#looked = true;
    if (!first) {
      // No segment when the tail started: all the log will hold is written
      // after, from sequence 0 (a later start, retention racing, is truncation).
      if (firstLook && this.#options.from === 'latest') this.#options.from = 0;
      return false;
    }
    const earliest = headerOf(first).firstSequence;
    const from = this.#options.from;
    let start: number;
    if (from === 'earliest') start = earliest;
    else if (from === 'latest') {
      start = this.#options.wal ? limit : MAX_SEQUENCE;
      this.#latest = !this.#options.wal;
    } else {
      if (from < earliest)
        throw truncated(
          from,
          earliest,
          `the segments before ${path.basename(first.file)} are gone`,
        );
      start = from;
    }
    const info = infos.findLast((i) => headerOf(i).firstSequence <= start) ?? first;
    try {
      this.#cursor = await SegmentCursor.open(this.#options.fs, info, headerOf(info));
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
      return this.#locate(limit); // deleted just now: look again (it may be too late)
    }
    this.#from = this.#latest ? 0 : start;
    this.#hold?.advance(info.segment);
    return true;
  }

  // After a seal: on to the next segment, which must start where the seal ends.
  async #moveOn(cursor: SegmentCursor): Promise<boolean> {
    const segment = cursor.segment + 1;
    const file = path.join(this.#dir, segmentFileName(segment));
    const needed = Math.max(this.#from, cursor.sealedAt as number);
    let info: SegmentInfo;
    let next: SegmentCursor;
    try {
      info = await readSegmentInfo(this.#options.fs, file, segment);
      const header = info.header;
      const problem = !header
        ? info.headerDetail
        : header.logId !== cursor.header.logId
          ? `expected the log id ${cursor.header.logId}, found ${header.logId}`
          : header.firstSequence !== cursor.sealedAt
            ? `expected the segment to start at sequence ${cursor.sealedAt} (where ${path.basename(cursor.file)} ends), found ${header.firstSequence}`
            : undefined;
      if (problem || !header) {
        throw new CorruptionError(`${file}: ${problem}`, {
          file,
          segment,
          offset: 0,
          bytes: 0,
          reason: header ? 'bad-sequence' : 'bad-header',
          detail: problem ?? '',
        });
      }
      next = await SegmentCursor.open(this.#options.fs, info, header);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
      const fs = this.#options.fs;
      const files = await listSegmentFiles(fs, this.#dir);
      const listed = files.find((f) => f.segment === segment);
      // Listed now: made since (a rotation renames it into place), so look
      // again; or a dangling link, which readListedInfo reports.
      if (listed && (await readListedInfo(fs, this.#dir, listed))) return this.#moveOn(cursor);
      // Not created yet, or retention deleted it (and later ones exist).
      let earliest: SegmentInfo | null = null;
      for (const later of files.filter((f) => f.segment > segment)) {
        earliest = await readListedInfo(fs, this.#dir, later);
        if (earliest) break;
      }
      if (!earliest) return false;
      throw truncated(
        needed,
        earliest.header?.firstSequence ?? null,
        `${segmentFileName(segment)} is gone`,
      );
    }
    this.#cursor = next;
    this.#hold?.advance(segment);
    await cursor.close();
    return true;
  }

  // Frames no frame before the damage they stop at confirms (or a frame
  // running past the end of the file): a frame past it, written once its
  // bytes were synced, proves them durable too, and the damage rot (reported
  // once they are taken), not a write landing.
  async #vouchedPastDamage(cursor: SegmentCursor, read: CursorRead): Promise<boolean> {
    const { frames, stop } = read;
    const last = frames.at(-1);
    if (!last) return false;
    if (stop.kind === 'incomplete' && read.reachedEnd) {
      return cursor.writtenAfter(last.offset + last.size);
    }
    if (stop.kind !== 'damage') return false;
    // Free space has no frame after it, and is cheaper to tell.
    if (await cursor.zerosToEnd(stop)) return false;
    return cursor.writtenAfter(stop.offset);
  }

  async #readChanged(cursor: SegmentCursor, stop: ReadStop): Promise<boolean> {
    const again = await cursor.read();
    return again.frames.length > 0 || !sameStop(again.stop, stop);
  }

  async #exists(segment: number): Promise<boolean> {
    const file = path.join(this.#dir, segmentFileName(segment));
    try {
      await this.#options.fs.stat(file);
      return true;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return false;
      throw error;
    }
  }

  async #sleep(limit: number): Promise<void> {
    const wal = this.#options.wal;
    if (wal) {
      try {
        await wal.waitDurable(limit, this.#signal);
      } catch (error) {
        if (this.#signal.aborted) return; // the loop reports it
        if (WalError.isInstance(error, ErrorCode.CLOSED)) this.#walEnd = null;
        else if (WalError.isInstance(error, ErrorCode.FAILED)) this.#walEnd = error;
        else throw error;
      }
      return;
    }
    // A change seen while the tail was reading, or before it watched at all,
    // may be what that read missed: read again before sleeping.
    if (this.#watch() || this.#changed) {
      this.#changed = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#changed = false;
        clearTimeout(timer);
        this.#signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#options.pollIntervalMs);
      this.#wake = done;
      this.#signal.addEventListener('abort', done, { once: true });
    });
  }

  // Change events wake the tail early; the poll covers missed ones. True
  // when it starts watching now.
  #watch(): boolean {
    if (this.#watcher || !this.#options.watch || this.#options.fs !== nodeFs) return false;
    try {
      this.#watcher = watch(this.#dir, { persistent: false }, () => {
        this.#changed = true;
        this.#wake?.();
      });
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
        this.#options.watch = false; // polling only from now on
      });
      return true;
    } catch {
      this.#options.watch = false;
      return false;
    }
  }

  #corruption(
    cursor: SegmentCursor,
    offset: number,
    reason: DamageReason,
    detail: string,
  ): CorruptionError {
    const { file, segment } = cursor;
    return new CorruptionError(
      `${file} at offset ${offset}: ${detail} (${reason}); the bytes are durable, so this is damage, not a write in progress. Inspect it with \`wal verify ${this.#dir}\``,
      { file, segment, offset, bytes: 0, reason, detail },
    );
  }
}

/**
 * Follows the log in `dir` as records become durable: see {@link LogTail}.
 *
 * ```ts
 * await using tail = tailLog('./data/wal', { from: 'earliest', wal });
 * for await (const { sequence, type, key, value } of tail) { ... }
 * ```
 *
 * Options are validated now (`WAL_INVALID_OPTIONS`); the files are read
 * during iteration.
 */
export function tailLog(dir: string, options?: TailOptions): LogTail {
  const resolved = path.resolve(checkPath(dir, 'dir'));
  const parsed = parseOptions('tail', tailTable, options);
  const { wal } = parsed;
  if (wal && wal.dir !== resolved) {
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      `expected valid tail options, found wal: expected the writer of ${resolved}, found the writer of ${wal.dir}`,
    );
  }
  if (!wal && parsed.retain !== false) {
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      'expected valid tail options, found retain without wal: only the writer in this process can hold segments',
    );
  }
  if (wal && parsed.fs && parsed.fs !== wal.fs) {
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      'expected valid tail options, found fs: expected the file system the wal writes through (or none), found another',
    );
  }
  return new LogTail(resolved, { ...parsed, fs: parsed.fs ?? wal?.fs ?? nodeFs });
}

function headerOf(info: SegmentInfo) {
  if (info.header) return info.header;
  throw new CorruptionError(`${info.file}: ${info.headerDetail} (bad-header)`, {
    file: info.file,
    segment: info.segment,
    offset: 0,
    bytes: info.size,
    reason: 'bad-header',
    detail: info.headerDetail,
  });
}

function sameStop(a: ReadStop, b: ReadStop): boolean {
  if (a.kind !== 'damage' || b.kind !== 'damage') return a.kind === b.kind;
  return a.offset === b.offset && a.reason === b.reason;
}

function frameNext(frame: CursorFrame): number {
  const r = frame.record;
  return r.type === 'batch' ? r.firstSequence + r.entries.length : r.nextSequence;
}

function truncated(requested: number, earliest: number | null, gone: string): TruncatedError {
  const left =
    earliest === null ? 'no segment is left' : `the earliest sequence left is ${earliest}`;
  return new TruncatedError(
    `expected sequence ${requested} in the log, found it deleted by retention (${gone}); ${left}. A tail never starts later on its own: start it again from 'earliest'${earliest === null ? '' : ` or ${earliest}`} to skip what was lost`,
    requested,
    earliest,
  );
}
