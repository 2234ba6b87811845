import { SEGMENT_HEADER_SIZE, type WalError } from '@wal/codec';
import { io, ioError } from './io-error.js';
import type { ActiveSegment, OpenedLog, SealedSegment } from './open-log.js';
import { closeQuietly, createSegment, readAt, writeFully } from './segment-io.js';
import type { WalFs } from './wal-fs.js';

interface SegmentLogOptions {
  maxSegmentBytes: number;
  maxSegments: number | undefined;
  /** Records a failure after which the writer must refuse everything; returns it. */
  poison: (error: WalError) => WalError;
}

/**
 * The log on disk as the writer sees it: the sealed segments and the active
 * one, and how much of the active one is written, acknowledged and durable.
 * Every write, sync, rotation and deletion of segments happens here.
 */
export class SegmentLog {
  readonly #fs: WalFs;
  readonly #dir: string;
  readonly #options: SegmentLogOptions;
  readonly #sealed: SealedSegment[];
  #active: ActiveSegment;
  #dirty = false;
  /** Bytes of the active segment known to be durable (as of the last successful sync). */
  #syncedSize: number;
  /** Bytes of the active segment whose records have been acknowledged. */
  #ackedSize: number;

  constructor(fs: WalFs, dir: string, opened: OpenedLog, options: SegmentLogOptions) {
    this.#fs = fs;
    this.#dir = dir;
    this.#options = options;
    this.#sealed = opened.sealed;
    this.#active = opened.active;
    this.#syncedSize = opened.active.size;
    this.#ackedSize = opened.active.size;
  }

  /** The segment appends go to. */
  get active(): Readonly<ActiveSegment> {
    return this.#active;
  }

  /** True when bytes were written (or cut) since the last sync. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /**
   * True when a frame of `size` bytes must start a new segment: it would
   * overflow the active one, which already holds a record. A frame larger than
   * `maxSegmentBytes` so gets a segment of its own.
   */
  needsRotation(size: number): boolean {
    const used = this.#active.size;
    return used > SEGMENT_HEADER_SIZE && used + size > this.#options.maxSegmentBytes;
  }

  /** Bytes that still fit in the active segment (negative once it is over). */
  get room(): number {
    return this.#options.maxSegmentBytes - this.#active.size;
  }

  // A failed write is cut back off, so the log never holds a half record
  // that a later record follows. If even the cut fails, the writer refuses
  // everything until reopened (open repairs the tail). The cut is unsynced
  // like a write, so the segment stays dirty: sealing it must sync the cut,
  // or a crash could bring the bytes back in a segment open no longer scans.
  /** Appends `bytes` to the active segment. */
  write(bytes: Uint8Array): void {
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
        this.#options.poison(error);
      }
      throw error;
    }
    this.#active.size += bytes.length;
    this.#dirty = true;
  }

  /** Marks everything written so far as acknowledged to callers. */
  acknowledge(): void {
    this.#ackedSize = this.#active.size;
  }

  // The PostgreSQL lesson: after a failed fdatasync the kernel may have
  // dropped the dirty pages and marked them clean, so a retry that succeeds
  // proves nothing. The first failure poisons the writer until it is
  // reopened, and what was written since the last good sync is salvaged.
  /** fdatasyncs the active segment. */
  sync(): void {
    this.#dirty = false;
    const { fd, path: file, size } = this.#active;
    try {
      this.#fs.fdatasync(fd);
    } catch (cause) {
      const error = this.#options.poison(ioError('fdatasync', file, cause));
      this.#salvageAfterFailedSync();
      throw error;
    }
    this.#syncedSize = size;
  }

  // Unacknowledged bytes (the batch whose sync failed) are cut. Acknowledged
  // ones not yet durable ('none' and 'interval') are written again in place:
  // their pages may have been marked clean without reaching the disk, and
  // rewriting makes them dirty, so the next open's fdatasync persists them
  // instead of a reopened writer appending after a future hole.
  #salvageAfterFailedSync(): void {
    const { fd, path: file, size } = this.#active;
    try {
      if (size > this.#ackedSize) this.#fs.ftruncate(fd, this.#ackedSize);
      const start = this.#syncedSize;
      const end = this.#ackedSize;
      if (end > start) {
        writeFully(this.#fs, fd, readAt(this.#fs, fd, start, end - start, file), start, file);
      }
    } catch {
      // Already poisoned; the next open's tail scan is what is left.
    }
  }

  // Seal: the old segment is synced before the next exists, so a durable
  // later segment always implies a complete earlier one. Retention runs after
  // every rotation, the size-triggered ones included, as in the original.
  /** Seals the active segment and starts the next, whose first record will be `firstSequence`. */
  rotate(firstSequence: number): void {
    if (this.#dirty) this.sync();
    const number = this.#active.segmentNumber + 1;
    let created: { fd: number; path: string };
    try {
      created = createSegment(this.#fs, this.#dir, number, firstSequence);
    } catch (error) {
      throw this.#options.poison(error as WalError);
    }
    closeQuietly(this.#fs, this.#active.fd);
    const { segmentNumber, path, firstSequence: sealedFirst } = this.#active;
    this.#sealed.push({ segmentNumber, path, firstSequence: sealedFirst });
    this.#active = {
      segmentNumber: number,
      path: created.path,
      firstSequence,
      fd: created.fd,
      size: SEGMENT_HEADER_SIZE,
    };
    this.#syncedSize = SEGMENT_HEADER_SIZE;
    this.#ackedSize = SEGMENT_HEADER_SIZE;
    this.applyRetention();
  }

  /** Deletes sealed segments whose last sequence is <= `sequence`; returns how many. */
  truncateBefore(sequence: number): number {
    let n = 0;
    while (n < this.#sealed.length && this.#lastSequenceOf(n) <= sequence) n++;
    return this.#removeSealed(n);
  }

  /** Deletes the oldest sealed segments beyond `maxSegments`; returns how many. */
  applyRetention(): number {
    const max = this.#options.maxSegments;
    if (max === undefined) return 0;
    return this.#removeSealed(Math.max(0, this.#sealed.length + 1 - max));
  }

  /** Bytes of all segment files, the active one included. */
  totalSize(): number {
    let total = this.#active.size;
    for (const s of this.#sealed) {
      total += io('stat segment', s.path, () => this.#fs.stat(s.path)).size;
    }
    return total;
  }

  /** Closes the active segment's handle (ignoring errors: close must release it). */
  close(): void {
    closeQuietly(this.#fs, this.#active.fd);
  }

  // A sealed segment's last sequence is the next one's first, minus one:
  // known from the headers, without reading a record.
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
}
