import path from 'node:path';
import {
  assertRecordSize,
  type BytesLike,
  describeValue,
  ErrorCode,
  encodeFrame,
  FRAME_HEADER_SIZE,
  isIndex,
  recordSize,
  toBytes,
  WalError,
  type WalOp,
} from '@wal/codec';
import { ioError } from './io-error.js';
import { openLog, type TailRepair } from './open-log.js';
import { parseOptions, type ResolvedOptions, type WalOptions } from './options.js';
import { prepareDirectory } from './prepare-directory.js';
import { SegmentLog } from './segment-log.js';

/** One operation of {@link Wal.batch}. */
export type BatchOp =
  | { type: 'put'; key: BytesLike; value: BytesLike }
  | { type: 'delete'; key: BytesLike };

/** The writer's lifecycle. `opening` is internal to {@link Wal.open}. */
export type WalState = 'open' | 'closing' | 'closed';

interface Pending {
  firstSequence: number;
  count: number;
  start: number;
  size: number;
  resolve: (sequence: number) => void;
  reject: (error: unknown) => void;
}

const INITIAL_BUFFER = 64 * 1024;
// A buffer grown past this for one large group is dropped after it.
const RETAINED_BUFFER = 4 * 1024 * 1024;

/**
 * A durable, segmented write-ahead log. One writer per directory.
 *
 * Appends are queued and written together (group commit): every record
 * pending when the writer runs goes out in one write and, with
 * `sync: 'always'`, one fdatasync. Disk order = sequence order = resolution
 * order. See {@link WalOptions} for what a resolved promise means per mode.
 */
export class Wal {
  readonly #options: ResolvedOptions;
  readonly #dir: string;
  readonly #release: () => void;
  readonly #log: SegmentLog;
  #state: WalState = 'open';
  #failure: WalError | undefined;
  #nextSequence: number;
  #buffer = new Uint8Array(INITIAL_BUFFER);
  #bufferEnd = 0;
  #pending: Pending[] = [];
  #flushScheduled = false;
  #syncTimer: NodeJS.Timeout | undefined;

  /** What opening cut from a torn tail (empty when the log was clean). */
  readonly repairs: readonly TailRepair[];

