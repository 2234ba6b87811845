import { ErrorCode, WalError } from '@wal/codec';
import {
  defaults,
  instanceOf,
  integer,
  object,
  oneOf,
  option,
  parseOptions,
  type ResolvedOptions,
  required,
} from '@wal/codec/internal';
import { type SealedSegmentInfo, type SegmentHold, Wal } from '@wal/fs';
import { SequenceWaiters } from '@wal/fs/internal';
import { checkArchiveList, isArchiveTarget, readWhole, sha256 } from './archive-check.js';
import type { ArchivedSegment, ArchiveTarget } from './archive-target.js';

/** How {@link archiveLog} retries a failing target. */
export interface ArchiveRetry {
  /** First wait, in ms. Default 100. */
  initialDelayMs?: number;
  /** Longest wait, in ms; each wait doubles up to it (with jitter: 50 to 100 % of it). Default 30,000. */
  maxDelayMs?: number;
  /** Give up (and stop with the target's error) after this many attempts. Default: never. */
  maxAttempts?: number;
}

/** Options of {@link archiveLog}. */
export interface ArchiveOptions {
  /** The writer whose sealed segments to ship. */
  wal: Wal;
  /** Where to: {@link directoryTarget}, `@wal/nats`'s Object Store target, or your own. */
  target: ArchiveTarget;
  /** Stops the archiver: `done` rejects with the signal's reason. */
  signal?: AbortSignal;
  retry?: ArchiveRetry;
  /**
   * Bound on the bytes of sealed segments not yet acknowledged by the
   * target (the retention hold's `maxBytes`). Past it, `'block'`: the
   * writer's next rotation waits (and so do the appends that need a new
   * segment) until the archive catches up; `'error'`: the hold is dropped
   * and the archiver stops with `WAL_HOLD_EXCEEDED`, so retention may
   * delete what was not archived. Default: no bound.
   */
  maxPending?: { bytes: number; onExceeded: 'block' | 'error' };
}

/** What one archiver did so far. */
export interface ArchiveStats {
  /** Segments the target acknowledged during this run. */
  archived: number;
  /** Their bytes. */
  bytes: number;
  /** Failed attempts that were retried. */
  retries: number;
}

const positive = integer(1);
const retryTable = {
  initialDelayMs: option(positive, 100),
  maxDelayMs: option(positive, 30_000),
  maxAttempts: option(positive),
};
const archiveTable = {
  wal: required(instanceOf(Wal, 'a Wal from @wal/fs')),
  target: required({ expected: 'an ArchiveTarget (put, get and list)', test: isArchiveTarget }),
  signal: option(instanceOf(AbortSignal, 'an AbortSignal')),
  retry: option(object(retryTable), defaults(retryTable)),
  maxPending: option(
    object({ bytes: required(positive), onExceeded: required(oneOf(['block', 'error'])) }),
  ),
};
type ResolvedArchiveOptions = ResolvedOptions<typeof archiveTable>;

// Errors no retry can fix.
const FATAL: readonly string[] = [
  ErrorCode.ARCHIVE_CONFLICT,
  ErrorCode.ARCHIVE_GAP,
  ErrorCode.ARCHIVE_CORRUPT,
  ErrorCode.INVALID_ARGUMENT,
  ErrorCode.INVALID_OPTIONS,
  ErrorCode.TRUNCATED,
  ErrorCode.CORRUPTION,
];

/**
 * Ships a writer's sealed segments to an archive target: each one at least
 * once, in segment order, each only after the previous one was
 * acknowledged, retried with exponential backoff until acknowledged. Made
 * by {@link archiveLog}.
 *
 * - **Nothing is deleted before it is archived**: the archiver holds the
 *   writer's segments from retention (`wal.holdSegments`) from the moment
 *   it is made, and lets each go only once the target acknowledged it.
 * - **Idempotent and resumable**: what the target lists counts as done. A
 *   restarted archiver starts after the target's last segment (checking
 *   that segment's checksum against the local one while it is still here);
 *   a resend the target already holds with the same checksum is success,
 *   another checksum is `WAL_ARCHIVE_CONFLICT`.
 * - **No gap, ever**: if retention deleted a segment before any archiver
 *   shipped it, the archiver stops with `WAL_ARCHIVE_GAP`.
 * - The active segment is shipped once sealed (`rotate()`, or full).
 *
 * It runs until the writer closes (after shipping every segment sealed
 * before), {@link Archiver.close}, an abort, or an error it cannot retry;
 * then it releases its hold. Await {@link Archiver.done} (or check
 * {@link Archiver.error}): it rejects with that error. An archive that
 * stopped unnoticed is a silent gap waiting to happen, so watch it.
 */
