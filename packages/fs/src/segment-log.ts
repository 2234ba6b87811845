import {
  encodeMarkFrame,
  encodeSealFrame,
  SEAL_FRAME_SIZE,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  WalError,
} from '@wal/codec';
import type { ActiveSegment, OpenedLog, SealedSegment } from './open-log.js';
import { createSegment } from './segments/create.js';
import {
  closeQuietly,
  errnoOf,
  io,
  ioError,
  noProgress,
  readAt,
  writeFully,
} from './segments/io.js';
import type { WalFs } from './wal-fs.js';

interface SegmentLogOptions {
  maxSegments: number | undefined;
  /** The lowest segment a hold keeps from retention (Infinity when none). */
  heldFrom: () => number;
  maxSegmentBytes: number;
  preallocateBytes: number;
  /**
   * True under `sync: 'always'`: the active segment is opened `'r+dsync'`, so
   * a write returns durable and needs no fdatasync of its own.
   */
  durableWrites: boolean;
  /** Records a failure after which the writer must refuse everything; returns it. */
  poison: (error: WalError) => WalError;
  /** Called after every sync of the active segment that returned (an fdatasync, or durable writes'). */
  synced: () => void;
}

/**
 * Opens `segment.file` again as `'r+dsync'` and closes the handle it had;
 * resolves to the new handle (on failure the old one is closed too).
 */
export async function reopenDurable(
  fs: WalFs,
  segment: { fd: number; file: string },
): Promise<number> {
  try {
    return await io('open segment', segment.file, () => fs.open(segment.file, 'r+dsync'));
  } finally {
    await closeQuietly(fs, segment.fd);
  }
}

// The zeros preallocation writes, at most this many per write.
const ZEROS = new Uint8Array(1024 * 1024);

/**
 * The log on disk as the writer sees it: the sealed segments and the active
 * one, and how much of the active one is written and durable.
 * Every write, sync, seal, rotation and deletion of segments happens here.
 * Callers run one operation at a time (the writer serialises them).
 */
export class SegmentLog {
  readonly #fs: WalFs;
  readonly #dir: string;
  readonly #options: SegmentLogOptions;
  readonly #sealed: SealedSegment[];
  #active: ActiveSegment;
  /** True when something since the last sync may not be durable (a plain write, a cut). */
  #dirty = false;
  /** Bytes of the active segment known to be durable (as of the last successful sync). */
  #syncedSize: number;
  /** True after a retention unlink whose directory fsync has not succeeded yet. */
  #unlinkUnsynced = false;

  constructor(fs: WalFs, dir: string, opened: OpenedLog, options: SegmentLogOptions) {
    this.#fs = fs;
    this.#dir = dir;
    this.#options = options;
    this.#sealed = opened.sealed;
    this.#active = opened.active;
    this.#syncedSize = opened.active.size;
  }

  /** The segment appends go to. */
  get active(): Readonly<ActiveSegment> {
    return this.#active;
  }

  /** Bytes of the active segment durable as of the last successful sync: frames carry it as `synced`. */
  get syncedSize(): number {
    return this.#syncedSize;
  }

  /** True when bytes were written (or cut) since the last sync. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The sealed segments still in the log, oldest first. */
  get sealed(): readonly SealedSegment[] {
    return this.#sealed;
  }