  private constructor(
    options: ResolvedOptions,
    release: () => void,
    opened: ReturnType<typeof openLog>,
  ) {
    this.#options = options;
    this.#dir = options.dir;
    this.#release = release;
    this.#log = new SegmentLog(options.fs, options.dir, opened, {
      maxSegmentBytes: options.maxSegmentBytes,
      maxSegments: options.maxSegments,
      poison: (error) => this.#poison(error),
    });
    this.#nextSequence = opened.nextSequence;
    this.repairs = opened.repairs;
  }

  /**
   * Opens (or creates) the log in `options.dir`, taking the directory's
   * writer lock. Options are validated before any I/O. A torn tail is cut
   * (see {@link Wal.repairs}); damage elsewhere refuses with `WAL_CORRUPTION`.
   */
  static async open(options: string | WalOptions): Promise<Wal> {
    const resolved = parseOptions(options);
    const { fs } = resolved;
    const dir = path.resolve(resolved.dir);
    prepareDirectory(fs, dir);
    let release: () => void;
    try {
      release = fs.lock(dir);
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
      const opened = openLog(fs, dir, resolved.maxRecordBytes);
      return new Wal({ ...resolved, dir }, release, opened);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The sequence the next append will get. */
  get nextSequence(): number {
    return this.#nextSequence;
  }

  /** Number of the active segment. */
  get segmentNumber(): number {
    return this.#log.active.segmentNumber;
  }

  /** Bytes written to the active segment, header included. */
  get segmentSize(): number {
    return this.#log.active.size;
  }

  /** Path of the active segment file. */
  get path(): string {
    return this.#log.active.path;
  }

  /** The log's directory (absolute). */
  get dir(): string {
    return this.#dir;
  }

  /** `'open'` until {@link Wal.close} starts; `'closed'` once it has released everything. */
  get state(): WalState {
    return this.#state;
  }

  /** Appends a put. Resolves to its sequence. An empty value is a value, not a delete. */
  put(key: BytesLike, value: BytesLike): Promise<number> {
    try {
      return this.#append([
        { type: 'put', key: toBytes(key, 'key'), value: toBytes(value, 'value') },
      ]);
    } catch (error) {
      return Promise.reject(error);
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
    return this.#run(() => {
      this.#flush();
      if (this.#log.dirty) this.#syncNow();
    });
  }

  /**
   * Writes what is pending, seals the active segment (synced), starts the
   * next, then applies `maxSegments`. Appends rotate by themselves at
   * `maxSegmentBytes`.
   */
  rotate(): Promise<void> {
    return this.#run(() => {
      this.#flush();
      this.#log.rotate(this.#nextSequence);
    });
  }

  /**
   * Deletes sealed segments whose last sequence is <= `sequence`, oldest
   * first; never the active one. Resolves to how many were removed. This is
   * the safe way to reclaim space once entries are flushed elsewhere.
   */
  truncateBefore(sequence: number): Promise<number> {
    return this.#run(() => {
      if (!isIndex(sequence)) {
        throw new WalError(
          ErrorCode.INVALID_ARGUMENT,
          `expected a sequence (a non-negative safe integer), found ${describeValue(sequence)}`,
        );
      }
      return this.#log.truncateBefore(sequence);
    });
  }

  /**
   * Applies `maxSegments` retention now; resolves to how many segments were
   * removed. LOSSY: see {@link WalOptions.maxSegments}.
   */
  cleanup(): Promise<number> {
    return this.#run(() => this.#log.applyRetention());
  }

  /** Bytes of all segment files, the active one included. */
  totalSize(): Promise<number> {
    return this.#run(() => this.#log.totalSize());
  }

  /**
   * Writes and syncs what is pending, then closes the file and releases the
   * lock. Appends already made resolve (or reject) before close resolves.
   * After a fault it still releases the lock and every handle.
   */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    let error: unknown;
    try {
      if (this.#failure) {
        // Appends queued before the failure: reject them now, not after close.
        this.#flushSafely();
      } else {
        this.#flush();
        if (this.#log.dirty) this.#syncNow();
      }
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(this.#syncTimer);
      this.#log.close();
      this.#release();
      this.#state = 'closed';
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
    const size = FRAME_HEADER_SIZE + length;
    this.#reserve(size);
    const firstSequence = this.#nextSequence;
    const start = this.#bufferEnd;
    this.#bufferEnd = encodeFrame(this.#buffer, start, firstSequence, ops, length);
    this.#nextSequence += ops.length;
    const promise = new Promise<number>((resolve, reject) => {
      this.#pending.push({ firstSequence, count: ops.length, start, size, resolve, reject });
    });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flushSafely());
    }
    return promise;
  }

  #reserve(size: number): void {
    const needed = this.#bufferEnd + size;
    if (needed <= this.#buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
    grown.set(this.#buffer.subarray(0, this.#bufferEnd));
    this.#buffer = grown;
  }

  #flushSafely(): void {
    try {
      this.#flush();
    } catch {
      // #flush rejected every pending append with the error already.
    }
  }

  // Writes every pending record, rotating where a record would not fit, and
  // resolves each segment's records once they are as durable as the mode
  // promises. On failure, rejects what is not durable and rolls the sequence
  // back to the first rejected record (nothing after it was written).
  #flush(): void {
    this.#flushScheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const buffer = this.#buffer;
    let i = 0;
    try {
      // Poisoned (by the interval timer's sync) after these were queued.
      if (this.#failure) throw this.#failure;
      while (i < pending.length) {
        const first = pending[i] as Pending;
        if (this.#log.needsRotation(first.size)) this.#log.rotate(first.firstSequence);
        let j = i + 1;
        let bytes = first.size;
        while (j < pending.length && bytes + (pending[j] as Pending).size <= this.#log.room) {
          bytes += (pending[j] as Pending).size;
          j++;
        }
        this.#log.write(buffer.subarray(first.start, first.start + bytes));
        if (this.#options.sync === 'always') this.#syncNow();
        else this.#armSyncTimer();
        this.#log.acknowledge();
        for (; i < j; i++) {
          const p = pending[i] as Pending;
          p.resolve(p.firstSequence);
        }
      }
    } catch (error) {
      this.#nextSequence = (pending[i] as Pending).firstSequence;
      for (; i < pending.length; i++) (pending[i] as Pending).reject(error);
      throw error;
    } finally {
      this.#bufferEnd = 0;
      if (this.#buffer.length > RETAINED_BUFFER) this.#buffer = new Uint8Array(INITIAL_BUFFER);
    }
  }

  #syncNow(): void {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.#log.sync();
  }

  #armSyncTimer(): void {
    if (this.#options.sync !== 'interval' || this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (!this.#log.dirty || this.#state !== 'open' || this.#failure) return;
      try {
        this.#log.sync();
      } catch {
        // Poisoned: the next call reports it.
      }
    }, this.#options.syncIntervalMs);
    this.#syncTimer.unref();
  }

  #run<T>(operation: () => T): Promise<T> {
    try {
      this.#assertWritable();
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #assertWritable(): void {
    if (this.#state !== 'open') {
      throw new WalError(
        ErrorCode.CLOSED,
        `expected an open log, found it ${this.#state} (${this.#dir})`,
      );
    }
    if (this.#failure) {
      throw new WalError(
        ErrorCode.IO_ERROR,
        `expected a healthy log, found an earlier I/O failure; reopen ${this.#dir} to recover: ${this.#failure.message}`,
        { cause: this.#failure },
      );
    }
  }

  #poison(error: WalError): WalError {
    this.#failure ??= error;
    return error;
  }
}

function normaliseOp(op: unknown, i: number): WalOp {
  const { type, key, value } = (op ?? {}) as { type?: unknown; key?: unknown; value?: unknown };
  if (type === 'put')
    return { type, key: toBytes(key, `ops[${i}].key`), value: toBytes(value, `ops[${i}].value`) };
  if (type === 'delete') return { type, key: toBytes(key, `ops[${i}].key`) };
  throw new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ops[${i}].type to be 'put' or 'delete', found ${describeValue(type)}`,
  );
}
