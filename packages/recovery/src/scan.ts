import path from 'node:path';
import { type Damage, ErrorCode, type WalEntry, WalError } from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import type { SegmentInfo } from '@wal/fs/segments';
import { damageError } from './errors.js';
import { parseScanOptions, type ResolvedScanOptions } from './options.js';
import type { RecoveryStats, ScanOptions } from './types.js';
import { LogWalker, type WalkEvent, type WalkSource } from './walker.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A streaming scan of a log, in constant memory whatever its size (files
 * are read in 256 KiB chunks). Iterate it once, either entry by entry
 * (`for await (const entry of scan)`) or in batches
 * (`for await (const entries of scan.batches())`: one await per batch of
 * about 1024 entries, or fewer when one 256 KiB read holds fewer, not one
 * per entry: the fast way to read a whole log). A batch record's entries
 * always come out together.
 * {@link LogScan.stats} is complete once iteration has ended (or thrown).
 *
 * Each entry is made once, by the frame decoder; the scan's figures go to
 * `stats` beside the entries, never around them. Its `key` and `value` are
 * views into the chunk it was read from, not copies. They stay valid (a
 * chunk is never reused), but keep that chunk (up to 256 KiB) alive: copy them
 * (`Uint8Array.prototype.slice`) if you retain many entries.
 */
export class LogScan implements AsyncIterable<WalEntry> {
  /** What the scan found; see {@link RecoveryStats}. */
  readonly stats: RecoveryStats;
  readonly #walker: LogWalker;
  readonly #dir: string;
  readonly #options: ResolvedScanOptions;
  #events: AsyncGenerator<WalkEvent> | undefined;
  #done = false;
  #finished = false;
  // Entries taken from the log so far (for `limit`); counted as returned in stats.
  #taken = 0;
  #scanned: SegmentInfo | undefined;
  #started = 0;

