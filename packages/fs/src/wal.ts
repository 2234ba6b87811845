import path from 'node:path';
import {
  assertRecordSize,
  type BytesLike,
  describeValue,
  ErrorCode,
  encodeBatch,
  encodeMarkFrame,
  FRAME_HEADER_SIZE,
  isIndex,
  MARK_RECORD_SIZE,
  MAX_SEQUENCE,
  recordSize,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  toBytes,
  WalError,
  type WalOp,
} from '@wal/codec';
import { isPlainBytes } from '@wal/codec/internal';
import { newHeader, openLog, type TailCut } from './open-log.js';
import {
  extraArguments,
  optionsShapeProblem,
  parseOptions,
  type ResolvedOptions,
  type WalOptions,
} from './options.js';
import { prepareDirectory } from './prepare-directory.js';
import { SealedFeed, type SealedSegmentInfo } from './sealed.js';
import { SegmentHold, type SegmentHoldOptions } from './segment-hold.js';
import { reopenDurable, SegmentLog } from './segment-log.js';
import { ioError } from './segments/io.js';
import { SequenceWaiters } from './sequence-waiters.js';
import type { WalFs } from './wal-fs.js';

/** One operation of {@link Wal.batch}. */
export type BatchOp =
  | { type: 'put'; key: BytesLike; value: BytesLike }
  | { type: 'delete'; key: BytesLike };

/**
 * The writer's lifecycle. `failed`: a sync failed (or a failed write could
 * not be undone); every call rejects with `WAL_FAILED` until the log is
 * closed and reopened.
 */
export type WalState = 'open' | 'failed' | 'closing' | 'closed';

const EMPTY = new Uint8Array(0);

// Records appended together, written with one write (under 'always' durable
// when it returns; otherwise synced by a later fdatasync). Frames are
// encoded as they are appended, for the segment they will land in: its
// salt, and its synced watermark as known then.
interface Group {
  kind: 'group';
  segment: number;
  salt: number;
  synced: number;
  firstSequence: number;
  nextSequence: number;
  buffer: Uint8Array;
  end: number;
  records: number;
  /** Each appended record's first sequence and its promise's functions, in append order. */
  sequences: number[];
  resolves: ((sequence: number) => void)[];
  rejects: ((error: unknown) => void)[];
}

interface Control {
  kind: 'control';
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Rotation {
  kind: 'rotate';
  header: SegmentHeader;
  /** The promise of the `rotate()` that asked for it; none for one made for a full segment. */
  settle?: Settlers;
}

interface Settlers {
  resolve: () => void;
  reject: (error: unknown) => void;
}

type Job = Group | Control | Rotation;

// Where new frames go: the last segment jobs queued so far will write to.
interface Tail {
  segment: number;
  salt: number;
  maxRecordBytes: number;
  /** Bytes it will hold once every queued job is written. */
  size: number;
}

const MARK_FRAME_SIZE = FRAME_HEADER_SIZE + MARK_RECORD_SIZE;
const INITIAL_BUFFER = 64 * 1024;
// A buffer grown past this for one large group is not kept for reuse.
const RETAINED_BUFFER = 4 * 1024 * 1024;

/**
 * A durable, segmented write-ahead log. One writer per directory.
 *
 * Appends are queued and written together (group commit): the records
 * appended while one group is written and synced form the next group, which
 * goes out in one write (with `sync: 'always'`, durable when it returns)
 * as soon as the previous one returns. Every sync and durable write runs
 * off the main thread (and with the default `nodeFs`, every write larger
 * than a page-cache copy).
 * Disk order = sequence order = resolution order, and a group's promises
 * resolve only after its own sync. See {@link WalOptions} for what a
 * resolved promise means per mode.
 */
export class Wal {
  readonly #options: ResolvedOptions;
  readonly #dir: string;
  readonly #release: () => Promise<void>;
  readonly #log: SegmentLog;
  #state: WalState = 'open';
  #failure: WalError | undefined;
  #retentionError: WalError | undefined;
  #nextSequence: number;
  #tail: Tail;
  #jobs: Job[] = [];
  #running = false;
  #idle: (() => void) | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #spare: Uint8Array[] = [];
  /** `put`'s op, refilled per call: `#append` encodes it at once and keeps no reference. */
  readonly #onePut: WalOp[] = [{ type: 'put', key: EMPTY, value: EMPTY }];
  // One executor for every append's promise, filing its functions in the group
  // `#append` sets just before: no closure and no object per append (with the
  // reused op, a fifth of what a put allocated).
  #settling: Group | undefined;
  readonly #takeSettlers = (
    resolve: (sequence: number) => void,
    reject: (error: unknown) => void,
  ) => {
    const group = this.#settling as Group;
    group.resolves.push(resolve);
    group.rejects.push(reject);
  };
  // Sequences below these are written (pwrite returned) / made durable.
  #writtenSequence: number;
  #durableSequence: number;
  readonly #durableWaiters = new SequenceWaiters<number>();
  readonly #sealedFeeds = new Set<SealedFeed>();
  readonly #holds = new Set<SegmentHold>();
  // A rotation waiting for room under a blocking hold.
  #roomWaiter: (() => void) | undefined;
  /** The one close: every `close()` returns it. */
  #closed: Promise<void> | undefined;