export class Archiver implements AsyncDisposable {
  /** Settles when the archiver stops: see {@link Archiver}. */
  readonly done: Promise<void>;
  readonly stats: ArchiveStats = { archived: 0, bytes: 0, retries: 0 };
  readonly #options: ResolvedArchiveOptions;
  readonly #hold: SegmentHold;
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  #archived: number | null = null;
  #stopped = false;
  #error: unknown;
  readonly #waiters = new SequenceWaiters();

  /** @internal Use {@link archiveLog}. */
  constructor(options: ResolvedArchiveOptions) {
    this.#options = options;
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#stop.signal])
      : this.#stop.signal;
    const bound = options.maxPending;
    // Everything is held until the target says what it has: nothing may go before.
    this.#hold = options.wal.holdSegments(
      0,
      bound && {
        maxBytes: bound.bytes,
        onExceeded: bound.onExceeded,
        onDropped: (error) => this.#fail(error),
      },
    );
    this.done = this.#run();
    // Observed whenever the caller gets to it: an archiver that stops before
    // anyone awaits `done` must not crash the process as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** The highest segment the target holds (listed or acknowledged), or null. */
  get archivedThrough(): number | null {
    return this.#archived;
  }

  /** Why it stopped, if it stopped with an error. */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Resolves once every segment the writer had sealed when it was called is
   * acknowledged by the target; rejects if the archiver stops first.
   */
  idle(): Promise<void> {
    const segment = this.#options.wal.segment - 1;
    if ((this.#archived ?? -1) >= segment) return Promise.resolve();
    if (this.#stopped) return Promise.reject(this.#stoppedError());
    return this.#waiters.wait(segment);
  }

  /** Stops shipping (a put in flight is abandoned) and releases the hold; `done` then resolves. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.done.catch(() => undefined);
  }

  /** {@link Archiver.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(): Promise<void> {
    try {
      await this.#ship();
    } catch (error) {
      // A dropped hold set the error already; close() is no error; an abort is its reason.
      if (this.#error === undefined) {
        if (this.#options.signal?.aborted) this.#error = this.#options.signal.reason;
        else if (!this.#stop.signal.aborted) this.#error = error;
      }
    } finally {
      this.#stopped = true;
      this.#hold.release();
      this.#waiters.fail(this.#stoppedError());
    }
    if (this.#error !== undefined) throw this.#error;
  }

  async #ship(): Promise<void> {
    const { wal, target } = this.#options;
    const listed = checkArchiveList(
      await this.#retry('list the archive', () => target.list(this.#signal)),
    );
    const last = listed.at(-1);
    if (last && last.segment >= wal.segment) {
      throw new WalError(
        ErrorCode.ARCHIVE_CONFLICT,
        `expected the archive to end before the log's active segment ${wal.segment}, found it holding segment ${last.segment} (the archive of another log, or of this log before it was rewound)`,
      );
    }
    if (last) this.#acknowledged(last.segment);
    for await (const s of this.#sealed(last)) {
      const info: ArchivedSegment = {
        segment: s.segment,
        firstSequence: s.firstSequence,
        lastSequence: s.lastSequence,
        bytes: s.bytes,
        checksum: s.checksum,
      };
      if (last && s.segment === last.segment) {
        if (s.checksum !== last.checksum) throw conflict(info, last);
        continue;
      }
      const data = await readWhole(wal.fs, s.file);
      if (data.length !== s.bytes || sha256(data) !== s.checksum) {
        throw new WalError(
          ErrorCode.ARCHIVE_CORRUPT,
          `expected ${s.file} to hold the ${s.bytes} bytes of checksum ${s.checksum} it had when sealed, found ${data.length} bytes of checksum ${sha256(data)}`,
        );
      }
      await this.#retry(`archive segment ${s.segment}`, () => target.put(info, data, this.#signal));
      this.stats.archived++;
      this.stats.bytes += s.bytes;
      this.#acknowledged(s.segment);
    }
  }

  // The writer's sealed segments after what the archive holds, checked to
  // continue it: the archive's last one first while it is still in the log
  // (to compare its checksum), then each next one.
  async *#sealed(last: ArchivedSegment | undefined): AsyncGenerator<SealedSegmentInfo> {
    const { wal } = this.#options;
    const signal = this.#signal;
    let feed = wal.sealedSegments({ signal, ...(last ? { from: last.segment } : {}) });
    let first = await feed.next().catch((error: unknown) => ({ error }));
    if ('error' in first && last && WalError.isInstance(first.error, ErrorCode.TRUNCATED)) {
      // The archive's last segment is gone here already: start after it.
      feed = wal.sealedSegments({ signal, from: last.segment + 1 });
      first = await feed.next().catch((error: unknown) => ({ error }));
    }
    if ('error' in first) {
      if (last && WalError.isInstance(first.error, ErrorCode.TRUNCATED)) {
        throw new WalError(
          ErrorCode.ARCHIVE_GAP,
          `expected segment ${last.segment + 1}, the one after the archive's last, in the log, found it deleted before it was archived: the archive would have a gap`,
          { cause: first.error },
        );
      }
      throw first.error;
    }
    let expected = last && { segment: last.segment + 1, next: last.lastSequence + 1 };
    for (let r: IteratorResult<SealedSegmentInfo> = first; !r.done; r = await feed.next()) {
      const s = r.value;
      if (s.segment !== last?.segment) {
        if (expected && (s.segment !== expected.segment || s.firstSequence !== expected.next)) {
          throw new WalError(
            ErrorCode.ARCHIVE_GAP,
            `expected segment ${expected.segment} starting at sequence ${expected.next} to continue the archive, found segment ${s.segment} starting at ${s.firstSequence}`,
          );
        }
        expected = { segment: s.segment + 1, next: s.lastSequence + 1 };
      }
      yield s;
    }
  }

  #acknowledged(segment: number): void {
    this.#archived = segment;
    this.#hold.advance(segment + 1);
    this.#waiters.release(segment + 1);
  }

  async #retry<T>(what: string, run: () => Promise<T>): Promise<T> {
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.#options.retry;
    for (let attempt = 1; ; attempt++) {
      this.#signal.throwIfAborted();
      try {
        // A target that ignores the signal does not keep a stopped archiver waiting.
        return await untilAborted(run(), this.#signal);
      } catch (error) {
        if (this.#signal.aborted) throw error;
        const code = (error as { code?: unknown })?.code;
        const fatal = WalError.isInstance(error) && FATAL.includes(code as string);
        if (fatal || (maxAttempts !== undefined && attempt >= maxAttempts)) {
          if (fatal) throw error;
          throw new WalError(
            ErrorCode.IO_ERROR,
            `expected to ${what} within ${maxAttempts} attempts, found every one failing: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          );
        }
        this.stats.retries++;
        const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
        await sleep(delay * (0.5 + Math.random() / 2), this.#signal);
      }
    }
  }

  #fail(error: unknown): void {
    this.#error ??= error;
    this.#stop.abort();
  }

  #stoppedError(): unknown {
    return (
      this.#error ??
      new WalError(ErrorCode.CLOSED, 'expected the archiver to be running, found it stopped')
    );
  }
}

/**
 * Starts archiving `wal`'s sealed segments to `target`: see {@link Archiver}.
 * Options are validated now (`WAL_INVALID_OPTIONS`), and the retention hold
 * is taken now, before anything else can run.
 *
 * ```ts
 * const archiver = archiveLog({ wal, target: directoryTarget('/mnt/archive/wal') });
 * await wal.rotate();
 * await archiver.idle(); // segment shipped and acknowledged
 * ```
 */
export function archiveLog(options: ArchiveOptions): Archiver {
  return new Archiver(parseOptions('archive', archiveTable, options));
}

const { wal: _, ...archiveTableWithoutWal } = archiveTable;

/**
 * Checks the options of {@link archiveLog} but `wal`, as `archiveLog` would:
 * for a caller that must refuse them before it opens the log.
 */
export function checkArchiveOptions(options: Omit<ArchiveOptions, 'wal'>): void {
  parseOptions('archive', archiveTableWithoutWal, options);
}

function conflict(local: ArchivedSegment, archived: ArchivedSegment): WalError {
  return new WalError(
    ErrorCode.ARCHIVE_CONFLICT,
    `expected archived segment ${local.segment} to have the local checksum ${local.checksum}, found ${archived.checksum} (the archive of another log, or of this log before it was rewritten)`,
  );
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
