import path from 'node:path';
import { ErrorCode, type WalEntry, WalError } from '@wal/codec';
import { damageError, gapError } from './errors.js';
import { LogWalker, type WalkEvent, type WalkSource } from './log-walker.js';
import { checkPath, parseScanOptions, type ResolvedScanOptions } from './options.js';
import type { SegmentInfo } from './segments.js';
import type { Corruption, RecoveryMode, RecoveryStats, ScanOptions, StopPoint } from './types.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const EMPTY: WalEntry[] = [];
const PAUSE = Symbol('pause');

/**
 * A streaming scan of a log: an async iterable of entries in sequence order,
 * whose {@link LogScan.stats} are complete once iteration has ended (or
 * thrown). It can be iterated once. Memory stays constant whatever the log's
 * size: the file is read in 1 MiB chunks.
 *
 * Each entry's `key` and `value` are views into the chunk it was read from,
 * not copies. They stay valid, but keep that chunk (up to 1 MiB) alive:
 * copy them (`Uint8Array.prototype.slice`) if you retain many entries.
 */
export class LogScan implements AsyncIterable<WalEntry> {
  /** What the scan found; see {@link RecoveryStats}. */
  readonly stats: RecoveryStats;
  readonly #walker: LogWalker;
  readonly #dir: string;
  readonly #mode: RecoveryMode;
  readonly #from: number;
  #events: Generator<WalkEvent> | undefined;
  #entries = EMPTY;
  #i = 0;
  #done = false;
  #started = 0;