  /** The sequence the oldest segment starts at. */
  get firstSequence(): number {
    return (this.#sealed[0] ?? this.#active.header).firstSequence;
  }

  // A failed write is cut back off, so the log never holds a half record
  // that a later record follows. If even the cut fails, the writer refuses
  // everything until reopened (open repairs the tail). The cut is synced at
  // once: writeback may have put the cut bytes on disk already, and the
  // next append reuses their sequences, so a crash before a later sync
  // could bring a rejected record back under them (and, in a sealed
  // segment, where open no longer scans).
  /**
   * Appends `bytes`, holding `records` batch records, to the active segment,
   * first preallocating when they would reach past its zeros.
   */
  async write(bytes: Uint8Array, records: number): Promise<void> {
    const end = this.#active.size + bytes.length;
    if (end > this.#active.capacity) await this.#preallocate(end);
    await this.#append(bytes, records);
  }

  async #append(bytes: Uint8Array, records: number): Promise<void> {
    const { fd, file, size } = this.#active;
    let done = 0;
    try {
      while (done < bytes.length) {
        const n = await this.#fs.write(fd, bytes.subarray(done), size + done);
        if (n <= 0) throw noProgress();
        done += n;
      }
    } catch (cause) {
      const error = ioError('write', file, cause);
      try {
        // A durable write that failed in its sync left its bytes in the page
        // cache, whatever it reported: they are cut too.
        if (done > 0 || this.#options.durableWrites) {
          this.#dirty = true;
          await this.#fs.ftruncate(fd, size);
          this.#active.capacity = size;
          await this.sync();
        }
      } catch {
        this.#options.poison(error);
      }
      // A durable write's failure may have been its sync's: the writer fails,
      // as after a failed fdatasync, whatever the code.
      if (this.#options.durableWrites) throw this.#options.poison(error);
      throw error;
    }
    this.#active.size += bytes.length;
    if (this.#active.size > this.#active.capacity) this.#active.capacity = this.#active.size;
    this.#active.records += records;
    this.#active.marked = false;
    if (!this.#options.durableWrites) this.#dirty = true;
  }

  // Zeros from past `end` (or the zeros already there), preallocateBytes of
  // them, within maxSegmentBytes. They go out with the group's frames and its
  // fdatasync: one size change to journal per preallocateBytes of frames,
  // not one per sync. Zeros after the last frame of the last segment are
  // free space wherever a crash or a failed write stops them. Even after a
  // failure, `capacity` says how far the file may reach, so that a seal
  // still cuts whatever zeros were written.
  async #preallocate(end: number): Promise<void> {
    const { fd, file, capacity } = this.#active;
    const from = Math.max(capacity, end);
    const to = Math.min(from + this.#options.preallocateBytes, this.#options.maxSegmentBytes);
    if (to <= from) return;
    if (!this.#options.durableWrites) this.#dirty = true;
    try {
      for (let p = from; p < to; p += ZEROS.length) {
        await writeFully(this.#fs, fd, ZEROS.subarray(0, Math.min(ZEROS.length, to - p)), p, file);
      }
    } catch (error) {
      // Zeros, but a failed sync all the same.
      if (this.#options.durableWrites) throw this.#options.poison(error as WalError);
      throw error;
    } finally {
      this.#active.capacity = to;
    }
  }

  // The PostgreSQL lesson: after a failed fdatasync the kernel may have
  // dropped the dirty pages and marked them clean, so a retry that succeeds
  // proves nothing. The first failure poisons the writer until it is
  // reopened, and what was written since the last good sync is salvaged.
  // With durable writes, what they wrote is durable already: an fdatasync
  // is made only after a cut (and every sync still advances the watermark).
  /** fdatasyncs the active segment (or, with durable writes, only what a cut left). */
  async sync(): Promise<void> {
    const needed = this.#dirty || !this.#options.durableWrites;
    this.#dirty = false;
    const { fd, file, size } = this.#active;
    try {
      if (needed) await this.#fs.fdatasync(fd);
    } catch (cause) {
      const error = ioError('fdatasync', file, cause);
      const salvage = await this.#salvageAfterFailedSync();
      throw this.#options.poison(
        salvage === undefined
          ? error
          : new WalError(
              error.code,
              `${error.message}; the salvage of acknowledged bytes failed too (${salvage.message}): they may be lost on power loss`,
              { cause: new AggregateError([cause, salvage]) },
            ),
      );
    }
    this.#syncedSize = size;
    this.#options.synced();
  }

  // What was written since the last good sync is written again in place:
  // its pages may have been marked clean without reaching the disk, and
  // rewriting makes them dirty, so the next open's fdatasync persists them
  // instead of a reopened writer appending after a future hole. All of it
  // was acknowledged: a sync runs between the writer's jobs, never during a
  // group's write, and 'none' and 'interval' resolve a group once written.
  // Under 'always' a group's durability is its own write's, whose failure
  // `#append` cuts. Resolves to the error that stopped the salvage, if any:
  // the caller reports it, loudly.
  async #salvageAfterFailedSync(): Promise<Error | undefined> {
    const { fd, file, size } = this.#active;
    const start = this.#syncedSize;
    if (size <= start) return undefined;
    try {
      const bytes = await readAt(this.#fs, fd, start, size - start, file);
      await writeFully(this.#fs, fd, bytes, start, file);
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  /**
   * Writes a mark after everything written so far and syncs it: every frame
   * before it is then provably durable, so damage there reads as bit rot,
   * never as a torn write. Used at close. No-op when the last frame is a mark.
   */
  async mark(nextSequence: number): Promise<void> {
    if (this.#active.marked) {
      if (this.#dirty) await this.sync();
      return;
    }
    if (this.#dirty) await this.sync();
    const frame = encodeMarkFrame(
      { salt: this.#active.header.salt, synced: this.#syncedSize },
      nextSequence,
    );
    await this.#append(frame, 0);
    this.#active.marked = true;
    await this.sync();
  }

  // Seal: the old segment ends with a seal and is synced before the next
  // exists, so a durable later segment always implies a complete earlier one.
  /**
   * Seals the active segment (its next sequence is `nextSequence`) and starts
   * the one `header` describes. A failure poisons the writer: open finishes a
   * rotation that sealed the segment. Retention (`maxSegments`) is the
   * caller's next step: its failure must not hide that the rotation happened.
   */
  async rotate(nextSequence: number, header: SegmentHeader): Promise<void> {
    const active = this.#active;
    try {
      // A sealed segment ends at its seal. The zeros go first, durably: a
      // file system may write the seal's page before a size change made
      // with it, and a seal followed by zeros is no seal at the file's end.
      if (active.capacity > active.size) {
        await io('truncate', active.file, () => this.#fs.ftruncate(active.fd, active.size));
        active.capacity = active.size;
        this.#dirty = true;
      }
      // The seal's synced watermark must be its own offset: if the next
      // segment is never created, this one stays the last, and open reads
      // damage below the watermark as rot, above it as a torn tail.
      if (this.#dirty) await this.sync();
      const seal = encodeSealFrame(
        { salt: active.header.salt, synced: this.#syncedSize },
        { nextSequence, records: active.records, bytes: active.size + SEAL_FRAME_SIZE },
      );
      await this.#append(seal, 0);
      await this.sync();
    } catch (error) {
      throw this.#options.poison(error as WalError);
    }
    let created: { fd: number; file: string };
    try {
      created = await createSegment(this.#fs, this.#dir, header);
      if (this.#options.durableWrites) created.fd = await reopenDurable(this.#fs, created);
    } catch (error) {
      throw this.#options.poison(error as WalError);
    }
    await closeQuietly(this.#fs, active.fd);
    this.#sealed.push({
      segment: active.segment,
      file: active.file,
      firstSequence: active.header.firstSequence,
      nextSequence,
      bytes: active.size,
    });
    this.#active = {
      segment: header.segment,
      file: created.file,
      header,
      fd: created.fd,
      size: SEGMENT_HEADER_SIZE,
      capacity: SEGMENT_HEADER_SIZE,
      records: 0,
      marked: false,
    };
    this.#syncedSize = SEGMENT_HEADER_SIZE;
  }

  /** Deletes sealed segments whose last sequence is <= `sequence`; resolves to how many. */
  truncateThrough(sequence: number): Promise<number> {
    let n = 0;
    while (
      n < this.#sealed.length &&
      (this.#sealed[n] as SealedSegment).nextSequence - 1 <= sequence
    )
      n++;
    return this.#removeSealed(n);
  }

  /** Deletes the oldest sealed segments beyond `maxSegments`; resolves to how many. */
  dropExcessSegments(): Promise<number> {
    const max = this.#options.maxSegments;
    if (max === undefined) return Promise.resolve(0);
    return this.#removeSealed(Math.max(0, this.#sealed.length + 1 - max));
  }

  /** Bytes of the sealed segments numbered `from` or above. */
  sealedBytes(from: number): number {
    let total = 0;
    for (const s of this.#sealed) if (s.segment >= from) total += s.bytes;
    return total;
  }

  /** Bytes of all segment files, the active one (its preallocated zeros) included. */
  async totalSize(): Promise<number> {
    const { fd, file } = this.#active;
    let total = await io('stat segment', file, () => this.#fs.fsize(fd));
    for (const s of this.#sealed) {
      total += (await io('stat segment', s.file, () => this.#fs.stat(s.file))).size;
    }
    return total;
  }

  /** Closes the active segment's handle (ignoring errors: close must release it). */
  close(): Promise<void> {
    return closeQuietly(this.#fs, this.#active.fd);
  }

  // Oldest first, each unlink made durable before the next: directory
  // operations may reach the disk in any order, and a lost older unlink
  // behind a kept newer one would leave a gap that blocks recovery. So an
  // unlink whose directory fsync failed is made durable first, by the next
  // call, before it deletes more or resolves. A segment already gone
  // (removed from outside) counts as removed. A held segment stops it: it
  // and everything after stay.
  async #removeSealed(count: number): Promise<number> {
    if (this.#unlinkUnsynced) await this.#syncDirectory();
    for (let k = 0; k < count; k++) {
      const s = this.#sealed[0] as SealedSegment;
      if (s.segment >= this.#options.heldFrom()) return k;
      try {
        await this.#fs.unlink(s.file);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw ioError('remove segment', s.file, error);
      }
      this.#sealed.shift();
      this.#unlinkUnsynced = true;
      await this.#syncDirectory();
    }
    return count;
  }

  async #syncDirectory(): Promise<void> {
    await io('fsync directory', this.#dir, () => this.#fs.fsyncDir(this.#dir));
    this.#unlinkUnsynced = false;
  }
}