  /** What opening cut from a torn tail (empty when the log was clean). */
  readonly repairs: readonly TailCut[];

  private constructor(
    options: ResolvedOptions,
    release: () => Promise<void>,
    opened: Awaited<ReturnType<typeof openLog>>,
  ) {
    this.#options = options;
    this.#dir = options.dir;
    this.#release = release;
    this.#log = new SegmentLog(options.fs, options.dir, opened, {
      maxSegments: options.maxSegments,
      heldFrom: () => this.#heldFrom(),
      maxSegmentBytes: options.maxSegmentBytes,
      preallocateBytes: options.preallocateBytes,
      durableWrites: options.sync === 'always',
      poison: (error) => this.#poison(error),
      // Jobs run one at a time: a sync covers every group written before it.
      synced: () => this.#advanceDurable(this.#writtenSequence),
    });
    this.#nextSequence = opened.nextSequence;
    // Open made everything it kept durable (it syncs what it scanned).
    this.#writtenSequence = opened.nextSequence;
    this.#durableSequence = opened.nextSequence;
    this.#tail = this.#tailOfActive();
    this.repairs = opened.repairs;
  }

  /**
   * Opens (or creates) the log in `options.dir`, taking the directory's
   * writer lock. Options are validated before any I/O. A torn tail is cut
   * (see {@link Wal.repairs}); damage anywhere else refuses with
   * `WAL_CORRUPTION`, naming the file and offset.
   */
  static async open(options: string | WalOptions): Promise<Wal> {
    // From plain JavaScript, `Wal.open(dir, { sync: 'none' })` would open
    // with every option ignored: refused, as a misspelt option is.
    // biome-ignore lint/complexity/noArguments: the declared signature must stay one argument for TypeScript callers.
    if (arguments.length > 1) throw extraArguments(arguments.length);
    const resolved = parseOptions(options);
    const { fs } = resolved;
    const dir = path.resolve(resolved.dir);
    await prepareDirectory(fs, dir);
    let release: () => Promise<void>;
    try {
      release = await fs.lock(dir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ELOCKED') {
        throw new WalError(
          ErrorCode.LOCKED,
          `expected no other writer on ${dir}, found ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw ioError('lock', dir, error);
    }
    try {
      const opened = await openLog(fs, dir, resolved.maxRecordBytes);
      if (resolved.sync === 'always') opened.active.fd = await reopenDurable(fs, opened.active);
      return new Wal({ ...resolved, dir }, release, opened);
    } catch (error) {
      // The refusal is the answer: a failed release must not replace it.
      await release().catch(() => undefined);
      throw error;
    }
  }

  /** The sequence the next append will get. */
  get nextSequence(): number {
    return this.#nextSequence;
  }

  /**
   * Every sequence below this is durable: its record was fdatasync'ed or
   * written durably (or was already in the log when it was opened, which
   * syncs what it keeps). Under `'always'` it passes a group once the
   * group's durable write returns, just before the group's appends resolve;
   * under `'interval'` and `'none'` it moves only when a sync runs (the
   * interval's, `sync()`, `rotate()`, `close()`), to what that sync covered. It never moves before the sync
   * has returned, and never goes back.
   */
  get durableSequence(): number {
    return this.#durableSequence;
  }

  /**
   * Resolves with {@link Wal.durableSequence} once `sequence` is durable
   * (`durableSequence > sequence`): at once if it is already, otherwise
   * right after the sync that covers it returns. No polling: the writer
   * wakes waiters itself. Rejects with `WAL_CLOSED` once the writer has
   * closed and `WAL_FAILED` once it has failed while `sequence` is not
   * durable (nothing more will become durable), with the signal's reason
   * when `signal` aborts, and with `WAL_INVALID_ARGUMENT` for a `sequence`
   * that is not a non-negative safe integer.
   */
  waitDurable(sequence: number, signal?: AbortSignal): Promise<number> {
    if (!isIndex(sequence)) {
      return Promise.reject(
        new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected a sequence (a non-negative safe integer), found ${describeValue(sequence)}`,
        ),
      );
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(
        new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected signal to be an AbortSignal, found ${describeValue(signal)}`,
        ),
      );
    }
    if (sequence < this.#durableSequence) return Promise.resolve(this.#durableSequence);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ended = this.#endedError();
    if (ended) return Promise.reject(ended);
    return this.#durableWaiters.wait(sequence, signal);
  }

  /**
   * The sealed segments, for an archiver: first those in the log now
   * (numbered `from` or above; default: all), then each one as this writer
   * seals it, in segment order, each once, hashed when taken (see
   * {@link SealedSegmentInfo}; SHA-256 of the whole file). A segment is
   * yielded only once its seal is synced and the next segment exists, so
   * its bytes are final. Subscribes when called, so nothing sealed after the
   * call is missed. Ends after the last segment sealed before `close()`;
   * throws `WAL_FAILED` (after what was sealed) once the writer failed, the
   * signal's reason on abort, and `WAL_TRUNCATED` when `from` is below the
   * oldest segment left or retention deletes a segment before it is taken
   * (hold segments with {@link Wal.holdSegments} to prevent that). The
   * active segment is not sealed until `rotate()` or a full segment.
   * Throws `WAL_INVALID_ARGUMENT` for bad options (before any I/O).
   */
  sealedSegments(options?: {
    from?: number;
    signal?: AbortSignal;
  }): AsyncIterableIterator<SealedSegmentInfo> {
    const { from, signal, ...rest } = options ?? {};
    const bad =
      optionsShapeProblem(options, rest) ??
      (from !== undefined && !isIndex(from)
        ? `from: expected a segment number, found ${describeValue(from)}`
        : signal !== undefined && !(signal instanceof AbortSignal)
          ? `signal: expected an AbortSignal, found ${describeValue(signal)}`
          : undefined);
    if (bad) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected valid sealedSegments options, found ${bad}`,
      );
    }
    if (this.#state === 'closing' || this.#state === 'closed') this.#assertWritable();
    const log = this.#log;
    const oldest = log.sealed[0]?.segment ?? log.active.segment;
    const truncated =
      from !== undefined && from < oldest
        ? new WalError(
            ErrorCode.TRUNCATED,
            `expected segment ${from} to be in the log, found the oldest left is ${oldest} (retention deleted the ones before)`,
          )
        : undefined;
    const queue = log.sealed.filter((s) => s.segment >= (from ?? 0));
    const feed: SealedFeed = new SealedFeed(
      this.#options.fs,
      queue,
      from ?? 0,
      signal,
      () => this.#sealedFeeds.delete(feed),
      truncated,
    );
    this.#sealedFeeds.add(feed);
    if (this.#failure) feed.end(this.#failedError());
    return feed;
  }

  /**
   * Keeps segment `from` and every later one from retention until the hold
   * advances past them or is released (see {@link SegmentHold}): what an
   * archiver or a reader must still read. With `maxBytes`, the sealed
   * segments it keeps are bounded: at a rotation past the bound the writer
   * waits (`onExceeded: 'block'`) or drops the hold with `WAL_HOLD_EXCEEDED`
   * (`'error'`). Throws `WAL_INVALID_ARGUMENT` for bad arguments and
   * `WAL_CLOSED` once closing.
   *
   * A hold keeps what exists when it is taken: a retention call already
   * deleting segments at or above `from` (its unlinks in flight) finishes,
   * and a reader then finds them gone (`sealedSegments` and `tailLog` reject
   * with `WAL_TRUNCATED`, never skipping silently). Take the hold before
   * starting retention, or from the segment the reader already holds open.
   */
  holdSegments(from: number, options?: SegmentHoldOptions): SegmentHold {
    const { maxBytes, onExceeded, onDropped, ...rest } = options ?? {};
    const bad = !isIndex(from)
      ? `from: expected a segment number, found ${describeValue(from)}`
      : (optionsShapeProblem(options, rest) ??
        (maxBytes !== undefined && (!isIndex(maxBytes) || maxBytes === 0)
          ? `maxBytes: expected a positive integer, found ${describeValue(maxBytes)}`
          : onExceeded !== undefined && onExceeded !== 'block' && onExceeded !== 'error'
            ? `onExceeded: expected 'block' or 'error', found ${describeValue(onExceeded)}`
            : onDropped !== undefined && typeof onDropped !== 'function'
              ? `onDropped: expected a function, found ${describeValue(onDropped)}`
              : undefined));
    if (bad) throw new WalError(ErrorCode.INVALID_ARGUMENT, `expected a valid hold, found ${bad}`);
    if (this.#state === 'closing' || this.#state === 'closed') this.#assertWritable();
    const hold = new SegmentHold(from, options ?? {}, (h) => {
      if (h.state !== 'held') this.#holds.delete(h);
      this.#roomWaiter?.();
    });
    this.#holds.add(hold);
    return hold;
  }

  /** The log's identity: the same in every segment header, 16 hex digits. */
  get logId(): string {
    return this.#log.active.header.logId;
  }

  /** Number of the active segment. */
  get segment(): number {
    return this.#log.active.segment;
  }

  /** Bytes of frames in the active segment, header included (its preallocated zeros not). */
  get segmentSize(): number {
    return this.#log.active.size;
  }

  /** Path of the active segment file. */
  get file(): string {
    return this.#log.active.file;
  }

  /** The file system it writes through (the `fs` option): readers beside it use the same. */
  get fs(): WalFs {
    return this.#options.fs;
  }

  /** The log's directory (absolute). */
  get dir(): string {
    return this.#dir;
  }

  /** See {@link WalState}. */
  get state(): WalState {
    return this.#state;
  }

  /** Why the writer failed (`state: 'failed'`), or undefined. Its `cause` is the I/O error. */
  get failure(): WalError | undefined {
    return this.#failure;
  }

  /**
   * Why the last `maxSegments` retention failed (a segment's unlink or the
   * directory fsync), or undefined once a later one succeeds. A rotation for
   * a full segment rejects no append when it fails, so this is where that
   * failure shows; `rotate()` and `dropExcessSegments()` also reject with it.
   * The writer stays open: the next rotation, or `dropExcessSegments()`,
   * tries again. Only those clear it: `truncateThrough` is not `maxSegments`
   * retention, even when it deletes the same segments.
   */
  get retentionError(): WalError | undefined {
    return this.#retentionError;
  }

  /** Appends a put. Resolves to its sequence. An empty value is a value, not a delete. */
  put(key: BytesLike, value: BytesLike): Promise<number> {
    const op = this.#onePut[0] as { type: 'put'; key: Uint8Array; value: Uint8Array };
    try {
      // toBytes runs no caller code (internal slots, not instanceof), so no
      // other append can run between filling the op and encoding it.
      op.key = toBytes(key, 'key');
      op.value = toBytes(value, 'value');
      return this.#append(this.#onePut);
    } catch (error) {
      return Promise.reject(error);
    } finally {
      op.key = EMPTY;
      op.value = EMPTY;
    }
  }

  /** Appends a delete. Resolves to its sequence. */
  delete(key: BytesLike): Promise<number> {
    try {
      return this.#append([{ type: 'delete', key: toBytes(key, 'key') }]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Appends ops as one atomic record: after a crash all of them are in the
   * log or none. Their sequences are consecutive; resolves to the first.
   */
  batch(ops: readonly BatchOp[]): Promise<number> {
    try {
      if (!Array.isArray(ops) || ops.length === 0) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected a non-empty array of ops, found ${describeValue(ops)}`,
        );
      }
      return this.#append(ops.map(normaliseOp));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Writes everything appended so far and fdatasyncs it, in every mode. */
  sync(): Promise<void> {
    return this.#control(async () => {
      if (this.#log.dirty) await this.#syncNow();
    });
  }

  /**
   * Writes what is pending, seals the active segment (synced), starts the
   * next, then applies `maxSegments`. Appends rotate by themselves at
   * `maxSegmentBytes`. When only `maxSegments` fails (`WAL_IO_ERROR`), the
   * rotation is done all the same, and the sealed segment is fed to
   * {@link Wal.sealedSegments}; an append queued before it failing does not
   * stop it (it seals at the sequence rolled back to).
   */
  rotate(): Promise<void> {
    try {
      this.#assertWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = new Promise<void>((resolve, reject) =>
      this.#queueRotation({ resolve, reject }),
    );
    this.#schedule();
    return promise;
  }

  /**
   * Deletes every sealed segment whose entries all have sequences <=
   * `sequence`, oldest first; never the active one. Resolves to how many
   * were removed. This is the safe way to reclaim space once entries are
   * flushed elsewhere (a memtable checkpoint, say).
   */
  truncateThrough(sequence: number): Promise<number> {
    if (!isIndex(sequence)) {
      return Promise.reject(
        new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected a sequence (a non-negative safe integer), found ${describeValue(sequence)}`,
        ),
      );
    }
    return this.#control(() => this.#log.truncateThrough(sequence));
  }

  /**
   * Applies `maxSegments` now; resolves to how many segments were deleted.
   * LOSSY: see {@link WalOptions.maxSegments}.
   */
  dropExcessSegments(): Promise<number> {
    return this.#control(() => this.#retain());
  }

  /** Bytes of all segment files, the active one and its preallocated zeros included. */
  totalSize(): Promise<number> {
    return this.#control(() => this.#log.totalSize());
  }

  /**
   * Writes and syncs what is pending, ends the active segment with a mark
   * (so that every frame is provably durable), closes the file and releases
   * the lock. Appends already made resolve (or reject) before close
   * resolves. A failed writer still releases the lock and every handle;
   * its close rejects with `WAL_FAILED` when records it accepted are not
   * durable (under `'none'` and `'interval'`, appends that resolved before
   * the failed sync), and resolves only when all of them are.
   * When releasing the lock fails, close rejects (`WAL_IO_ERROR`, unless
   * the final sync failed first) and the writer is `'closed'` all the same.
   * Every call returns the first call's promise: a second close settles
   * only when the first has synced and released, and with its outcome.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const failed = this.#state === 'failed';
    this.#state = 'closing';
    this.#roomWaiter?.(); // a rotation blocked by a hold goes on: close never waits for a reader
    let error: unknown;
    try {
      if (failed) {
        this.#rejectQueued(this.#failedError());
      } else {
        let marking = false;
        await this.#enqueueControl(async () => {
          marking = true;
          await this.#log.mark(this.#nextSequence);
        }).catch((e: unknown) => {
          // Failed before the mark could run (a rotation queued ahead of
          // it): judged below, as a writer that failed before close.
          if (marking || !this.#failure) throw e;
        });
      }
      await this.#drained();
      // Under 'none' and 'interval' appends resolve before they are durable:
      // a failure no caller saw (the timer's sync, say) is close's to report.
      if (this.#failure && this.#durableSequence < this.#nextSequence) {
        throw new WalError(
          ErrorCode.FAILED,
          `expected every record the writer accepted (sequences below ${this.#nextSequence}) to be durable at close, found only those below ${this.#durableSequence} durable: the writer failed (${this.#failure.message}); reopen ${this.#dir} to find which survived`,
          { cause: this.#failure },
        );
      }
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(this.#syncTimer);
      await this.#log.close();
      // Closed whatever the release says: 'closing' forever would leave
      // waiters hanging and refuse every later close.
      try {
        await this.#release();
      } catch (e) {
        error ??= ioError('release the writer lock on', this.#dir, e);
      }
      this.#state = 'closed';
      this.#endWaiters();
    }
    if (error) throw error;
  }

  /** {@link Wal.close}, for `await using wal = await Wal.open(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #append(ops: WalOp[]): Promise<number> {
    this.#assertWritable();
    const length = recordSize(ops);
    assertRecordSize(length, this.#options.maxRecordBytes);
    const firstSequence = this.#nextSequence;
    if (ops.length > MAX_SEQUENCE - firstSequence) {
      throw new WalError(
        ErrorCode.SEQUENCE_EXHAUSTED,
        `expected ${ops.length} more sequences below 2^53 - 1, found the next sequence at ${firstSequence}: the log cannot take more entries`,
      );
    }
    const group = this.#groupFor(FRAME_HEADER_SIZE + length, length);
    const end = group.end + FRAME_HEADER_SIZE + length;
    if (end > group.buffer.length) group.buffer = this.#grow(group.buffer, group.end, end);
    encodeBatch(group.buffer, group.end, group, firstSequence, ops, length);
    group.end = end;
    group.records++;
    this.#nextSequence += ops.length;
    group.nextSequence = this.#nextSequence;
    group.sequences.push(firstSequence);
    this.#settling = group;
    const promise = new Promise<number>(this.#takeSettlers);
    this.#settling = undefined;
    this.#schedule();
    return promise;
  }

  // The open group the frame goes into, rotating first when it would not fit
  // the tail segment: with it, a mark (for its group), the mark a close
  // writes and the seal must stay within maxSegmentBytes. A frame larger
  // than that gets a segment of its own.
  #groupFor(size: number, length: number): Group {
    const tail = this.#tail;
    const last = this.#jobs.at(-1);
    const open = last?.kind === 'group' && last.segment === tail.segment ? last : undefined;
    const extra = open ? 0 : MARK_FRAME_SIZE;
    const fits =
      length <= tail.maxRecordBytes &&
      (tail.size === SEGMENT_HEADER_SIZE ||
        tail.size + extra + size + MARK_FRAME_SIZE + SEAL_FRAME_SIZE <=
          this.#options.maxSegmentBytes);
    if (open && fits) {
      tail.size += size;
      return open;
    }
    if (!fits) this.#queueRotation();
    const t = this.#tail;
    const synced =
      t.segment === this.#log.active.segment ? this.#log.syncedSize : SEGMENT_HEADER_SIZE;
    const group: Group = {
      kind: 'group',
      segment: t.segment,
      salt: t.salt,
      synced,
      firstSequence: this.#nextSequence,
      nextSequence: this.#nextSequence,
      buffer: this.#spare.pop() ?? new Uint8Array(INITIAL_BUFFER),
      end: MARK_FRAME_SIZE,
      records: 0,
      sequences: [],
      resolves: [],
      rejects: [],
    };
    t.size += MARK_FRAME_SIZE + size;
    this.#jobs.push(group);
    return group;
  }

  #queueRotation(settle?: Settlers): void {
    const { logId } = this.#log.active.header;
    const header = newHeader(
      logId,
      this.#tail.segment + 1,
      this.#nextSequence,
      this.#options.maxRecordBytes,
    );
    this.#jobs.push(settle ? { kind: 'rotate', header, settle } : { kind: 'rotate', header });
    this.#tail = {
      segment: header.segment,
      salt: header.salt,
      maxRecordBytes: header.maxRecordBytes,
      size: SEGMENT_HEADER_SIZE,
    };
  }

  #tailOfActive(): Tail {
    const { segment, header, size } = this.#log.active;
    return { segment, salt: header.salt, maxRecordBytes: header.maxRecordBytes, size };
  }

  #grow(buffer: Uint8Array, used: number, needed: number): Uint8Array {
    const grown = new Uint8Array(Math.max(needed, buffer.length * 2));
    grown.set(buffer.subarray(0, used));
    return grown;
  }

  #control<T>(run: () => Promise<T>): Promise<T> {
    try {
      this.#assertWritable();
      return this.#enqueueControl(run);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueueControl<T>(run: () => Promise<T>): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.#jobs.push({ kind: 'control', run, resolve: resolve as (v: unknown) => void, reject });
    });
    this.#schedule();
    return promise;
  }

  #schedule(): void {
    if (this.#running) return;
    this.#running = true;
    // After the current task and its microtasks: appends made together (and
    // the next appends of writers whose previous ones just resolved) join
    // one group.
    queueMicrotask(() => void this.#runJobs());
  }

  // Runs jobs one at a time, in order. While one group is written and
  // synced, appends fill the next. Without a sync, a group of small writes
  // completes without leaving the main thread, and writers whose puts just
  // resolved have queued the next one already: one turn of the event loop
  // between such groups, or `for (;;) await wal.put()` would starve it.
  async #runJobs(): Promise<void> {
    while (this.#jobs.length > 0) {
      const job = this.#jobs.shift() as Job;
      try {
        if (this.#failure) throw this.#failedError();
        if (job.kind === 'group') await this.#writeGroup(job);
        else if (job.kind === 'rotate') await this.#rotate(job);
        else job.resolve(await job.run());
      } catch (error) {
        const reported = this.#failure ? this.#failedError() : error;
        this.#fail(job, reported);
        if (this.#failure) this.#rejectQueued(reported);
        else if (job.kind !== 'control') this.#dropAppendsQueued(reported);
      }
      if (job.kind === 'group' && this.#options.sync !== 'always' && this.#jobs.length > 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    this.#running = false;
    this.#idle?.();
  }

  async #rotate(job: Rotation): Promise<void> {
    const nextSequence = job.header.firstSequence;
    await this.#roomToSeal();
    const { segment, file, header, size } = this.#log.active;
    await this.#log.rotate(nextSequence, job.header);
    const firstSequence = header.firstSequence;
    const bytes = size + SEAL_FRAME_SIZE;
    const sealed = { segment, file, firstSequence, nextSequence, bytes };
    for (const feed of this.#sealedFeeds) feed.push(sealed);
    // Retention only once the rotation is done and announced: its failure
    // (an unlink or a directory fsync) undoes none of it, and a feed that
    // missed the sealed segment would let the next retention delete it
    // unseen. It fails the rotate() that asked for it; after a rotation for
    // a full segment, the next rotation (or dropExcessSegments) tries again.
    try {
      await this.#retain(
        `the rotation itself is done (segment ${segment} was sealed and ${job.header.segment} started)`,
      );
    } catch (error) {
      job.settle?.reject(error);
      return;
    }
    job.settle?.resolve();
  }

  // Applies maxSegments, keeping its outcome in retentionError. `done`: what
  // the failure leaves done, for its message.
  async #retain(done?: string): Promise<number> {
    try {
      const deleted = await this.#log.dropExcessSegments();
      this.#retentionError = undefined;
      return deleted;
    } catch (error) {
      const found = error as Error;
      const left = done ? `; ${done}` : '';
      // Its cause stays the errno error, as for every WAL_IO_ERROR.
      const cause = WalError.isInstance(found) ? found.cause : found;
      this.#retentionError = new WalError(
        ErrorCode.IO_ERROR,
        `${found.message}${left}: retention runs again at the next rotation or dropExcessSegments()`,
        { cause },
      );
      throw this.#retentionError;
    }
  }

  async #writeGroup(group: Group): Promise<void> {
    const log = this.#log;
    let start = MARK_FRAME_SIZE;
    // The frames were encoded with the synced watermark known then; a later
    // sync is announced by a mark in front, so damage below it reads as rot.
    if (log.syncedSize > group.synced) {
      const context = { salt: group.salt, synced: log.syncedSize };
      encodeMarkFrame(context, group.firstSequence, group.buffer, 0);
      start = 0;
    }
    await log.write(group.buffer.subarray(start, group.end), group.records);
    this.#writtenSequence = group.nextSequence;
    // The tail's size counted a mark in front of every group.
    if (start > 0 && this.#tail.segment === group.segment) this.#tail.size -= MARK_FRAME_SIZE;
    if (this.#options.sync === 'always') await this.#syncNow();
    else this.#armSyncTimer();
    const { sequences, resolves } = group;
    for (let i = 0; i < resolves.length; i++)
      (resolves[i] as (s: number) => void)(sequences[i] as number);
    this.#recycle(group);
  }

  #recycle(group: Group): void {
    if (group.buffer.length <= RETAINED_BUFFER && this.#spare.length < 2)
      this.#spare.push(group.buffer);
  }

  #fail(job: Job, error: unknown): void {
    if (job.kind === 'group') {
      this.#rejectGroup(job, error);
      this.#rollBack(job.firstSequence);
    } else if (job.kind === 'control') {
      job.reject(error);
    } else {
      job.settle?.reject(error);
      this.#rollBack(job.header.firstSequence);
    }
  }

  #rejectGroup(group: Group, error: unknown): void {
    for (const reject of group.rejects) reject(error);
    this.#recycle(group);
  }

  // After the writer failed nothing queued is written: every queued job is
  // rejected, and sequences go back to the first one not written.
  #rejectQueued(error: unknown): void {
    const jobs = this.#jobs;
    this.#jobs = [];
    for (const job of jobs) this.#fail(job, error);
  }

  // After a failed append that left the writer open (its bytes were cut, its
  // sequences rolled back), the appends queued behind it are rejected: their
  // frames carry the sequences after its own. Nothing else depends on them.
  // Control jobs run as queued: the interval's sync, a sync() and close's
  // mark must still make what was acknowledged before durable (rejecting
  // them left it unsynced for good). A rotate() is queued again at the
  // sequence rolled back to; the rotations made for the rejected appends go.
  #dropAppendsQueued(error: unknown): void {
    const jobs = this.#jobs;
    this.#jobs = [];
    for (const job of jobs) {
      if (job.kind === 'control') this.#jobs.push(job);
      else if (job.kind === 'group') this.#rejectGroup(job, error);
      else if (job.settle) this.#queueRotation(job.settle);
    }
  }

  #rollBack(sequence: number): void {
    if (sequence < this.#nextSequence) this.#nextSequence = sequence;
    this.#tail = this.#tailOfActive();
  }

  #drained(): Promise<void> {
    if (!this.#running && this.#jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        this.#idle = undefined;
        resolve();
      };
    });
  }

  async #syncNow(): Promise<void> {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    // The log's sync advances durableSequence (see `synced`).
    await this.#log.sync();
  }

  #heldFrom(): number {
    let from = Number.POSITIVE_INFINITY;
    for (const hold of this.#holds) from = Math.min(from, hold.from);
    return from;
  }

  // Before sealing the active segment: a hold with a byte bound that the
  // sealed segment would pass either blocks the rotation until it moves,
  // or is dropped. A hold keeping nothing yet never blocks (one segment
  // larger than the bound must still seal).
  async #roomToSeal(): Promise<void> {
    for (;;) {
      const { segment, size } = this.#log.active;
      const sealing = size + SEAL_FRAME_SIZE;
      let blocked: SegmentHold | undefined;
      for (const hold of this.#holds) {
        if (hold.maxBytes === undefined || segment < hold.from) continue;
        const held = this.#log.sealedBytes(hold.from);
        if (held === 0 || held + sealing <= hold.maxBytes) continue;
        if (hold.onExceeded === 'block') {
          blocked = hold;
          continue;
        }
        hold.drop(
          new WalError(
            ErrorCode.HOLD_EXCEEDED,
            `expected the segments held from ${hold.from} to stay within ${hold.maxBytes} bytes, found ${held} bytes held and a ${sealing}-byte segment to seal: the hold is dropped, and retention may delete what it kept`,
          ),
        );
      }
      if (!blocked || this.#state !== 'open') return;
      // Jobs wait behind this one (the interval's sync, sync()): what was
      // acknowledged is made durable now, not when a reader moves. Then
      // look again: a hold may have moved, or close begun, meanwhile.
      if (this.#log.dirty) {
        await this.#syncNow();
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#roomWaiter = () => {
          this.#roomWaiter = undefined;
          resolve();
        };
      });
    }
  }

  #advanceDurable(sequence: number): void {
    if (sequence <= this.#durableSequence) return;
    this.#durableSequence = sequence;
    this.#durableWaiters.release(sequence, sequence);
  }

  // Nothing more becomes durable once the writer has closed or failed.
  #endedError(): WalError | undefined {
    if (this.#state === 'closed') {
      return new WalError(
        ErrorCode.CLOSED,
        `expected an open log, found it closed (${this.#dir}); its durable sequences end before ${this.#durableSequence}`,
      );
    }
    if (this.#failure) return this.#failedError();
    return undefined;
  }

  #endWaiters(): void {
    const error = this.#endedError();
    if (!error) return;
    for (const feed of this.#sealedFeeds) feed.end(this.#failure ? error : null);
    this.#durableWaiters.fail(error);
  }

  #armSyncTimer(): void {
    if (this.#options.sync !== 'interval' || this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#state !== 'open') return;
      // Poisoned or not, the next call reports it.
      this.#enqueueControl(async () => {
        if (this.#log.dirty) await this.#syncNow();
      }).catch(() => undefined);
    }, this.#options.syncIntervalMs);
    this.#syncTimer.unref();
  }

  #assertWritable(): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new WalError(
        ErrorCode.CLOSED,
        `expected an open log, found it ${this.#state} (${this.#dir})`,
      );
    }
    if (this.#failure) throw this.#failedError();
  }

  #failedError(): WalError {
    const failure = this.#failure as WalError;
    return new WalError(
      ErrorCode.FAILED,
      `expected a healthy writer, found it failed: ${failure.message}; close it and reopen ${this.#dir} to recover`,
      { cause: failure },
    );
  }

  #poison(error: WalError): WalError {
    if (!this.#failure) {
      this.#failure = error;
      if (this.#state === 'open') this.#state = 'failed';
      this.#endWaiters();
    }
    return error;
  }
}

// Bytes pass as they are: the label is made only for an error.
function opBytes(value: unknown, i: number, field: 'key' | 'value'): Uint8Array {
  return isPlainBytes(value) ? value : toBytes(value, `ops[${i}].${field}`);
}

function normaliseOp(op: unknown, i: number): WalOp {
  if (typeof op !== 'object' || op === null) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ops[${i}] to be an op object, found ${describeValue(op)}`,
    );
  }
  const { type, key, value } = op as { type?: unknown; key?: unknown; value?: unknown };
  if (type === 'put') {
    return { type, key: opBytes(key, i, 'key'), value: opBytes(value, i, 'value') };
  }
  if (type === 'delete') {
    if ('value' in op) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        `expected ops[${i}], a delete, to have no value, found ${describeValue(value)}`,
      );
    }
    return { type, key: opBytes(key, i, 'key') };
  }
  throw new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ops[${i}].type to be 'put' or 'delete', found ${describeValue(type)}`,
  );
}