  /** @internal Use {@link scanLog} or {@link readSegment}. */
  constructor(source: WalkSource, options: ResolvedScanOptions) {
    this.#options = options;
    this.#dir = 'dir' in source ? source.dir : path.dirname(source.file);
    this.#walker = new LogWalker(
      options.fs,
      source,
      options.fromSequence,
      options.mode === 'skip-corrupted',
    );
    this.stats = {
      mode: options.mode,
      missing: false,
      entriesRecovered: 0,
      damagedRegions: 0,
      bytesRecovered: 0,
      bytesSkipped: 0,
      bytesUnread: 0,
      bytesFree: 0,
      segmentsScanned: 0,
      segmentsUnread: 0,
      tornTail: null,
      damage: [],
      holes: [],
      stoppedAt: null,
      firstSequence: null,
      nextSequence: 0,
      logId: null,
      lastSequence: null,
      durationMs: 0,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<WalEntry> {
    this.#start();
    let batch: WalEntry[] = [];
    let i = 0;
    const next = async (): Promise<IteratorResult<WalEntry>> => {
      while (i >= batch.length) {
        const more = await this.#nextBatch();
        if (more === null) return DONE;
        batch = more;
        i = 0;
      }
      this.stats.entriesRecovered++;
      return { done: false, value: batch[i++] as WalEntry };
    };
    return {
      next: () => {
        if (i >= batch.length) return next();
        this.stats.entriesRecovered++;
        return Promise.resolve({ done: false, value: batch[i++] as WalEntry });
      },
      return: async () => {
        await this.#finish();
        return DONE;
      },
    };
  }

  /**
   * The entries in batches, in log order: one await per batch (about 1024
   * entries, at most those of one 256 KiB read, those of one batch record
   * whole), not one per entry. Never an empty array. Each array is new: keep it if you like.
   */
  batches(): AsyncIterable<WalEntry[]> {
    this.#start();
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const batch = await this.#nextBatch();
          if (batch === null) return DONE;
          this.stats.entriesRecovered += batch.length;
          return { done: false, value: batch };
        },
        return: async () => {
          await this.#finish();
          return DONE;
        },
      }),
    };
  }

  #start(): void {
    if (this.#events) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        'expected a scan to be iterated once, found a second iteration; call scanLog again',
      );
    }
    this.#started = performance.now();
    this.#events = this.#walker.walk();
  }

  // Runs the walk up to the next entries, or the end. Null when done.
  async #nextBatch(): Promise<WalEntry[] | null> {
    const events = this.#events as AsyncGenerator<WalkEvent>;
    try {
      while (!this.#done) {
        this.#options.signal?.throwIfAborted();
        const step = await events.next();
        if (step.done) break;
        const event = step.value;
        if (event.kind === 'frames') {
          const entries = this.#entries(event);
          if (entries.length > 0) return entries;
        } else if (event.kind === 'segment') {
          this.stats.segmentsScanned++;
          this.#scanned = event.info;
        } else if (event.kind === 'skip') {
          this.stats.bytesSkipped += event.info.size;
        } else if (event.kind === 'damage') {
          this.#damage(event);
        }
      }
    } catch (error) {
      if (
        WalError.isInstance(error, ErrorCode.NOT_FOUND) &&
        this.#options.ifMissing === 'empty' &&
        this.#walker.segments.length === 0
      ) {
        this.stats.missing = true;
      } else {
        await this.#finish();
        throw error;
      }
    }
    await this.#finish();
    return null;
  }

  // The entries of a read's frames that the options ask for; holes are noted.
  #entries(event: Extract<WalkEvent, { kind: 'frames' }>): WalEntry[] {
    const { fromSequence, toSequence, limit } = this.#options;
    const stats = this.stats;
    const out: WalEntry[] = [];
    for (const { offset, size, record } of event.frames) {
      if (record.type === 'hole') {
        const { firstSequence, nextSequence, incident } = record;
        const { file, segment } = event.info;
        stats.holes.push({ file, segment, offset, firstSequence, nextSequence, incident });
        continue;
      }
      if (record.type !== 'batch') continue;
      const before = out.length;
      for (const entry of record.entries) {
        if (entry.sequence < fromSequence) continue;
        if (
          (toSequence !== undefined && entry.sequence > toSequence) ||
          (limit !== undefined && this.#taken >= limit)
        ) {
          this.#done = true;
          break;
        }
        out.push(entry);
        this.#taken++;
      }
      if (out.length > before) stats.bytesRecovered += size;
      if (this.#done) break;
    }
    return out;
  }

  #damage(event: Extract<WalkEvent, { kind: 'damage' }>): void {
    const stats = this.stats;
    const { damage, torn, info } = event;
    const mode = this.#options.mode;
    if (torn && mode !== 'strict') {
      // Dropped in every other mode, as the writer cuts it on open.
      if (stats.tornTail) stats.tornTail.bytes += damage.bytes;
      else stats.tornTail = { ...damage };
      stats.bytesSkipped += damage.bytes;
      // skip-corrupted lists every region it skips, the tail included.
      if (mode === 'skip-corrupted') this.#record(damage);
      return;
    }
    this.#record(damage);
    if (mode === 'skip-corrupted') stats.bytesSkipped += damage.bytes;
    else if (mode === 'point-in-time') this.#stop(info, damage);
    else throw damageError(this.#dir, mode, damage, torn);
  }

  #record(damage: Damage): void {
    this.stats.damage.push(damage);
    this.stats.damagedRegions++;
  }

  #stop(info: SegmentInfo, damage: Damage): void {
    const stats = this.stats;
    const { segments, index } = this.#walker;
    stats.stoppedAt = damage;
    const later = segments.slice(index + 1);
    stats.bytesUnread = info.size - damage.offset + later.reduce((sum, s) => sum + s.size, 0);
    // Stopped before reading any frame of it: the segment is unread too.
    stats.segmentsUnread = later.length + (this.#scanned === info ? 0 : 1);
    this.#done = true;
  }

  // Closes the walk (and its open file) and records the final figures.
  async #finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#done = true;
    this.stats.firstSequence = this.#walker.segments[0]?.header?.firstSequence ?? null;
    this.stats.nextSequence = this.#walker.nextSequence;
    this.stats.logId = this.#walker.segments.findLast((s) => s.header)?.header?.logId ?? null;
    this.stats.lastSequence = this.#walker.lastSequence;
    this.stats.bytesFree = this.#walker.bytesFree;
    this.stats.durationMs = performance.now() - this.#started;
    await this.#events?.return(undefined);
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
 * during iteration. Iteration rejects with `WAL_NOT_FOUND` when `dir` does
 * not exist (unless `ifMissing: 'empty'`), `WAL_CORRUPTION` at damage the
 * mode does not accept (after the entries before it), `WAL_TRUNCATED` when
 * retention deleted a segment it needed while it read, `WAL_IO_ERROR` when a
 * file cannot be read, and `WAL_INVALID_ARGUMENT` when `dir` is a file.
 */
export function scanLog(dir: string, options?: ScanOptions): LogScan {
  const checked = checkPath(dir, 'dir');
  return new LogScan({ dir: path.resolve(checked) }, parseScanOptions(options));
}

/**
 * Reads one segment file on its own: a segment of a log, a copy in a
 * repair incident (`quarantine/<n>/wal_N.log`) or a torn tail set aside
 * (`wal_N.log.broken`, a whole copy of the segment before the cut). It is
 * read as the last segment of its log (the tail rule applies) unless it is
 * sealed. Its header must be valid, and match the number in its name when
 * the name has one.
 */
export function readSegment(file: string, options?: ScanOptions): LogScan {
  const checked = checkPath(file, 'file');
  return new LogScan({ file: path.resolve(checked) }, parseScanOptions(options));
}