  /** @internal Use {@link scanLog} or {@link readSegment}. */
  constructor(source: WalkSource, options: ResolvedScanOptions) {
    this.#mode = options.mode;
    this.#from = options.fromSequence;
    this.#dir = 'dir' in source ? source.dir : path.dirname(source.file);
    this.#walker = new LogWalker(options.fs, source, options.maxRecordBytes, options.fromSequence);
    this.stats = {
      mode: options.mode,
      entriesRecovered: 0,
      entriesCorrupted: 0,
      bytesRecovered: 0,
      bytesSkipped: 0,
      bytesUnread: 0,
      segmentsScanned: 0,
      segmentsUnread: 0,
      tornTail: null,
      corruptions: [],
      gaps: [],
      stoppedAt: null,
      nextSequence: 0,
      lastSequence: null,
      durationMs: 0,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<WalEntry> {
    if (this.#events) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        'expected a scan to be iterated once, found a second iteration; call scanLog again',
      );
    }
    this.#started = performance.now();
    this.#events = this.#walker.walk();
    const next = (): Promise<IteratorResult<WalEntry>> => {
      // Fast path: the rest of a batch already decoded.
      if (this.#i < this.#entries.length) {
        this.stats.entriesRecovered++;
        return Promise.resolve({ done: false, value: this.#entries[this.#i++] as WalEntry });
      }
      let step: IteratorResult<WalEntry> | typeof PAUSE;
      try {
        step = this.#advance();
      } catch (error) {
        this.#finish();
        return Promise.reject(error);
      }
      // Between chunks, let timers and I/O run: a long scan must not starve them.
      return step === PAUSE ? new Promise(setImmediate).then(next) : Promise.resolve(step);
    };
    return {
      next,
      return: async () => {
        this.#finish();
        return DONE;
      },
    };
  }

  // Runs the walk synchronously up to the next entry, the end, or a chunk boundary.
  #advance(): IteratorResult<WalEntry> | typeof PAUSE {
    const events = this.#events as Generator<WalkEvent>;
    while (!this.#done) {
      const step = events.next();
      if (step.done) break;
      const event = step.value;
      if (event.kind === 'record') {
        if (this.#stage(event)) {
          this.stats.entriesRecovered++;
          return { done: false, value: this.#entries[this.#i++] as WalEntry };
        }
      } else if (event.kind === 'read') {
        return PAUSE;
      } else if (event.kind === 'segment') {
        this.stats.segmentsScanned++;
      } else if (event.kind === 'damage') {
        this.#damage(event);
      } else if (event.kind === 'gap') {
        this.#gap(event);
      }
    }
    this.#finish();
    return DONE;
  }

  // Makes a record's entries (those at or after fromSequence) the next to return.
  #stage(event: Extract<WalkEvent, { kind: 'record' }>): boolean {
    const { firstSequence, entries } = event.record;
    const skip = Math.max(0, this.#from - firstSequence);
    if (skip >= entries.length) return false;
    this.#entries = skip > 0 ? entries.slice(skip) : entries;
    this.#i = 0;
    this.stats.bytesRecovered += event.size;
    return true;
  }

  #damage(event: Extract<WalkEvent, { kind: 'damage' }>): void {
    const stats = this.stats;
    const { segment, offset, bytes, reason, detail } = event;
    const damage: Corruption = {
      segment: segment.segmentNumber,
      file: segment.file,
      offset,
      bytes,
      reason,
      detail,
    };
    if (event.torn && this.#mode !== 'strict') {
      // Dropped in every other mode, as the writer cuts it on open.
      if (stats.tornTail) stats.tornTail.bytes += bytes;
      else stats.tornTail = { ...damage };
      stats.bytesSkipped += bytes;
      // skip-corrupted lists every region it skips, the tail included.
      if (this.#mode === 'skip-corrupted') this.#corrupt(damage);
      return;
    }
    this.#corrupt(damage);
    if (this.#mode === 'skip-corrupted') stats.bytesSkipped += bytes;
    else if (this.#mode === 'point-in-time') this.#stop(segment, offset, reason, false);
    else throw damageError(this.#dir, this.#mode, damage, event.torn);
  }

  #gap(event: Extract<WalkEvent, { kind: 'gap' }>): void {
    const { gap } = event;
    this.stats.gaps.push(gap);
    if (this.#mode === 'skip-corrupted') this.stats.bytesSkipped += gap.bytes;
    else if (this.#mode === 'point-in-time') this.#stop(event.segment, 0, gap.kind, true);
    else throw gapError(this.#dir, this.#mode, gap);
  }

  #corrupt(damage: Corruption): void {
    this.stats.corruptions.push(damage);
    this.stats.entriesCorrupted++;
  }

  #stop(
    segment: SegmentInfo,
    offset: number,
    reason: StopPoint['reason'],
    wholeSegment: boolean,
  ): void {
    const stats = this.stats;
    const { segments, index } = this.#walker;
    stats.stoppedAt = {
      segment: segment.segmentNumber,
      file: segment.file,
      offset,
      reason,
    };
    const later = segments.slice(index + 1);
    stats.bytesUnread = segment.size - offset + later.reduce((sum, s) => sum + s.size, 0);
    stats.segmentsUnread = later.length + (wholeSegment ? 1 : 0);
    this.#finish();
  }

  // Closes the walk (and its open file) and records the final figures.
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#entries = EMPTY;
    this.#events?.return(undefined);
    this.stats.nextSequence = this.#walker.nextSequence;
    this.stats.lastSequence = this.#walker.lastSequence;
    this.stats.durationMs = performance.now() - this.#started;
  }
}

/**
 * Scans the log in `dir`, segment by segment, in constant memory.
 *
 * ```ts
 * const scan = scanLog('./data/wal', { mode: 'tolerate-tail' });
 * for await (const { sequence, type, key, value } of scan) { ... }
 * console.log(scan.stats.tornTail);
 * ```
 *
 * Options are validated now (`WAL_INVALID_OPTIONS`); the directory is read
 * during iteration. A missing or empty directory yields nothing. Throws
 * `WAL_CORRUPTION` at damage the mode does not accept (after the entries
 * before it), `WAL_IO_ERROR` when a file cannot be read, and
 * `WAL_INVALID_ARGUMENT` when `dir` is a file.
 */
export function scanLog(dir: string, options?: ScanOptions): LogScan {
  const checked = checkPath(dir, 'dir');
  return new LogScan({ dir: path.resolve(checked) }, parseScanOptions(options));
}

/**
 * Reads one segment file on its own (the original's `WalReader`), treating
 * it as the last segment of its log for the tail policy. Its header must be
 * valid, and match the number in its name when the name has one.
 */
export function readSegment(file: string, options?: ScanOptions): LogScan {
  const checked = checkPath(file, 'file');
  return new LogScan({ file: path.resolve(checked) }, parseScanOptions(options));
}
