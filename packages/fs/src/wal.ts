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
  SEGMENT_HEADER_SIZE,
  toBytes,
  WalError,
  type WalOp,
} from '@wal/codec';
import { io, ioError } from './io-error.js';
import { type ActiveSegment, openLog, type SealedSegment, type TailRepair } from './open-log.js';
import { parseOptions, type ResolvedOptions, type WalOptions } from './options.js';
import { closeQuietly, createSegment, readAt, writeFully } from './segment-io.js';
import type { WalFs } from './wal-fs.js';

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
  readonly #fs: WalFs;
  readonly #options: ResolvedOptions;
  readonly #dir: string;
  readonly #release: () => void;
  readonly #sealed: SealedSegment[];
  #active: ActiveSegment;
  #state: WalState = 'open';
  #failure: WalError | undefined;
  #nextSequence: number;
  #buffer = new Uint8Array(INITIAL_BUFFER);
  #bufferEnd = 0;
  #pending: Pending[] = [];
  #flushScheduled = false;
  #dirty = false;
  /** Bytes of the active segment known to be durable (as of the last successful sync). */
  #syncedSize: number;
  /** Bytes of the active segment whose records have been acknowledged. */
  #ackedSize: number;
  #syncTimer: NodeJS.Timeout | undefined;

  /** What opening cut from a torn tail (empty when the log was clean). */
  readonly repairs: readonly TailRepair[];

  private constructor(
    fs: WalFs,
    options: ResolvedOptions,
    release: () => void,
    opened: ReturnType<typeof openLog>,
  ) {
    this.#fs = fs;
    this.#options = options;
    this.#dir = options.dir;
    this.#release = release;
    this.#sealed = opened.sealed;
    this.#active = opened.active;
    this.#syncedSize = opened.active.size;
    this.#ackedSize = opened.active.size;
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
      return new Wal(fs, { ...resolved, dir }, release, opened);
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
    return this.#active.segmentNumber;
  }

  /** Bytes written to the active segment, header included. */
  get segmentSize(): number {
    return this.#active.size;
  }

  /** Path of the active segment file. */
  get path(): string {
    return this.#active.path;
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
      if (this.#dirty) this.#syncActive();
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
      this.#rotate(this.#nextSequence);
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
      let n = 0;
      while (n < this.#sealed.length && this.#lastSequenceOf(n) <= sequence) n++;
      return this.#removeSealed(n);
    });
  }

  /**
   * Applies `maxSegments` retention now; resolves to how many segments were
   * removed. LOSSY: see {@link WalOptions.maxSegments}.
   */
  cleanup(): Promise<number> {
    return this.#run(() => this.#applyRetention());
  }

  /** Bytes of all segment files, the active one included. */
  totalSize(): Promise<number> {
    return this.#run(() => {
      let total = this.#active.size;
      for (const s of this.#sealed)
        total += io('stat segment', s.path, () => this.#fs.stat(s.path)).size;
      return total;
    });
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
        if (this.#dirty) this.#syncActive();
      }
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(this.#syncTimer);
      closeQuietly(this.#fs, this.#active.fd);
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
        if (
          this.#active.size > SEGMENT_HEADER_SIZE &&
          this.#active.size + first.size > this.#options.maxSegmentBytes
        ) {
          this.#rotate(first.firstSequence);
        }
        let j = i + 1;
        let bytes = first.size;
        while (j < pending.length) {
          const next = (pending[j] as Pending).size;
          if (this.#active.size + bytes + next > this.#options.maxSegmentBytes) break;
          bytes += next;
          j++;
        }
        this.#write(buffer.subarray(first.start, first.start + bytes));
        if (this.#options.sync === 'always') this.#syncActive();
        else this.#armSyncTimer();
        this.#ackedSize = this.#active.size;
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

  // A failed write is cut back off, so the log never holds a half record
  // that a later record follows. If even the cut fails, the writer refuses
  // everything until reopened (open repairs the tail). The cut is unsynced
  // like a write, so the segment stays dirty: sealing it must sync the cut,
  // or a crash could bring the bytes back in a segment open no longer scans.
  #write(bytes: Uint8Array): void {
    const { fd, path: file, size } = this.#active;
    let done = 0;
    try {
      while (done < bytes.length) {
        const n = this.#fs.write(fd, bytes.subarray(done), size + done);
        if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
        done += n;
      }
    } catch (cause) {
      const error = ioError('write', file, cause);
      try {
        if (done > 0) {
          this.#fs.ftruncate(fd, size);
          this.#dirty = true;
        }
      } catch {
        this.#poison(error);
      }
      throw error;
    }
    this.#active.size += bytes.length;
    this.#dirty = true;
  }

  // The PostgreSQL lesson: after a failed fdatasync the kernel may have
  // dropped the dirty pages and marked them clean, so a retry that succeeds
  // proves nothing. The first failure poisons the writer until it is
  // reopened. The bytes written since the last good sync are cut off: they
  // stay readable in the page cache but may never reach the disk, and a
  // reopened writer must not append after them (a power loss would then
  // leave a hole before acknowledged records).
  #syncActive(): void {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
    this.#dirty = false;
    const { fd, path: file, size } = this.#active;
    try {
      this.#fs.fdatasync(fd);
    } catch (cause) {
      const error = this.#poison(ioError('fdatasync', file, cause));
      this.#salvageAfterFailedSync();
      throw error;
    }
    this.#syncedSize = size;
  }

  // Unacknowledged bytes (the batch whose sync failed) are cut. Acknowledged
  // ones not yet durable ('none' and 'interval') are written again in place:
  // their pages may have been marked clean without reaching the disk, and
  // rewriting makes them dirty, so the next open's fdatasync persists them.
  #salvageAfterFailedSync(): void {
    const { fd, path: file, size } = this.#active;
    try {
      if (size > this.#ackedSize) this.#fs.ftruncate(fd, this.#ackedSize);
      const start = this.#syncedSize;
      const end = this.#ackedSize;
      if (end > start)
        writeFully(this.#fs, fd, readAt(this.#fs, fd, start, end - start, file), start, file);
    } catch {
      // Already poisoned; the next open's tail scan is what is left.
    }
  }

  #armSyncTimer(): void {
    if (this.#options.sync !== 'interval' || this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (!this.#dirty || this.#state !== 'open' || this.#failure) return;
      try {
        this.#syncActive();
      } catch {
        // Poisoned: the next call reports it.
      }
    }, this.#options.syncIntervalMs);
    this.#syncTimer.unref();
  }

  // Seal: the old segment is synced before the next exists, so a durable
  // later segment always implies a complete earlier one. Retention runs after
  // every rotation, the size-triggered ones included, as in the original.
  #rotate(firstSequence: number): void {
    if (this.#dirty) this.#syncActive();
    const number = this.#active.segmentNumber + 1;
    let created: { fd: number; path: string };
    try {
      created = createSegment(this.#fs, this.#dir, number, firstSequence);
    } catch (error) {
      throw this.#poison(error as WalError);
    }
    closeQuietly(this.#fs, this.#active.fd);
    const { segmentNumber, path: sealedPath, firstSequence: sealedFirst } = this.#active;
    this.#sealed.push({ segmentNumber, path: sealedPath, firstSequence: sealedFirst });
    this.#active = {
      segmentNumber: number,
      path: created.path,
      firstSequence,
      fd: created.fd,
      size: SEGMENT_HEADER_SIZE,
    };
    this.#syncedSize = SEGMENT_HEADER_SIZE;
    this.#ackedSize = SEGMENT_HEADER_SIZE;
    this.#applyRetention();
  }

  #applyRetention(): number {
    const max = this.#options.maxSegments;
    if (max === undefined) return 0;
    return this.#removeSealed(Math.max(0, this.#sealed.length + 1 - max));
  }

  #lastSequenceOf(index: number): number {
    const next = this.#sealed[index + 1] ?? this.#active;
    return next.firstSequence - 1;
  }

  // Oldest first, each unlink made durable before the next: directory
  // operations may reach the disk in any order, and a lost older unlink
  // behind a kept newer one would leave a gap that blocks recovery.
  #removeSealed(count: number): number {
    for (let k = 0; k < count; k++) {
      const s = this.#sealed[0] as SealedSegment;
      io('remove segment', s.path, () => this.#fs.unlink(s.path));
      this.#sealed.shift();
      io('fsync directory', this.#dir, () => this.#fs.fsyncDir(this.#dir));
    }
    return count;
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

// Creates `dir` if missing. A new directory's entry, like a new file's, is
// durable only once its parent is fsynced: fsync the parent of each directory
// made, top down, or a power loss could take the log (and its synced
// records) away with the directory.
function prepareDirectory(fs: WalFs, dir: string): void {
  const stat = statIfExists(fs, dir);
  if (stat && !stat.isDirectory) {
    throw new WalError(ErrorCode.INVALID_ARGUMENT, `expected a directory at ${dir}, found a file`);
  }
  if (stat) return;
  const made = [dir];
  for (
    let d = path.dirname(dir);
    d !== path.dirname(d) && !statIfExists(fs, d);
    d = path.dirname(d)
  )
    made.push(d);
  io('create directory', dir, () => fs.mkdirp(dir));
  for (const d of made.reverse()) {
    const parent = path.dirname(d);
    io('fsync directory', parent, () => fs.fsyncDir(parent));
  }
}

function statIfExists(fs: WalFs, file: string): ReturnType<WalFs['stat']> | undefined {
  try {
    return fs.stat(file);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw ioError('stat', file, error);
    return undefined;
  }
}
